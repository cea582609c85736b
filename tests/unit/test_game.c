/* Unit tests for the game model (game.c) and its state machine
 * (game_state.c): the clock format, decode/encode of the stored document,
 * capacity and expiry. Table-driven where the cases are data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "game.h"
#include "game_state.h"

#define US INT64_C(1000000)
#define MAX_US INT64_C(253402300799999999) /* 31-Dec-9999 (23:59:59.999999) */
#define GAME_ID "0123456789abcdef0123456789abcdef"
#define WHEN_TEXT "23-Nov-2026 (18:04:05.123456)"
#define WHEN_US INT64_C(1795457045123456)

static int setup_arena(void **state)
{
    *state = mm_arena_new(0);
    return *state == NULL ? -1 : 0;
}

static int teardown_arena(void **state)
{
    mm_arena_free(*state);
    return 0;
}

/* ---- state machine ----------------------------------------------------- */

static void test_state_names_round_trip(void **state)
{
    static const char *const names[MM_STATE_COUNT] = {"created", "creator_joined",
                                                      "all_players_joined", "in_progress", "ended"};
    for (int s = 0; s < MM_STATE_COUNT; s++) {
        const char *name = mm_game_state_name((mm_game_state)s);
        assert_non_null(name);
        assert_string_equal(name, names[s]);
        mm_game_state back = MM_STATE_COUNT;
        assert_true(mm_game_state_parse(name, strlen(name), &back));
        assert_int_equal(back, s);
    }
    assert_null(mm_game_state_name(MM_STATE_COUNT));
    assert_null(mm_game_state_name((mm_game_state)-1));
}

static void test_state_parse_rejects(void **state)
{
    static const struct {
        const char *text;
        size_t len;
    } bad[] = {
        {"", 0},         {"Created", 7},   {"CREATED", 7},      {"created ", 8},
        {" created", 8}, {"create", 6},    {"created", 6}, /* a prefix by length */
        {"createdx", 8}, {"created\0", 8}, {"in-progress", 11}, {"all_players", 11},
        {"unknown", 7},
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(bad); i++) {
        mm_game_state s = MM_STATE_ENDED;
        if (mm_game_state_parse(bad[i].text, bad[i].len, &s))
            fail_msg("parsed \"%.*s\"", (int)bad[i].len, bad[i].text);
        assert_int_equal(s, MM_STATE_ENDED); /* untouched */
    }
}

/* ---- clock format ------------------------------------------------------ */

static const struct {
    int64_t us;
    const char *text;
} known_times[] = {
    {0, "01-Jan-1970 (00:00:00.000000)"},
    {1, "01-Jan-1970 (00:00:00.000001)"},
    {68255999500000, "29-Feb-1972 (23:59:59.500000)"},
    {951782400000000, "29-Feb-2000 (00:00:00.000000)"},
    {1704067199999999, "31-Dec-2023 (23:59:59.999999)"},
    {1704067200000000, "01-Jan-2024 (00:00:00.000000)"},
    {1709210096789012, "29-Feb-2024 (12:34:56.789012)"},
    {1709251200000000, "01-Mar-2024 (00:00:00.000000)"},
    {WHEN_US, WHEN_TEXT},
    {2147483648000000, "19-Jan-2038 (03:14:08.000000)"},
    {4107542400000000, "01-Mar-2100 (00:00:00.000000)"},
    {MAX_US, "31-Dec-9999 (23:59:59.999999)"},
};

static void test_format_time_known(void **state)
{
    for (size_t i = 0; i < MM_ARRAY_LEN(known_times); i++) {
        char out[MM_GAME_TIME_LEN];
        memset(out, 'X', sizeof(out));
        mm_game_format_time(known_times[i].us, out);
        assert_string_equal(out, known_times[i].text);
    }
}

static void test_format_time_clamps(void **state)
{
    char out[MM_GAME_TIME_LEN];
    mm_game_format_time(-1, out);
    assert_string_equal(out, "01-Jan-1970 (00:00:00.000000)");
    mm_game_format_time(INT64_MIN, out);
    assert_string_equal(out, "01-Jan-1970 (00:00:00.000000)");
    mm_game_format_time(MAX_US + 1, out);
    assert_string_equal(out, "31-Dec-9999 (23:59:59.999999)");
    mm_game_format_time(INT64_MAX, out);
    assert_string_equal(out, "31-Dec-9999 (23:59:59.999999)");
}

static void test_parse_time_known(void **state)
{
    for (size_t i = 0; i < MM_ARRAY_LEN(known_times); i++) {
        int64_t us = -1;
        assert_true(mm_game_parse_time(known_times[i].text, strlen(known_times[i].text), &us));
        assert_int_equal(us, known_times[i].us);
    }
}

static void test_parse_time_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "01-Jan-1970",
        "01-Jan-1970 (00:00:00.000000",   /* no ) */
        "01-Jan-1970 (00:00:00.000000))", /* extra ) */
        "01-Jan-1970 (00:00:00.000000) ", /* trailing space */
        " 01-Jan-1970 (00:00:00.000000)", /* leading space */
        "1-Jan-1970 (00:00:00.000000)",   /* day not padded */
        "01-Jan-1970 (0:00:00.0000000)",  /* hour not padded, same length */
        "01-Jan-1970 (00:00:00.00000)",   /* 5 fraction digits */
        "01-Jan-1970 (00:00:00.0000000)", /* 7 fraction digits */
        "01-Jan-1970 (00:00:00)",         /* no fraction */
        "01-jan-1970 (00:00:00.000000)",  /* month case */
        "01-JAN-1970 (00:00:00.000000)",
        "01-Foo-1970 (00:00:00.000000)",
        "01-01-1970 (00:00:00.000000)",
        "01/Jan/1970 (00:00:00.000000)",
        "01-Jan-1970 [00:00:00.000000]",
        "01-Jan-1970T(00:00:00.000000)",
        "01-Jan-1970 (00-00-00.000000)",
        "01-Jan-1970 (00:00:00,000000)",
        "00-Jan-1970 (00:00:00.000000)", /* day 0 */
        "32-Jan-1970 (00:00:00.000000)", /* day 32 */
        "31-Apr-2024 (00:00:00.000000)", /* April has 30 */
        "30-Feb-2024 (00:00:00.000000)",
        "29-Feb-2023 (00:00:00.000000)", /* not a leap year */
        "29-Feb-2100 (00:00:00.000000)", /* century, not leap */
        "01-Jan-1970 (24:00:00.000000)", /* hour 24 */
        "01-Jan-1970 (00:60:00.000000)", /* minute 60 */
        "01-Jan-1970 (00:00:60.000000)", /* second 60 */
        "01-Jan-1970 (99:99:99.000000)",
        "31-Dec-1969 (23:59:59.999999)", /* before the epoch */
        "01-Jan-0000 (00:00:00.000000)",
        "01-Jan-197a (00:00:00.000000)",
        "0a-Jan-1970 (00:00:00.000000)",
        "01-Jan-1970 (00:00:00.00000a)",
        "01-Jan-1970 (-1:00:00.000000)",
        "+1-Jan-1970 (00:00:00.000000)",
        "01-Jan--970 (00:00:00.000000)",
        "01-Jan-1970 ( 0:00:00.000000)",
        "1970-01-01T00:00:00.000000Z",
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(bad); i++) {
        int64_t us = 42;
        if (mm_game_parse_time(bad[i], strlen(bad[i]), &us))
            fail_msg("parsed \"%s\"", bad[i]);
        assert_int_equal(us, 42);
    }
    /* The length is the caller's: a NUL inside or a short length fails. */
    int64_t us = 42;
    assert_false(mm_game_parse_time("01-Jan-1970 (00:00:00.00000\0)", 29, &us));
    assert_false(mm_game_parse_time("01-Jan-1970 (00:00:00.000000)", 28, &us));
    assert_false(mm_game_parse_time(NULL, 29, &us));
    assert_int_equal(us, 42);
}

/* gmtime_r and strftime in the "C" locale (no setlocale is called) as an
 * independent oracle for the calendar arithmetic. */
static void oracle_format(int64_t us, char *out, size_t outlen)
{
    time_t secs = (time_t)(us / US);
    struct tm tm;
    assert_non_null(gmtime_r(&secs, &tm));
    char head[40];
    assert_true(strftime(head, sizeof(head), "%d-%b-%Y (%H:%M:%S", &tm) > 0);
    snprintf(out, outlen, "%s.%06d)", head, (int)(us % US));
}

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rng_next(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static void check_time_round_trip(int64_t us)
{
    char got[MM_GAME_TIME_LEN], want[80];
    mm_game_format_time(us, got);
    oracle_format(us, want, sizeof(want));
    if (strcmp(got, want) != 0)
        fail_msg("us=%lld: got \"%s\", want \"%s\"", (long long)us, got, want);
    int64_t back = -1;
    if (!mm_game_parse_time(got, strlen(got), &back) || back != us)
        fail_msg("us=%lld: \"%s\" parsed back as %lld", (long long)us, got, (long long)back);
}

static void test_time_round_trip_random(void **state)
{
    for (int i = 0; i < 200000; i++)
        check_time_round_trip((int64_t)(rng_next() % (uint64_t)(MAX_US + 1)));
}

/* Every calendar day from 1970 to 9999, at a time of day that varies. */
static void test_time_round_trip_every_day(void **state)
{
    int64_t days = (MAX_US + 1) / (86400 * US);
    for (int64_t d = 0; d < days; d++) {
        int64_t tod = (int64_t)(rng_next() % (uint64_t)(86400 * US));
        check_time_round_trip(d * 86400 * US + tod);
    }
    check_time_round_trip(MAX_US);
}

/* ---- documents --------------------------------------------------------- */

typedef struct {
    const char *key;
    const char *raw; /* JSON text of the value */
} field;

static const field base_fields[] = {
    {"game_id", "\"" GAME_ID "\""},
    {"product_id", "\"exrps\""},
    {"game_server_url", "\"http://127.0.0.1:8080\""},
    {"creator_id", "\"u1\""},
    {"creator_name", "\"alice\""},
    {"players", "[\"u1\"]"},
    {"settings", "{\"num_players\": 2}"},
    {"token", "\"tok\""},
    {"_last_updated", "\"" WHEN_TEXT "\""},
    {"state", "\"created\""},
};

/* The base document with key's value replaced by raw (omitted when raw is
 * NULL; appended when key is not a base field). key NULL: the base itself. */
static const char *doc_with2(const char *key, const char *raw, const char *key2, const char *raw2)
{
    static char buf[4096];
    size_t n = 0;
    bool seen = false, seen2 = false;
    buf[n++] = '{';
    for (size_t i = 0; i < MM_ARRAY_LEN(base_fields); i++) {
        const char *v = base_fields[i].raw;
        if (key != NULL && strcmp(key, base_fields[i].key) == 0) {
            seen = true;
            v = raw;
        } else if (key2 != NULL && strcmp(key2, base_fields[i].key) == 0) {
            seen2 = true;
            v = raw2;
        }
        if (v == NULL)
            continue;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"%s\": %s", n > 1 ? ", " : "",
                              base_fields[i].key, v);
    }
    if (key != NULL && !seen && raw != NULL)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ", \"%s\": %s", key, raw);
    if (key2 != NULL && !seen2 && raw2 != NULL)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ", \"%s\": %s", key2, raw2);
    assert_true(n + 2 < sizeof(buf));
    buf[n++] = '}';
    buf[n] = '\0';
    return buf;
}

static const char *doc_with(const char *key, const char *raw)
{
    return doc_with2(key, raw, NULL, NULL);
}

static mm_status decode_str(mm_arena *a, const char *json, mm_game *g)
{
    return mm_game_decode(a, json, strlen(json), g);
}

static void assert_game_equal(const mm_game *x, const mm_game *y)
{
    assert_string_equal(x->game_id, y->game_id);
    assert_string_equal(x->product_id, y->product_id);
    assert_string_equal(x->game_server_url, y->game_server_url);
    assert_string_equal(x->creator_id, y->creator_id);
    assert_string_equal(x->creator_name, y->creator_name);
    assert_int_equal(x->nplayers, y->nplayers);
    for (size_t i = 0; i < x->nplayers; i++)
        assert_string_equal(x->players[i], y->players[i]);
    assert_int_equal(x->num_players, y->num_players);
    assert_string_equal(x->token, y->token);
    assert_int_equal(x->last_updated_us, y->last_updated_us);
    assert_int_equal(x->state, y->state);
}

static void test_decode_base(void **state)
{
    mm_arena *a = *state;
    mm_game g;
    assert_int_equal(decode_str(a, doc_with(NULL, NULL), &g), MM_OK);
    assert_string_equal(g.game_id, GAME_ID);
    assert_string_equal(g.product_id, "exrps");
    assert_string_equal(g.game_server_url, "http://127.0.0.1:8080");
    assert_string_equal(g.creator_id, "u1");
    assert_string_equal(g.creator_name, "alice");
    assert_int_equal(g.nplayers, 1);
    assert_string_equal(g.players[0], "u1");
    assert_string_equal(g.settings_json, "{\"num_players\":2}");
    assert_int_equal(g.num_players, 2);
    assert_string_equal(g.token, "tok");
    assert_int_equal(g.last_updated_us, WHEN_US);
    assert_int_equal(g.state, MM_STATE_CREATED);
}

/* What a Lua script with cjson writes: "\/" escapes, its own key order, an
 * integral number as 3.0, fields this version does not know. The creator is
 * not first in the list either. */
static void test_decode_cjson_style(void **state)
{
    static const char doc[] =
        "{\"state\":\"creator_joined\",\"token\":\"a\\/b\",\"players\":[\"u2\",\"u1\"],"
        "\"_last_updated\":\"29-Feb-2024 (12:34:56.789012)\",\"future_field\":{\"x\":[1,2]},"
        "\"settings\":{\"mode\":\"ranked\",\"num_players\":3.0},\"creator_name\":\"bob\","
        "\"game_server_url\":\"http:\\/\\/gs.example:8080\\/api\",\"creator_id\":\"u1\","
        "\"product_id\":\"exrps\",\"game_id\":\"" GAME_ID "\",\"another\":null}";
    mm_arena *a = *state;
    mm_game g;
    assert_int_equal(decode_str(a, doc, &g), MM_OK);
    assert_string_equal(g.game_server_url, "http://gs.example:8080/api");
    assert_string_equal(g.token, "a/b");
    assert_int_equal(g.state, MM_STATE_CREATOR_JOINED);
    assert_int_equal(g.nplayers, 2);
    assert_string_equal(g.players[0], "u2");
    assert_string_equal(g.players[1], "u1");
    assert_string_equal(g.creator_id, "u1");
    assert_int_equal(g.num_players, 3);
    assert_int_equal(g.last_updated_us, 1709210096789012);
    assert_string_equal(g.settings_json, "{\"mode\":\"ranked\",\"num_players\":3.0}");
    assert_false(mm_game_is_full(&g));
}

static void test_decode_num_players(void **state)
{
    static const struct {
        const char *settings;
        mm_status want;
        int num_players;
    } cases[] = {
        {"{}", MM_OK, 2},
        {"{\"other\": 1}", MM_OK, 2},
        {"{\"num_players\": 2}", MM_OK, 2},
        {"{\"num_players\": 3}", MM_OK, 3},
        {"{\"num_players\": 64}", MM_OK, 64},
        {"{\"num_players\": 4.0}", MM_OK, 4},
        {"{\"num_players\": 64.0}", MM_OK, 64},
        {"{\"num_players\": 2e0}", MM_OK, 2},
        {"{\"num_players\": 1}", MM_ERR_INVALID, 0},
        {"{\"num_players\": 0}", MM_ERR_INVALID, 0},
        {"{\"num_players\": -2}", MM_ERR_INVALID, 0},
        {"{\"num_players\": 65}", MM_ERR_INVALID, 0},
        {"{\"num_players\": 65.0}", MM_ERR_INVALID, 0},
        {"{\"num_players\": 1.0}", MM_ERR_INVALID, 0},
        {"{\"num_players\": 2.5}", MM_ERR_INVALID, 0},
        {"{\"num_players\": 1e300}", MM_ERR_INVALID, 0},
        {"{\"num_players\": NaN}", MM_ERR_INVALID, 0},
        {"{\"num_players\": 4294967298}", MM_ERR_INVALID, 0},
        {"{\"num_players\": 18446744073709551618}", MM_ERR_INVALID, 0},
        {"{\"num_players\": \"2\"}", MM_ERR_INVALID, 0},
        {"{\"num_players\": true}", MM_ERR_INVALID, 0},
        {"{\"num_players\": null}", MM_ERR_INVALID, 0},
        {"{\"num_players\": [2]}", MM_ERR_INVALID, 0},
        {"{\"num_players\": {}}", MM_ERR_INVALID, 0},
    };
    mm_arena *a = *state;
    for (size_t i = 0; i < MM_ARRAY_LEN(cases); i++) {
        mm_game g;
        mm_status st = decode_str(a, doc_with("settings", cases[i].settings), &g);
        if (st != cases[i].want)
            fail_msg("settings %s: status %d, want %d", cases[i].settings, st, cases[i].want);
        if (st == MM_OK)
            assert_int_equal(g.num_players, cases[i].num_players);
    }
}

static const char *const required_keys[] = {
    "game_id", "product_id", "game_server_url", "creator_id",    "creator_name",
    "players", "settings",   "token",           "_last_updated", "state",
};

static void test_decode_rejects_missing_field(void **state)
{
    mm_arena *a = *state;
    for (size_t i = 0; i < MM_ARRAY_LEN(required_keys); i++) {
        mm_game g;
        if (decode_str(a, doc_with(required_keys[i], NULL), &g) != MM_ERR_INVALID)
            fail_msg("accepted a document without %s", required_keys[i]);
    }
}

static void test_decode_rejects_mistyped_field(void **state)
{
    static const char *const wrong[] = {"1", "1.5", "true", "null", "[]", "{}", "[\"u1\"]"};
    mm_arena *a = *state;
    for (size_t i = 0; i < MM_ARRAY_LEN(required_keys); i++) {
        for (size_t j = 0; j < MM_ARRAY_LEN(wrong); j++) {
            const char *key = required_keys[i];
            /* These two are the right types for players and settings. */
            if ((strcmp(key, "players") == 0 && wrong[j][0] == '[') ||
                (strcmp(key, "settings") == 0 && strcmp(wrong[j], "{}") == 0))
                continue;
            mm_game g;
            if (decode_str(a, doc_with(key, wrong[j]), &g) != MM_ERR_INVALID)
                fail_msg("accepted %s: %s", key, wrong[j]);
        }
    }
}

static void test_decode_rejects_bad_values(void **state)
{
    static const struct {
        const char *key, *raw, *key2, *raw2;
    } cases[] = {
        {"game_id", "\"\"", NULL, NULL},
        {"game_id", "\"not an id\"", NULL, NULL},
        {"game_id", "\"a/b\"", NULL, NULL},
        {"game_id", "\"a\\u0000b\"", NULL, NULL},
        {"product_id", "\"ex rps\"", NULL, NULL},
        {"creator_name", "\"ali\\u0000ce\"", NULL, NULL},
        {"state", "\"Created\"", NULL, NULL},
        {"state", "\"unknown\"", NULL, NULL},
        {"state", "\"\"", NULL, NULL},
        {"state", "\"created \"", NULL, NULL},
        {"_last_updated", "\"\"", NULL, NULL},
        {"_last_updated", "\"23-Nov-2026 18:04:05.123456\"", NULL, NULL},
        {"_last_updated", "\"2026-11-23T18:04:05.123456Z\"", NULL, NULL},
        {"_last_updated", "\"32-Nov-2026 (18:04:05.123456)\"", NULL, NULL},
        {"_last_updated", "\"23-Nov-2026 (24:04:05.123456)\"", NULL, NULL},
        {"_last_updated", "\"23-Nov-2026 (18:04:05.123456) \"", NULL, NULL},
        {"players", "[]", NULL, NULL},
        {"players", "[1]", NULL, NULL},
        {"players", "[\"u1\", null]", NULL, NULL},
        {"players", "[\"u1\", 2]", NULL, NULL},
        {"players", "[[\"u1\"]]", NULL, NULL},
        {"players", "[\"u2\"]", NULL, NULL},                 /* creator not in the list */
        {"players", "[\"u1\", \"u2\", \"u3\"]", NULL, NULL}, /* more than 2 */
        {"players", "[\"u1\", \"u1\"]", NULL, NULL},         /* duplicate */
        {"players", "[\"u1\", \"x\\u0000\"]", NULL, NULL},
        {"players", "[\"u1\", \"u2\", \"u2\"]", "settings", "{\"num_players\": 4}"},
        {"players", "[\"u2\", \"u3\", \"u4\", \"u1\"]", "settings", "{\"num_players\": 3}"},
        {"players", "[\"u2\", \"u3\"]", "settings", "{\"num_players\": 3}"},
        {"creator_id", "\"u9\"", NULL, NULL},
        {"settings", "{\"num_players\": 1}", NULL, NULL},
        {"settings", "[2]", NULL, NULL},
    };
    mm_arena *a = *state;
    for (size_t i = 0; i < MM_ARRAY_LEN(cases); i++) {
        mm_game g;
        const char *doc = doc_with2(cases[i].key, cases[i].raw, cases[i].key2, cases[i].raw2);
        if (decode_str(a, doc, &g) != MM_ERR_INVALID)
            fail_msg("accepted %s", doc);
    }
}

static void test_decode_rejects_bad_json(void **state)
{
    mm_arena *a = *state;
    char base[4096], doc[4200];
    snprintf(base, sizeof(base), "%s", doc_with(NULL, NULL));
    size_t blen = strlen(base);
    static const char *const literal[] = {
        "",     " ", "null", "true",          "42",   "\"x\"",       "[]",
        "[{}]", "{", "{}",   "{\"game_id\":", "\xff", "{\"a\": 1,}",
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(literal); i++) {
        mm_game g;
        if (decode_str(a, literal[i], &g) != MM_ERR_INVALID)
            fail_msg("accepted %s", literal[i]);
    }
    /* Trailing garbage, a second document, a truncated one, raw invalid
     * UTF-8, a trailing comma. */
    static const char *const suffix[] = {" x", "{}", "}", ",", "\x01", "[]", " null"};
    for (size_t i = 0; i < MM_ARRAY_LEN(suffix); i++) {
        snprintf(doc, sizeof(doc), "%s%s", base, suffix[i]);
        mm_game g;
        if (decode_str(a, doc, &g) != MM_ERR_INVALID)
            fail_msg("accepted base + \"%s\"", suffix[i]);
    }
    mm_game g;
    assert_int_equal(mm_game_decode(a, base, blen - 1, &g), MM_ERR_INVALID);
    /* A NUL byte then garbage: json-c stops at the NUL, the decoder must not. */
    memcpy(doc, base, blen + 1);
    memcpy(doc + blen + 1, "xyz", 4);
    assert_int_equal(mm_game_decode(a, doc, blen + 4, &g), MM_ERR_INVALID);
    assert_int_equal(mm_game_decode(a, doc, blen + 1, &g), MM_ERR_INVALID);
    assert_int_equal(mm_game_decode(a, NULL, 0, &g), MM_ERR_INVALID);
    assert_int_equal(decode_str(a, doc_with("creator_name", "\"al\xff\""), &g), MM_ERR_INVALID);
    assert_int_equal(decode_str(a, doc_with("creator_name", "\"al\xc0\xaf\""), &g), MM_ERR_INVALID);
    /* Trailing whitespace is not garbage. */
    snprintf(doc, sizeof(doc), "%s \n", base);
    assert_int_equal(decode_str(a, doc, &g), MM_OK);
}

static void test_decode_depth_limit(void **state)
{
    mm_arena *a = *state;
    char deep[256];
    mm_game g;
    /* The document is level 1, settings level 2, then n more objects. */
    for (int n = 1; n <= 30; n++) {
        size_t k = 0;
        k += (size_t)snprintf(deep + k, sizeof(deep) - k, "{\"num_players\": 2, \"x\": ");
        for (int i = 0; i < n; i++)
            k += (size_t)snprintf(deep + k, sizeof(deep) - k, "{\"y\": ");
        k += (size_t)snprintf(deep + k, sizeof(deep) - k, "1");
        for (int i = 0; i < n; i++)
            deep[k++] = '}';
        deep[k++] = '}';
        deep[k] = '\0';
        mm_status st = decode_str(a, doc_with("settings", deep), &g);
        if (n <= 13)
            assert_int_equal(st, MM_OK);
        else if (n >= 15)
            assert_int_equal(st, MM_ERR_INVALID);
    }
}

static void test_decode_size_limit(void **state)
{
    mm_arena *a = *state;
    const char *base = doc_with(NULL, NULL);
    size_t blen = strlen(base);
    char *doc = test_malloc(MM_GAME_MAX_DOC + 2);
    /* Exactly the limit (padded with whitespace) is still read... */
    memcpy(doc, base, blen);
    memset(doc + blen, ' ', MM_GAME_MAX_DOC - blen);
    doc[MM_GAME_MAX_DOC] = '\0';
    mm_game g;
    assert_int_equal(mm_game_decode(a, doc, MM_GAME_MAX_DOC, &g), MM_OK);
    /* ...one byte more is not, whatever it holds. */
    doc[MM_GAME_MAX_DOC] = ' ';
    doc[MM_GAME_MAX_DOC + 1] = '\0';
    assert_int_equal(mm_game_decode(a, doc, MM_GAME_MAX_DOC + 1, &g), MM_ERR_TOO_LARGE);
    assert_int_equal(mm_game_decode(a, "x", SIZE_MAX, &g), MM_ERR_TOO_LARGE);
    test_free(doc);
}

/* The arena cap is reached half way: an error, and (under ASan) no leak of
 * the json-c tree. */
static void test_decode_arena_exhausted(void **state)
{
    const char *doc = doc_with("players", "[\"u1\", \"u2\"]");
    for (size_t cap = 16; cap < 224; cap += 16) { /* 224 is enough */
        mm_arena *small = mm_arena_new(cap);
        assert_non_null(small);
        mm_game g;
        assert_int_equal(decode_str(small, doc, &g), MM_ERR_NOMEM);
        mm_arena_free(small);
    }
}

/* ---- encoding ---------------------------------------------------------- */

static const char *two_players[] = {"u1", "u2"};

static mm_game sample_game(void)
{
    mm_game g = {
        .game_id = GAME_ID,
        .product_id = "exrps",
        .game_server_url = "http://127.0.0.1:8080",
        .creator_id = "u1",
        .creator_name = "alice",
        .players = two_players,
        .nplayers = 2,
        .settings_json = "{\"num_players\":2}",
        .num_players = 2,
        .token = "tok",
        .last_updated_us = WHEN_US,
        .state = MM_STATE_ALL_PLAYERS_JOINED,
    };
    return g;
}

#define COMMON_TEXT                                                                                \
    "{\"game_id\": \"" GAME_ID "\", \"product_id\": \"exrps\", "                                   \
    "\"game_server_url\": \"http://127.0.0.1:8080\", \"creator_id\": \"u1\", "                     \
    "\"creator_name\": \"alice\", \"players\": [\"u1\", \"u2\"], "                                 \
    "\"settings\": {\"num_players\":2}"

static void test_encode_exact(void **state)
{
    mm_arena *a = *state;
    mm_game g = sample_game();
    size_t len = 0;
    char *s = mm_game_encode(a, &g, MM_GAME_FULL, NULL, &len);
    const char *full = COMMON_TEXT ", \"token\": \"tok\", \"_last_updated\": \"" WHEN_TEXT
                                   "\", \"state\": \"all_players_joined\"}";
    assert_non_null(s);
    assert_string_equal(s, full);
    assert_int_equal(len, strlen(full));

    s = mm_game_encode(a, &g, MM_GAME_FULL, "127.0.0.1:8085", &len);
    assert_string_equal(s, COMMON_TEXT ", \"token\": \"tok\", \"_last_updated\": \"" WHEN_TEXT
                                       "\", \"state\": \"all_players_joined\", "
                                       "\"target_game_server\": \"127.0.0.1:8085\"}");
    assert_int_equal(len, strlen(s));

    s = mm_game_encode(a, &g, MM_GAME_PARTIAL, NULL, &len);
    assert_string_equal(s, COMMON_TEXT "}");
    assert_int_equal(len, strlen(s));

    s = mm_game_encode(a, &g, MM_GAME_PARTIAL, "gs:1", NULL);
    assert_string_equal(s, COMMON_TEXT ", \"target_game_server\": \"gs:1\"}");

    /* Without settings text, num_players is written. */
    g.settings_json = NULL;
    g.num_players = 17;
    g.nplayers = 1;
    s = mm_game_encode(a, &g, MM_GAME_PARTIAL, NULL, &len);
    assert_non_null(s);
    assert_non_null(strstr(s, "\"players\": [\"u1\"], \"settings\": {\"num_players\": 17}}"));
}

static void test_encode_rejects_incomplete(void **state)
{
    mm_arena *a = *state;
    size_t len = 99;
    mm_game g = sample_game();
    g.token = NULL;
    assert_null(mm_game_encode(a, &g, MM_GAME_FULL, NULL, &len));
    assert_non_null(mm_game_encode(a, &g, MM_GAME_PARTIAL, NULL, &len)); /* not needed */
    g = sample_game();
    g.state = MM_STATE_COUNT;
    assert_null(mm_game_encode(a, &g, MM_GAME_FULL, NULL, &len));
    g = sample_game();
    g.creator_name = NULL;
    assert_null(mm_game_encode(a, &g, MM_GAME_PARTIAL, NULL, &len));
    g = sample_game();
    g.players = NULL;
    assert_null(mm_game_encode(a, &g, MM_GAME_PARTIAL, NULL, &len));
    g = sample_game();
    assert_null(mm_game_encode(a, &g, (mm_game_form)7, NULL, &len));
    assert_null(mm_game_encode(a, NULL, MM_GAME_FULL, NULL, &len));

    /* Output the decoder would refuse is not produced. */
    char *big = test_malloc(MM_GAME_MAX_DOC + 1);
    memset(big, 'a', MM_GAME_MAX_DOC);
    big[MM_GAME_MAX_DOC] = '\0';
    g = sample_game();
    g.creator_name = big;
    assert_null(mm_game_encode(a, &g, MM_GAME_FULL, NULL, &len));
    big[MM_GAME_MAX_DOC / 7] = '\0'; /* escapes to 6/7 of the limit: fits */
    memset(big, '\x01', MM_GAME_MAX_DOC / 7);
    assert_non_null(mm_game_encode(a, &g, MM_GAME_FULL, NULL, &len));
    assert_true(len <= MM_GAME_MAX_DOC);
    test_free(big);

    mm_arena *tiny = mm_arena_new(64);
    assert_non_null(tiny);
    g = sample_game();
    assert_null(mm_game_encode(tiny, &g, MM_GAME_FULL, NULL, &len));
    mm_arena_free(tiny);
}

static void test_encode_escaping(void **state)
{
    static const struct {
        const char *name;
        const char *json; /* as written */
    } cases[] = {
        {"plain", "\"plain\""},
        {"say \"hi\"", "\"say \\\"hi\\\"\""},
        {"back\\slash", "\"back\\\\slash\""},
        {"a/b", "\"a/b\""},
        {"line\nfeed\ttab\rcr", "\"line\\u000afeed\\u0009tab\\u000dcr\""},
        {"\x01\x1f\b\f", "\"\\u0001\\u001f\\u0008\\u000c\""},
        {"del\x7f", "\"del\x7f\""},
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},                       /* é */
        {"\xe2\x82\xac", "\"\xe2\x82\xac\""},                     /* € */
        {"\xf0\x9f\x98\x80!", "\"\xf0\x9f\x98\x80!\""},           /* U+1F600 */
        {"\xef\xbf\xbf", "\"\xef\xbf\xbf\""},                     /* U+FFFF */
        {"\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""},             /* U+10FFFF */
        {"bad\xff", "\"bad\\ufffd\""},                            /* not UTF-8 */
        {"\xc0\xaf", "\"\\ufffd\\ufffd\""},                       /* overlong */
        {"\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""},            /* overlong */
        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},            /* surrogate */
        {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* > U+10FFFF */
        {"cut\xe2\x82", "\"cut\\ufffd\\ufffd\""},                 /* truncated */
        {"\x80x", "\"\\ufffdx\""},                                /* lone continuation */
        {"", "\"\""},
    };
    mm_arena *a = *state;
    for (size_t i = 0; i < MM_ARRAY_LEN(cases); i++) {
        mm_game g = sample_game();
        g.creator_name = cases[i].name;
        size_t len;
        char *s = mm_game_encode(a, &g, MM_GAME_FULL, NULL, &len);
        assert_non_null(s);
        assert_int_equal(strlen(s), len);
        char want[128];
        snprintf(want, sizeof(want), "\"creator_name\": %s, \"players\"", cases[i].json);
        if (strstr(s, want) == NULL)
            fail_msg("case %zu: %s does not contain %s", i, s, want);
        /* The output is a document the decoder reads back. */
        mm_game back;
        assert_int_equal(mm_game_decode(a, s, len, &back), MM_OK);
        if (strstr(cases[i].json, "ufffd") == NULL)
            assert_string_equal(back.creator_name, cases[i].name);
        else
            assert_non_null(strstr(back.creator_name, "\xef\xbf\xbd"));
    }
}

static const char *many_players[] = {"u1", "u2", "u3", "p\"4", "p\\5", "\xc3\xa9t\xc3\xa9"};

static void test_round_trip_full(void **state)
{
    mm_arena *a = *state;
    mm_game games[9];
    games[0] = sample_game();
    games[1] = sample_game();
    games[1].players = many_players + 2; /* creator u3, not yet first-joined order */
    games[1].creator_id = "u3";
    games[1].nplayers = 4;
    games[1].num_players = 6;
    games[1].settings_json = "{\"num_players\":6,\"map\":\"a/b\",\"nested\":{\"k\":[1,2.5]}}";
    games[2] = sample_game();
    games[2].settings_json = NULL;
    games[2].num_players = 64;
    games[2].creator_name = "\"quoted\" \\ name\n\xf0\x9f\x98\x80";
    games[2].token = "eyJ\"/\\\x01";
    games[2].last_updated_us = 0;
    games[3] = sample_game();
    games[3].players = many_players;
    games[3].nplayers = 6;
    games[3].num_players = 6;
    games[3].settings_json = "{\"num_players\":6.0}";
    games[3].last_updated_us = MAX_US;
    for (int s = 0; s < MM_STATE_COUNT; s++) {
        games[4 + s] = sample_game();
        games[4 + s].state = (mm_game_state)s;
        games[4 + s].nplayers = 1;
        games[4 + s].last_updated_us = 1709210096789012 + s;
    }
    for (size_t i = 0; i < MM_ARRAY_LEN(games); i++) {
        size_t len;
        char *s = mm_game_encode(a, &games[i], MM_GAME_FULL, NULL, &len);
        assert_non_null(s);
        mm_game back;
        if (mm_game_decode(a, s, len, &back) != MM_OK)
            fail_msg("game %zu: does not decode: %s", i, s);
        assert_game_equal(&back, &games[i]);
        if (games[i].settings_json != NULL)
            assert_string_equal(back.settings_json, games[i].settings_json);
        else
            assert_string_equal(back.settings_json, "{\"num_players\":64}");
        /* and again: the re-encoded text is identical */
        size_t len2;
        char *s2 = mm_game_encode(a, &back, MM_GAME_FULL, NULL, &len2);
        if (games[i].settings_json != NULL) {
            assert_int_equal(len2, len);
            assert_string_equal(s2, s);
        }
    }
}

static void test_round_trip_partial(void **state)
{
    mm_arena *a = *state;
    mm_game g = sample_game();
    size_t len;
    char *s = mm_game_encode(a, &g, MM_GAME_PARTIAL, NULL, &len);
    assert_non_null(s);
    /* Not a stored document: decoding it fails for want of the three. */
    mm_game back;
    assert_int_equal(mm_game_decode(a, s, len, &back), MM_ERR_INVALID);

    json_object *o = json_tokener_parse(s);
    assert_non_null(o);
    assert_int_equal(json_object_object_length(o), 7);
    static const char *const absent[] = {"token", "_last_updated", "state", "target_game_server"};
    for (size_t i = 0; i < MM_ARRAY_LEN(absent); i++)
        assert_false(json_object_object_get_ex(o, absent[i], NULL));
    json_object *v;
    assert_true(json_object_object_get_ex(o, "creator_name", &v));
    assert_string_equal(json_object_get_string(v), "alice");
    assert_true(json_object_object_get_ex(o, "players", &v));
    assert_int_equal(json_object_array_length(v), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 1)), "u2");
    json_object_put(o);

    /* Adding the three fields back gives the original game. */
    char full[2048];
    snprintf(full, sizeof(full),
             "%.*s, \"token\": \"tok\", \"_last_updated\": \"%s\", "
             "\"state\": \"all_players_joined\"}",
             (int)(len - 1), s, WHEN_TEXT);
    assert_int_equal(decode_str(a, full, &back), MM_OK);
    assert_game_equal(&back, &g);
}

/* ---- capacity and expiry ----------------------------------------------- */

/* Adding the target to a stored document gives the very bytes of encoding the game with
 * it, whatever the strings hold; whitespace around the object goes; anything that is not
 * an object is refused. */
static void test_add_target(void **state)
{
    mm_arena *a = *state;
    static const char *const targets[] = {"127.0.0.1:8085", "wss://games.example/a\"b\\c",
                                          "\xc3\xa9\x01", ""};
    mm_game games[3] = {sample_game(), sample_game(), sample_game()};
    games[1].creator_name = "q\"uote back\\slash /slash";
    games[1].players = many_players + 2;
    games[1].creator_id = "u3";
    games[1].nplayers = 4;
    games[1].num_players = 6;
    games[2].state = MM_STATE_CREATOR_JOINED;
    games[2].nplayers = 1;
    for (size_t i = 0; i < MM_ARRAY_LEN(games); i++) {
        size_t doc_len, want_len, got_len;
        char *doc = mm_game_encode(a, &games[i], MM_GAME_FULL, NULL, &doc_len);
        assert_non_null(doc);
        for (size_t t = 0; t < MM_ARRAY_LEN(targets); t++) {
            char *want = mm_game_encode(a, &games[i], MM_GAME_FULL, targets[t], &want_len);
            char *got = mm_game_add_target(a, doc, doc_len, targets[t], &got_len);
            assert_non_null(want);
            assert_non_null(got);
            assert_string_equal(got, want);
            assert_int_equal(got_len, want_len);
        }
    }
    size_t n;
    static const char spaced[] = " \n{\"a\": 1} \r\n";
    char *got = mm_game_add_target(a, spaced, strlen(spaced), "t", &n);
    assert_non_null(got);
    assert_string_equal(got, "{\"a\": 1, \"target_game_server\": \"t\"}");
    assert_int_equal(n, strlen("{\"a\": 1, \"target_game_server\": \"t\"}"));
    got = mm_game_add_target(a, "{ }", 3, "t", NULL);
    assert_non_null(got);
    assert_string_equal(got, "{\"target_game_server\": \"t\"}");
    static const char *const refused[] = {"", "{", "}", "[1]", "{\"a\": 1", "\"x\"", "  "};
    for (size_t i = 0; i < MM_ARRAY_LEN(refused); i++)
        assert_null(mm_game_add_target(a, refused[i], strlen(refused[i]), "t", NULL));
    assert_null(mm_game_add_target(a, NULL, 0, "t", NULL));
    assert_null(mm_game_add_target(a, "{}", 2, NULL, NULL));
}

static void test_capacity(void **state)
{
    static const char *p[] = {"u1", "u2", "u3"};
    static const struct {
        size_t nplayers;
        int num_players;
        bool full;
    } cases[] = {
        {1, 2, false}, {2, 2, true}, {1, 3, false}, {2, 3, false}, {3, 3, true}, {3, 2, true},
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(cases); i++) {
        mm_game g = sample_game();
        g.players = p;
        g.nplayers = cases[i].nplayers;
        g.num_players = cases[i].num_players;
        assert_int_equal(mm_game_is_full(&g), cases[i].full);
    }
}

static void test_expiry_boundary(void **state)
{
    static const long expiry[MM_STATE_COUNT] = {60, 61, 600, 1200, 300};
    for (int s = 0; s < MM_STATE_COUNT; s++) {
        mm_game g = sample_game();
        g.state = (mm_game_state)s;
        int64_t deadline = g.last_updated_us + expiry[s] * US;
        assert_false(mm_game_expired(&g, expiry, g.last_updated_us));
        assert_false(mm_game_expired(&g, expiry, deadline - 1));
        assert_false(mm_game_expired(&g, expiry, deadline)); /* equal is not expired */
        assert_true(mm_game_expired(&g, expiry, deadline + 1));
        assert_true(mm_game_expired(&g, expiry, INT64_MAX));
    }
    /* Each state uses its own expiry. */
    mm_game g = sample_game();
    g.state = MM_STATE_CREATOR_JOINED;
    assert_true(mm_game_expired(&g, expiry, g.last_updated_us + 61 * US + 1));
    g.state = MM_STATE_CREATED;
    assert_true(mm_game_expired(&g, expiry, g.last_updated_us + 60 * US + 1));
    g.state = MM_STATE_IN_PROGRESS;
    assert_false(mm_game_expired(&g, expiry, g.last_updated_us + 61 * US + 1));

    /* An absurd expiry does not wrap around into "expired". */
    static const long forever[MM_STATE_COUNT] = {LONG_MAX, LONG_MAX, LONG_MAX, LONG_MAX, LONG_MAX};
    g.last_updated_us = MAX_US;
    assert_false(mm_game_expired(&g, forever, INT64_MAX));
    /* Here the product fits in 64 bits and the sum does not. */
    static const long huge[MM_STATE_COUNT] = {INT64_MAX / US, INT64_MAX / US, INT64_MAX / US,
                                              INT64_MAX / US, INT64_MAX / US};
    assert_false(mm_game_expired(&g, huge, INT64_MAX));
    g.last_updated_us = 0; /* no overflow: the boundary holds up there too */
    assert_false(mm_game_expired(&g, huge, INT64_MAX / US * US));
    assert_true(mm_game_expired(&g, huge, INT64_MAX / US * US + 1));
    g.last_updated_us = MAX_US;
    static const long zero[MM_STATE_COUNT] = {0, 0, 0, 0, 0};
    assert_false(mm_game_expired(&g, zero, MAX_US));
    assert_true(mm_game_expired(&g, zero, MAX_US + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_names_round_trip),
        cmocka_unit_test(test_state_parse_rejects),
        cmocka_unit_test(test_format_time_known),
        cmocka_unit_test(test_format_time_clamps),
        cmocka_unit_test(test_parse_time_known),
        cmocka_unit_test(test_parse_time_rejects),
        cmocka_unit_test(test_time_round_trip_random),
        cmocka_unit_test(test_time_round_trip_every_day),
        cmocka_unit_test_setup_teardown(test_decode_base, setup_arena, teardown_arena),
        cmocka_unit_test_setup_teardown(test_decode_cjson_style, setup_arena, teardown_arena),
        cmocka_unit_test_setup_teardown(test_decode_num_players, setup_arena, teardown_arena),
        cmocka_unit_test_setup_teardown(test_decode_rejects_missing_field, setup_arena,
                                        teardown_arena),
        cmocka_unit_test_setup_teardown(test_decode_rejects_mistyped_field, setup_arena,
                                        teardown_arena),
        cmocka_unit_test_setup_teardown(test_decode_rejects_bad_values, setup_arena,
                                        teardown_arena),
        cmocka_unit_test_setup_teardown(test_decode_rejects_bad_json, setup_arena, teardown_arena),
        cmocka_unit_test_setup_teardown(test_decode_depth_limit, setup_arena, teardown_arena),
        cmocka_unit_test_setup_teardown(test_decode_size_limit, setup_arena, teardown_arena),
        cmocka_unit_test(test_decode_arena_exhausted),
        cmocka_unit_test_setup_teardown(test_encode_exact, setup_arena, teardown_arena),
        cmocka_unit_test_setup_teardown(test_encode_rejects_incomplete, setup_arena,
                                        teardown_arena),
        cmocka_unit_test_setup_teardown(test_encode_escaping, setup_arena, teardown_arena),
        cmocka_unit_test_setup_teardown(test_round_trip_full, setup_arena, teardown_arena),
        cmocka_unit_test_setup_teardown(test_round_trip_partial, setup_arena, teardown_arena),
        cmocka_unit_test_setup_teardown(test_add_target, setup_arena, teardown_arena),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_expiry_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
