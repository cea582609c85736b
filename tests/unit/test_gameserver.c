/* Game-server answer classifier: every status class against every kind of body, with and
 * without a required gameToken, plus the edges of the size and token limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "game_server_client.h"
#include "mm.h"

typedef struct {
    const char *name;
    const char *body;  /* NULL: built by make_body() */
    size_t len;        /* 0 with a body: strlen(body) */
    const char *token; /* the token it carries when valid for create, else NULL */
    bool oversize;     /* over MM_GS_MAX_ANSWER: no answer whatever the status */
} body_row;

enum { BIG_BODY = 1, DEEP_BODY, TOKEN_AT_MAX, TOKEN_OVER_MAX, EXACT_CAP, NUL_INSIDE };

static const body_row bodies[] = {
    {"valid token", "{\"gameToken\": \"abc123\"}", 0, "abc123", false},
    {"token and other fields", "{\"ok\":true,\"gameToken\":\"t\",\"n\":[1,2]}", 0, "t", false},
    {"trailing whitespace", "{\"gameToken\":\"t2\"}\r\n \t", 0, "t2", false},
    {"unicode token", "{\"gameToken\":\"\\u00e9\xe6\xbc\xa2\"}", 0, "\xc3\xa9\xe6\xbc\xa2", false},
    {"escaped quote in token", "{\"gameToken\":\"a\\\"b\"}", 0, "a\"b", false},
    {"empty token", "{\"gameToken\":\"\"}", 0, NULL, false},
    {"numeric token", "{\"gameToken\":12345}", 0, NULL, false},
    {"null token", "{\"gameToken\":null}", 0, NULL, false},
    {"object token", "{\"gameToken\":{\"v\":\"x\"}}", 0, NULL, false},
    {"token with NUL", "{\"gameToken\":\"a\\u0000b\"}", 0, NULL, false},
    {"missing token", "{\"token\":\"abc\"}", 0, NULL, false},
    {"case differs", "{\"GameToken\":\"abc\"}", 0, NULL, false},
    {"empty object", "{}", 0, NULL, false},
    {"array", "[\"gameToken\",\"abc\"]", 0, NULL, false},
    {"string", "\"abc\"", 0, NULL, false},
    {"number", "42", 0, NULL, false},
    {"null", "null", 0, NULL, false},
    {"empty body", "", 0, NULL, false},
    {"garbage", "<html>oops", 0, NULL, false},
    {"truncated", "{\"gameToken\":\"abc", 0, NULL, false},
    {"truncated after value", "{\"gameToken\":\"abc\"", 0, NULL, false},
    {"trailing garbage", "{\"gameToken\":\"abc\"}x", 0, NULL, false},
    {"two objects", "{\"gameToken\":\"a\"}{\"gameToken\":\"b\"}", 0, NULL, false},
    {"single quotes", "{'gameToken':'abc'}", 0, NULL, false},
    {"invalid utf-8 token", "{\"gameToken\":\"\xff\xfe\"}", 0, NULL, false},
    {"NUL after object", NULL, NUL_INSIDE, NULL, false},
    {"nested too deep", NULL, DEEP_BODY, NULL, false},
    {"token of 4096 bytes", NULL, TOKEN_AT_MAX, "", false},
    {"token of 4097 bytes", NULL, TOKEN_OVER_MAX, NULL, false},
    {"exactly 64 KiB", NULL, EXACT_CAP, "t", false},
    {"64 KiB + 1", NULL, BIG_BODY, NULL, true},
};

typedef struct {
    long status;
    mm_gs_result when_body_ok; /* the result when the body is acceptable */
} status_row;

static const status_row statuses[] = {
    {0, MM_GS_UNAVAILABLE},   {99, MM_GS_UNAVAILABLE}, {100, MM_GS_REFUSED},
    {199, MM_GS_REFUSED},     {200, MM_GS_OK},         {201, MM_GS_OK},
    {204, MM_GS_OK},          {299, MM_GS_OK},         {300, MM_GS_REFUSED},
    {302, MM_GS_REFUSED},     {400, MM_GS_REFUSED},    {404, MM_GS_REFUSED},
    {500, MM_GS_REFUSED},     {503, MM_GS_REFUSED},    {599, MM_GS_REFUSED},
    {600, MM_GS_UNAVAILABLE}, {-1, MM_GS_UNAVAILABLE},
};

/* A body of exactly len bytes: {"gameToken":"t","pad":"xxx..."} */
static char *padded_token_body(size_t len)
{
    static const char head[] = "{\"gameToken\":\"t\",\"pad\":\"";
    char *b = malloc(len);
    assert_non_null(b);
    memset(b, 'x', len);
    memcpy(b, head, sizeof(head) - 1);
    b[len - 2] = '"';
    b[len - 1] = '}';
    return b;
}

static char *token_body(size_t token_len, size_t *len)
{
    static const char head[] = "{\"gameToken\":\"";
    *len = sizeof(head) - 1 + token_len + 2;
    char *b = malloc(*len);
    assert_non_null(b);
    memcpy(b, head, sizeof(head) - 1);
    memset(b + sizeof(head) - 1, 'k', token_len);
    b[*len - 2] = '"';
    b[*len - 1] = '}';
    return b;
}

/* The bytes of a row's body (malloc'd when generated; *owned says so). */
static const char *make_body(const body_row *r, size_t *len, char **owned)
{
    *owned = NULL;
    *len = 0;
    if (r->body != NULL) {
        *len = strlen(r->body);
        return r->body;
    }
    switch (r->len) {
    case BIG_BODY:
        *owned = padded_token_body(MM_GS_MAX_ANSWER + 1);
        *len = MM_GS_MAX_ANSWER + 1;
        break;
    case EXACT_CAP:
        *owned = padded_token_body(MM_GS_MAX_ANSWER);
        *len = MM_GS_MAX_ANSWER;
        break;
    case TOKEN_AT_MAX: *owned = token_body(MM_GS_MAX_TOKEN, len); break;
    case TOKEN_OVER_MAX: *owned = token_body(MM_GS_MAX_TOKEN + 1, len); break;
    case NUL_INSIDE: {
        static const char s[] = "{\"gameToken\":\"abc\"}\0 ";
        *len = sizeof(s) - 1;
        *owned = malloc(*len);
        assert_non_null(*owned);
        memcpy(*owned, s, *len);
        break;
    }
    case DEEP_BODY: {
        /* {"gameToken":"t","a":[[[[...]]]]} nested 200 deep */
        enum { DEPTH = 200 };
        static const char head[] = "{\"gameToken\":\"t\",\"a\":";
        *len = sizeof(head) - 1 + (size_t)2 * DEPTH + 1;
        *owned = malloc(*len);
        assert_non_null(*owned);
        memcpy(*owned, head, sizeof(head) - 1);
        memset(*owned + sizeof(head) - 1, '[', DEPTH);
        memset(*owned + sizeof(head) - 1 + DEPTH, ']', DEPTH);
        (*owned)[*len - 1] = '}';
        break;
    }
    default: fail_msg("row %s: unknown generated body", r->name);
    }
    return *owned;
}

/* The token a valid row must yield (the generated 4096-byte one is all 'k'). */
static void check_token(const body_row *b, const char *got)
{
    assert_non_null(got);
    if (b->body == NULL && b->len == TOKEN_AT_MAX) {
        assert_int_equal(strlen(got), MM_GS_MAX_TOKEN);
        for (size_t i = 0; i < MM_GS_MAX_TOKEN; i++)
            assert_int_equal(got[i], 'k');
        return;
    }
    assert_string_equal(got, b->token);
}

static void every_status_with_every_body(void **state)
{
    mm_arena *a = mm_arena_new(0);
    assert_non_null(a);
    size_t checked = 0;
    for (size_t bi = 0; bi < MM_ARRAY_LEN(bodies); bi++) {
        const body_row *b = &bodies[bi];
        size_t len;
        char *owned;
        const char *body = make_body(b, &len, &owned);
        for (size_t si = 0; si < MM_ARRAY_LEN(statuses); si++) {
            for (int want_token = 0; want_token <= 1; want_token++) {
                const status_row *s = &statuses[si];
                mm_gs_result want = s->when_body_ok;
                if (b->oversize || (want == MM_GS_OK && want_token && b->token == NULL))
                    want = MM_GS_UNAVAILABLE;
                const char *token = "sentinel";
                mm_gs_result got = mm_gs_classify(a, s->status, body, len, want_token, &token);
                if (got != want)
                    fail_msg("body \"%s\", status %ld, want_token %d: got %s, want %s", b->name,
                             s->status, want_token, mm_gs_result_name(got),
                             mm_gs_result_name(want));
                if (got == MM_GS_OK && want_token)
                    check_token(b, token);
                else if (token != NULL)
                    fail_msg("body \"%s\", status %ld: token not NULL", b->name, s->status);
                checked++;
            }
        }
        free(owned);
        mm_arena_reset(a);
    }
    assert_int_equal(checked, MM_ARRAY_LEN(bodies) * MM_ARRAY_LEN(statuses) * 2);
    mm_arena_free(a);
}

static void token_lives_in_the_arena_and_null_out_is_allowed(void **state)
{
    mm_arena *a = mm_arena_new(0);
    static const char body[] = "{\"gameToken\":\"abc\"}";
    size_t before = mm_arena_used(a);
    const char *token = NULL;
    assert_int_equal(mm_gs_classify(a, 200, body, strlen(body), true, &token), MM_GS_OK);
    assert_string_equal(token, "abc");
    assert_true(token < body || token >= body + sizeof(body)); /* a copy, not a pointer in */
    assert_true(mm_arena_used(a) > before);
    assert_int_equal(mm_gs_classify(a, 200, body, strlen(body), true, NULL), MM_GS_OK);
    mm_arena_free(a);
}

static void token_that_does_not_fit_the_arena_is_no_answer(void **state)
{
    mm_arena *a = mm_arena_new(64);
    size_t len;
    char *body = token_body(1000, &len);
    const char *token = "sentinel";
    assert_int_equal(mm_gs_classify(a, 200, body, len, true, &token), MM_GS_UNAVAILABLE);
    assert_null(token);
    free(body);
    mm_arena_free(a);
}

static void null_body_is_empty_or_invalid(void **state)
{
    mm_arena *a = mm_arena_new(0);
    const char *token = "sentinel";
    assert_int_equal(mm_gs_classify(a, 204, NULL, 0, false, &token), MM_GS_OK);
    assert_null(token);
    assert_int_equal(mm_gs_classify(a, 200, NULL, 0, true, &token), MM_GS_UNAVAILABLE);
    assert_int_equal(mm_gs_classify(a, 200, NULL, 5, false, &token), MM_GS_UNAVAILABLE);
    assert_int_equal(mm_gs_classify(a, 500, NULL, 0, true, &token), MM_GS_REFUSED);
    mm_arena_free(a);
}

static void result_names(void **state)
{
    assert_string_equal(mm_gs_result_name(MM_GS_OK), "ok");
    assert_string_equal(mm_gs_result_name(MM_GS_REFUSED), "refused");
    assert_string_equal(mm_gs_result_name(MM_GS_UNAVAILABLE), "unavailable");
    assert_string_equal(mm_gs_result_name((mm_gs_result)42), "unknown");
}

static void client_refuses_non_positive_timeouts(void **state)
{
    assert_null(mm_gs_client_new(0, 1000, NULL));
    assert_null(mm_gs_client_new(1000, 0, NULL));
    assert_null(mm_gs_client_new(-1, -1, NULL));
    mm_gs_client *c = mm_gs_client_new(1000, 3000, NULL);
    assert_non_null(c);
    assert_int_equal(mm_gs_client_connects(c), 0);
    mm_gs_client_free(c);
    mm_gs_client_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_status_with_every_body),
        cmocka_unit_test(token_lives_in_the_arena_and_null_out_is_allowed),
        cmocka_unit_test(token_that_does_not_fit_the_arena_is_no_answer),
        cmocka_unit_test(null_body_is_empty_or_invalid),
        cmocka_unit_test(result_names),
        cmocka_unit_test(client_refuses_non_positive_timeouts),
    };
    return cmocka_run_group_tests_name("gameserver", tests, NULL, NULL);
}
