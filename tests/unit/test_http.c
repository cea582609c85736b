/* http.h: the response head, what it holds, and that a head too large for its buffer is
 * refused at every step of its making without a byte written past the buffer; the
 * request body, read into the arena only as far as announced and allowed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>
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

/* A body source handing out its bytes in chunks of at most `chunk`, then an end or an
 * error; it records the most it was ever asked for at once. */
typedef struct {
    const char *data;
    size_t len, at, chunk;
    bool fail_at_end;
    size_t calls, most_asked;
} source;

static int source_read(void *p, char *buf, size_t len)
{
    source *s = p;
    s->calls++;
    if (len > s->most_asked)
        s->most_asked = len;
    if (s->at == s->len)
        return s->fail_at_end ? -1 : 0;
    size_t n = s->len - s->at;
    if (n > len)
        n = len;
    if (n > s->chunk)
        n = s->chunk;
    memcpy(buf, s->data + s->at, n);
    s->at += n;
    return (int)n;
}

static mm_request request_with_body(mm_arena *a, source *s, size_t announced)
{
    mm_request req;
    memset(&req, 0, sizeof(req));
    req.arena = a;
    req.content_length = announced;
    req.read_body = source_read;
    req.body_source = s;
    return req;
}

static void body_is_read_as_announced_into_the_arena(void **state)
{
    static const char text[] = "{\"lobby\": {\"mode\": \"ranked\"}}trailing";
    const size_t announced = sizeof(text) - 1 - 8; /* "trailing" is past the length */
    mm_arena *a = mm_arena_new(0);
    source s = {.data = text, .len = sizeof(text) - 1, .chunk = 5};
    mm_request req = request_with_body(a, &s, announced);
    const char *body = NULL;
    size_t len = 0;
    assert_int_equal(mm_request_read_body(&req, 1024, &body, &len), MM_OK);
    assert_int_equal(len, announced);
    assert_memory_equal(body, text, len);
    assert_int_equal(body[len], '\0');
    assert_int_equal(s.at, announced); /* nothing past the announced length */
    assert_true(s.most_asked <= announced);
    assert_true(mm_arena_used(a) < announced + 64); /* what it holds, no more */
    mm_arena_free(a);
}

static void body_over_the_limit_is_not_read(void **state)
{
    mm_arena *a = mm_arena_new(0);
    source s = {.data = "0123456789", .len = 10, .chunk = 10};
    mm_request req = request_with_body(a, &s, 10);
    const char *body = NULL;
    size_t len = 0;
    assert_int_equal(mm_request_read_body(&req, 9, &body, &len), MM_ERR_TOO_LARGE);
    assert_int_equal(s.calls, 0);
    assert_null(body);
    assert_int_equal(mm_arena_used(a), 0);
    /* at the limit, it is */
    assert_int_equal(mm_request_read_body(&req, 10, &body, &len), MM_OK);
    assert_int_equal(len, 10);
    mm_arena_free(a);
}

static void body_short_or_failing_is_refused(void **state)
{
    mm_arena *a = mm_arena_new(0);
    const char *body = NULL;
    size_t len = 0;
    source shorter = {.data = "abc", .len = 3, .chunk = 2};
    mm_request req = request_with_body(a, &shorter, 4);
    assert_int_equal(mm_request_read_body(&req, 100, &body, &len), MM_ERR_INVALID);
    source failing = {.data = "abc", .len = 3, .chunk = 2, .fail_at_end = true};
    req = request_with_body(a, &failing, 4);
    assert_int_equal(mm_request_read_body(&req, 100, &body, &len), MM_ERR_IO);
    req.read_body = NULL;
    assert_int_equal(mm_request_read_body(&req, 100, &body, &len), MM_ERR_IO);
    assert_null(body);
    /* an empty body needs no source */
    req.content_length = 0;
    assert_int_equal(mm_request_read_body(&req, 100, &body, &len), MM_OK);
    assert_string_equal(body, "");
    assert_int_equal(len, 0);
    mm_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(head_holds_status_cors_length_headers_and_request_id),
        cmocka_unit_test(head_without_body_says_length_zero),
        cmocka_unit_test(head_too_large_is_refused_at_every_step),
        cmocka_unit_test(body_is_read_as_announced_into_the_arena),
        cmocka_unit_test(body_over_the_limit_is_not_read),
        cmocka_unit_test(body_short_or_failing_is_refused),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
