/* The response head (http.h): what it holds, and that a head too large for its buffer is
 * refused at every step of its making without a byte written past the buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "http.h"

#define CANARY 0xa5

static void head_holds_status_cors_length_headers_and_request_id(void **state)
{
    mm_response res;
    memset(&res, 0, sizeof(res));
    mm_response_json(&res, 405, "{}", 2);
    mm_response_add_header(&res, "Allow", "POST, OPTIONS");
    char buf[MM_RESPONSE_HEAD_MAX];
    size_t len = 0;
    assert_int_equal(mm_response_head(&res, "*", "abc123", buf, sizeof(buf), &len), MM_OK);
    static const char want[] = "Status: 405 Method Not Allowed\r\n"
                               "Access-Control-Allow-Origin: *\r\n"
                               "Content-Type: application/json\r\n"
                               "Content-Length: 2\r\n"
                               "Allow: POST, OPTIONS\r\n"
                               "X-Request-Id: abc123\r\n"
                               "\r\n";
    assert_int_equal(len, sizeof(want) - 1);
    assert_memory_equal(buf, want, len);
}

static void head_without_body_says_length_zero(void **state)
{
    mm_response res;
    memset(&res, 0, sizeof(res));
    res.status = 204;
    char buf[MM_RESPONSE_HEAD_MAX];
    size_t len = 0;
    assert_int_equal(mm_response_head(&res, "https://a.example", NULL, buf, sizeof(buf), &len),
                     MM_OK);
    static const char want[] = "Status: 204 No Content\r\n"
                               "Access-Control-Allow-Origin: https://a.example\r\n"
                               "Content-Length: 0\r\n"
                               "\r\n";
    assert_int_equal(len, sizeof(want) - 1);
    assert_memory_equal(buf, want, len);
}

/* Every buffer size from 0 to the head's length plus one: too small is refused, whichever
 * part of the head is the one that no longer fits, and nothing beyond cap is touched. */
static void head_too_large_is_refused_at_every_step(void **state)
{
    char origin[300], value[600], rid[65];
    memset(origin, 'o', sizeof(origin) - 1);
    origin[sizeof(origin) - 1] = '\0';
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    memset(rid, 'r', sizeof(rid) - 1);
    rid[sizeof(rid) - 1] = '\0';
    mm_response res;
    memset(&res, 0, sizeof(res));
    mm_response_json(&res, 200, "{\"a\": 1}", 8);
    for (int i = 0; i < MM_MAX_RESPONSE_HEADERS; i++)
        mm_response_add_header(&res, "X-Long", value);

    static char full[8192];
    size_t full_len = 0;
    assert_int_equal(mm_response_head(&res, origin, rid, full, sizeof(full), &full_len), MM_OK);
    assert_true(full_len > MM_RESPONSE_HEAD_MAX); /* too large for the real buffer */

    static char buf[8192 + 64];
    for (size_t cap = 0; cap <= full_len + 1; cap++) {
        memset(buf, CANARY, sizeof(buf));
        size_t len = 12345;
        mm_status st = mm_response_head(&res, origin, rid, buf, cap, &len);
        if (cap > full_len) {
            assert_int_equal(st, MM_OK);
            assert_int_equal(len, full_len);
            assert_memory_equal(buf, full, len);
        } else if (st != MM_ERR_TOO_LARGE) {
            fail_msg("a head of %zu bytes was accepted into %zu", full_len, cap);
        }
        for (size_t i = cap; i < sizeof(buf); i++)
            if ((unsigned char)buf[i] != CANARY)
                fail_msg("cap %zu: byte %zu written", cap, i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(head_holds_status_cors_length_headers_and_request_id),
        cmocka_unit_test(head_without_body_says_length_zero),
        cmocka_unit_test(head_too_large_is_refused_at_every_step),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
