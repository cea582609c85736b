/* Unit tests for the live lobby's publisher (lobby_publisher.c): the message of each lobby
 * change, table-driven, and a publisher whose nginx is not there, which must fail fast and
 * count instead of failing its caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "clock.h"
#include "lobby_publisher.h"

#define GAME_ID "0123456789abcdef0123456789abcdef"
#define DOC_HEAD                                                                                   \
    "{\"game_id\": \"" GAME_ID "\", \"product_id\": \"exrps\", \"game_server_url\": "              \
    "\"http://127.0.0.1:8080\", \"creator_id\": \"u1\", \"creator_name\": \"al\\\"ice\", "         \
    "\"players\": [\"u1\"], \"settings\": {\"num_players\": 2, \"lobby\": {\"mode\": "             \
    "\"ranked\"}}, "                                                                               \
    "\"token\": \"secret-token\", \"_last_updated\": \"23-Nov-2026 (18:04:05.123456)\", "          \
    "\"state\": \"creator_joined\""
#define DOC DOC_HEAD "}"
#define PRIVATE_DOC DOC_HEAD ", \"private\": true, \"join_code\": \"ABC234\"}"
/* as open_games answers it (the same encoder) */
#define PARTIAL                                                                                    \
    "{\"game_id\": \"" GAME_ID "\", \"product_id\": \"exrps\", \"game_server_url\": "              \
    "\"http://127.0.0.1:8080\", \"creator_id\": \"u1\", \"creator_name\": \"al\\\"ice\", "         \
    "\"players\": [\"u1\"], \"settings\": {\"num_players\":2,\"lobby\":{\"mode\":\"ranked\"}}}"

typedef struct {
    const char *name;
    const char *doc;    /* NULL: none */
    const char *expect; /* NULL: nothing to publish */
    mm_lobby_effect effect;
    mm_status status;
} message_case;

static const message_case cases[] = {
    {"listed", DOC,
     "{\"type\": \"listed\", \"product_id\": \"exrps\", \"game_id\": \"" GAME_ID "\", "
     "\"game\": " PARTIAL "}",
     MM_LOBBY_LISTED, MM_OK},
    {"updated", DOC,
     "{\"type\": \"updated\", \"product_id\": \"exrps\", \"game_id\": \"" GAME_ID "\", "
     "\"game\": " PARTIAL "}",
     MM_LOBBY_UPDATED, MM_OK},
    {"unlisted, with the document before", DOC,
     "{\"type\": \"unlisted\", \"product_id\": \"exrps\", \"game_id\": \"" GAME_ID "\"}",
     MM_LOBBY_UNLISTED, MM_OK},
    {"unlisted, document unknown", NULL,
     "{\"type\": \"unlisted\", \"product_id\": \"exrps\", \"game_id\": \"" GAME_ID "\"}",
     MM_LOBBY_UNLISTED, MM_OK},
    {"a private game is never published", PRIVATE_DOC, NULL, MM_LOBBY_LISTED, MM_OK},
    {"listed without a document", NULL, NULL, MM_LOBBY_LISTED, MM_ERR_INVALID},
    {"updated with a document that does not decode", "{\"game_id\": 5}", NULL, MM_LOBBY_UPDATED,
     MM_ERR_INVALID},
    {"not JSON", "{\"game_id\"", NULL, MM_LOBBY_LISTED, MM_ERR_INVALID},
};

static void each_change_makes_its_message(void **state)
{
    (void)state;
    mm_arena *a = mm_arena_new(0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const message_case *c = &cases[i];
        const char *msg = "unset";
        size_t len = 99;
        mm_status st = mm_lobby_message(a, "exrps", GAME_ID, c->effect, c->doc,
                                        c->doc ? strlen(c->doc) : 0, &msg, &len);
        if (st != c->status)
            fail_msg("%s: status %d, expected %d", c->name, st, c->status);
        if (c->expect == NULL) {
            if (msg != NULL)
                fail_msg("%s: published %s", c->name, msg);
            continue;
        }
        const char *got = msg ? msg : "(null)";
        if (strcmp(got, c->expect) != 0)
            fail_msg("%s:\n got  %s\n want %s", c->name, got, c->expect);
        assert_int_equal(len, strlen(c->expect));
        /* every message is one JSON object, and never carries the game's token */
        json_object *j = json_tokener_parse(got);
        assert_true(json_object_is_type(j, json_type_object));
        json_object_put(j);
        assert_null(strstr(got, "secret-token"));
        assert_null(strstr(got, "_last_updated"));
        assert_null(strstr(got, "\"state\""));
    }
    mm_arena_free(a);
}

static void ids_are_escaped_as_json(void **state)
{
    (void)state;
    mm_arena *a = mm_arena_new(0);
    const char *msg;
    size_t len;
    assert_int_equal(mm_lobby_message(a, "ex\"rps", "g\\1", MM_LOBBY_UNLISTED, NULL, 0, &msg, &len),
                     MM_OK);
    assert_string_equal(msg, "{\"type\": \"unlisted\", \"product_id\": \"ex\\\"rps\", \"game_id\": "
                             "\"g\\\\1\"}");
    mm_arena_free(a);
}

static void effect_names(void **state)
{
    (void)state;
    assert_string_equal(mm_lobby_effect_name(MM_LOBBY_LISTED), "listed");
    assert_string_equal(mm_lobby_effect_name(MM_LOBBY_UPDATED), "updated");
    assert_string_equal(mm_lobby_effect_name(MM_LOBBY_UNLISTED), "unlisted");
    assert_string_equal(mm_lobby_effect_name((mm_lobby_effect)7), "unknown");
}

/* nginx not there: each publish fails at connect, at once, and is counted; the observer
 * returns normally (the store step it follows has succeeded). */
static void a_missing_publisher_fails_fast_and_counts(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof(path), "unix:/tmp/mm-no-publisher-%ld.sock", (long)getpid());
    mm_lobby_publisher *p = mm_lobby_publisher_new(path, 200);
    assert_non_null(p);
    int64_t t0 = mm_clock_us();
    for (int i = 0; i < 3; i++)
        mm_lobby_publisher_observe(p, "exrps", GAME_ID, MM_LOBBY_LISTED, DOC, strlen(DOC));
    mm_lobby_publisher_observe(p, "exrps", GAME_ID, MM_LOBBY_UNLISTED, NULL, 0);
    /* a private game is not a failure: there is nothing to publish */
    mm_lobby_publisher_observe(p, "exrps", GAME_ID, MM_LOBBY_LISTED, PRIVATE_DOC,
                               strlen(PRIVATE_DOC));
    /* neither reaches nginx; a bad document fails before trying */
    mm_lobby_publisher_observe(p, "exrps", GAME_ID, MM_LOBBY_UPDATED, NULL, 0);
    assert_true(mm_clock_us() - t0 < 200000);
    mm_publish_counts n;
    mm_lobby_publisher_counts(p, &n);
    assert_int_equal(n.published, 0);
    assert_int_equal(n.failed, 5);
    mm_lobby_publisher_free(p);
}

static void an_empty_address_publishes_nothing(void **state)
{
    (void)state;
    mm_lobby_publisher *p = mm_lobby_publisher_new("", 200);
    assert_non_null(p);
    mm_lobby_publisher_observe(p, "exrps", GAME_ID, MM_LOBBY_LISTED, DOC, strlen(DOC));
    mm_publish_counts n;
    mm_lobby_publisher_counts(p, &n);
    assert_int_equal(n.published + n.failed, 0);
    mm_lobby_publisher_free(p);
    mm_lobby_publisher_free(NULL);
    assert_null(mm_lobby_publisher_new("unix:/x", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_change_makes_its_message),
        cmocka_unit_test(ids_are_escaped_as_json),
        cmocka_unit_test(effect_names),
        cmocka_unit_test(a_missing_publisher_fails_fast_and_counts),
        cmocka_unit_test(an_empty_address_publishes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
