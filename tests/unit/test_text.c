/* text.h: well-formed UTF-8, control characters and JSON string escaping, table-driven,
 * and every string of up to two bytes escaped into JSON that json-c reads back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

#include "text.h"

#define S(lit) lit, sizeof(lit) - 1

static const struct {
    const char *s;
    size_t len;
    bool valid;
} utf8_cases[] = {
    {S(""), true},
    {S("plain ASCII"), true},
    {S("\xc3\xa9"), true},                  /* U+00E9 */
    {S("\xe2\x82\xac"), true},              /* U+20AC */
    {S("\xf0\x9f\x98\x80"), true},          /* U+1F600 */
    {S("\xed\x9f\xbf"), true},              /* U+D7FF, just below the surrogates */
    {S("\xf4\x8f\xbf\xbf"), true},          /* U+10FFFF, the last one */
    {S("a\0b"), true},                      /* NUL is not this check's business */
    {S("\x80"), false},                     /* a continuation byte alone */
    {S("\xc0\xaf"), false},                 /* overlong '/' */
    {S("\xc1\xbf"), false},                 /* overlong */
    {S("\xe0\x80\xaf"), false},             /* overlong */
    {S("\xf0\x80\x80\xaf"), false},         /* overlong */
    {S("\xed\xa0\x80"), false},             /* a surrogate */
    {S("\xf4\x90\x80\x80"), false},         /* above U+10FFFF */
    {S("\xf5\x80\x80\x80"), false},         /* never a lead byte */
    {S("\xff"), false},                     /* never in UTF-8 */
    {S("\xe2\x82"), false},                 /* cut short */
    {S("\xe2\x28\xa1"), false},             /* a bad continuation */
    {S("ok \xf0\x9f\x98\x80 \xc3"), false}, /* cut short at the end */
};

static void utf8_table(void **state)
{
    for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++)
        if (mm_utf8_valid(utf8_cases[i].s, utf8_cases[i].len) != utf8_cases[i].valid)
            fail_msg("case %zu: wanted %d", i, utf8_cases[i].valid);
    /* the length given is the end: a sequence running past it is cut short */
    assert_false(mm_utf8_valid("\xe2\x82\xac", 2));
    assert_true(mm_utf8_valid("ab\xe2\x82\xac", 2));
}

static void control_characters(void **state)
{
    assert_false(mm_text_has_control(S("")));
    assert_false(mm_text_has_control(S("https://a.example ~")));
    assert_false(mm_text_has_control(S("\xc3\xa9\x80\xff")));
    assert_true(mm_text_has_control(S("a\tb")));
    assert_true(mm_text_has_control(S("a\r\nX-Evil: 1")));
    assert_true(mm_text_has_control(S("\x7f")));
    assert_true(mm_text_has_control(S("a\0b")));
    assert_false(mm_text_has_control("a\x01", 1)); /* not past the length */
}

static const struct {
    const char *s;
    size_t len;
    const char *want;
} escape_cases[] = {
    {S(""), ""},
    {S("plain text / 123"), "plain text / 123"},
    {S("a\"b\\c"), "a\\\"b\\\\c"},
    {S("\x01\n\x1f"), "\\u0001\\u000a\\u001f"},
    {S("a\0b"), "a\\u0000b"},
    {S("\x7f"), "\x7f"},
    {S("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
    {S("\xff"), "\\ufffd"},
    {S("a\xc0\xaf"
       "b"),
     "a\\ufffd\\ufffdb"},
    {S("\xe2\x82"), "\\ufffd\\ufffd"},
    {S("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd"},
    {S("x\xf0\x9f\x98"), "x\\ufffd\\ufffd\\ufffd"},
};

static void escape_table(void **state)
{
    for (size_t i = 0; i < sizeof(escape_cases) / sizeof(escape_cases[0]); i++) {
        const char *s = escape_cases[i].s, *want = escape_cases[i].want;
        size_t len = escape_cases[i].len, wlen = strlen(want);
        char buf[128];
        assert_int_equal(mm_json_escape(NULL, 0, s, len), wlen);
        /* exactly the room it needs: written */
        memset(buf, '#', sizeof(buf));
        assert_int_equal(mm_json_escape(buf, wlen, s, len), wlen);
        assert_memory_equal(buf, want, wlen);
        assert_int_equal(buf[wlen], '#');
        /* one byte less: nothing written */
        if (wlen > 0) {
            memset(buf, '#', sizeof(buf));
            assert_int_equal(mm_json_escape(buf, wlen - 1, s, len), wlen);
            for (size_t k = 0; k < sizeof(buf); k++)
                if (buf[k] != '#')
                    fail_msg("case %zu: byte %zu written without room", i, k);
        }
    }
}

static void decimal_numbers(void **state)
{
    (void)state;
    long v = -1;
    assert_int_equal(mm_text_uint("0", 1, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(mm_text_uint("65535", 5, 65535, &v), 0);
    assert_int_equal(v, 65535);
    assert_int_equal(mm_text_uint("999999999", 9, 1000000000, &v), 0);
    assert_int_equal(v, 999999999);
    v = 7;
    assert_int_equal(mm_text_uint("65536", 5, 65535, &v), -1); /* over max */
    assert_int_equal(mm_text_uint("1234567890", 10, 2000000000, &v), -1); /* 10 digits */
    assert_int_equal(mm_text_uint("", 0, 10, &v), -1);
    assert_int_equal(mm_text_uint("-1", 2, 10, &v), -1);
    assert_int_equal(mm_text_uint("+1", 2, 10, &v), -1);
    assert_int_equal(mm_text_uint(" 1", 2, 10, &v), -1);
    assert_int_equal(mm_text_uint("1x", 2, 10, &v), -1);
    assert_int_equal(mm_text_uint("12", 1, 10, &v), 0); /* only len bytes are read */
    assert_int_equal(v, 1);
}

static void every_short_string_escapes_to_valid_json(void **state)
{
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    for (unsigned v = 0; v < 256 + 65536; v++) {
        char s[2];
        size_t len = v < 256 ? 1 : 2;
        s[0] = (char)(v < 256 ? v : (v - 256) >> 8);
        s[1] = (char)(v - 256);
        char doc[2 + 12 + 1];
        size_t n = mm_json_escape(doc + 1, sizeof(doc) - 3, s, len);
        assert_true(n <= 12);
        doc[0] = '"';
        doc[n + 1] = '"';
        doc[n + 2] = '\0';
        json_tokener_reset(tok);
        json_object *j = json_tokener_parse_ex(tok, doc, (int)n + 2);
        if (j == NULL || !json_object_is_type(j, json_type_string))
            fail_msg("bytes %02x %02x: not a JSON string: %s", (unsigned char)s[0],
                     (unsigned char)s[1], doc);
        if (mm_utf8_valid(s, len)) {
            assert_int_equal(json_object_get_string_len(j), len);
            assert_memory_equal(json_object_get_string(j), s, len);
        }
        json_object_put(j);
    }
    json_tokener_free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_table),
        cmocka_unit_test(control_characters),
        cmocka_unit_test(escape_table),
        cmocka_unit_test(every_short_string_escapes_to_valid_json),
        cmocka_unit_test(decimal_numbers),
    };
    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
