/* What a player asks of a game (SPEC 12): bodies and queries read against a product's
 * declared filters, the filter index and the new game's settings; join codes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "game_request.h"
#include "ids.h"

static mm_product product(void)
{
    mm_product p;
    memset(&p, 0, sizeof(p));
    p.product_id = (char *)"p";
    p.settings_json = (char *)"{\"maps\":[],\"num_players\":4}";
    p.num_players = 4;
    p.nfilters = 2;
    snprintf(p.filters[0].name, sizeof(p.filters[0].name), "mode");
    snprintf(p.filters[0].values[0], sizeof(p.filters[0].values[0]), "casual");
    snprintf(p.filters[0].values[1], sizeof(p.filters[0].values[1]), "ranked");
    p.filters[0].nvalues = 2;
    snprintf(p.filters[1].name, sizeof(p.filters[1].name), "region");
    snprintf(p.filters[1].values[0], sizeof(p.filters[1].values[0]), "eu");
    snprintf(p.filters[1].values[1], sizeof(p.filters[1].values[1]), "us");
    p.filters[1].nvalues = 2;
    return p;
}

static const struct {
    const char *body;
    mm_status want;
    bool private_game;
    const char *index, *settings;
} bodies[] = {
    {"", MM_OK, false, "", "{\"maps\":[],\"num_players\":4}"},
    {"{}", MM_OK, false, "", "{\"maps\":[],\"num_players\":4}"},
    {"[1, 2]", MM_OK, false, "", "{\"maps\":[],\"num_players\":4}"}, /* not an object */
    {"{\"lobby\": {\"mode\"", MM_OK, false, "", "{\"maps\":[],\"num_players\":4}"},
    {"{\"private\": true}", MM_OK, true, "", "{\"maps\":[],\"num_players\":4}"},
    {"{\"private\": \"yes\"}", MM_OK, false, "", "{\"maps\":[],\"num_players\":4}"},
    {"{\"game_type\": \"rps\", \"num_players\": 9, \"creater_id\": \"x\"}", MM_OK, false, "",
     "{\"maps\":[],\"num_players\":4}"},
    /* the pairs in the declared order, the index sorted by key */
    {"{\"lobby\": {\"region\": \"us\", \"mode\": \"ranked\"}}", MM_OK, false,
     "|mode=ranked|region=us",
     "{\"maps\":[],\"num_players\":4,\"lobby\":{\"mode\":\"ranked\",\"region\":\"us\"}}"},
    {"{\"lobby\": {\"region\": \"eu\"}, \"private\": true}", MM_OK, true, "|region=eu",
     "{\"maps\":[],\"num_players\":4,\"lobby\":{\"region\":\"eu\"}}"},
    {"{\"lobby\": {}}", MM_OK, false, "", "{\"maps\":[],\"num_players\":4}"},
    {"{\"lobby\": {\"mode\": \"hardcore\"}}", MM_ERR_INVALID, false, NULL, NULL},
    {"{\"lobby\": {\"speed\": \"fast\"}}", MM_ERR_INVALID, false, NULL, NULL},
    {"{\"lobby\": {\"mode\": 1}}", MM_ERR_INVALID, false, NULL, NULL},
    {"{\"lobby\": {\"mode\": null}}", MM_ERR_INVALID, false, NULL, NULL},
    {"{\"lobby\": [\"mode\"]}", MM_ERR_INVALID, false, NULL, NULL},
    {"{\"lobby\": \"ranked\"}", MM_ERR_INVALID, false, NULL, NULL},
    {"{\"lobby\": {\"mode\": \"ranked\", \"mode\": \"casual\"}}", MM_OK, false, "|mode=casual",
     "{\"maps\":[],\"num_players\":4,\"lobby\":{\"mode\":\"casual\"}}"}, /* json-c: last wins */
};

static void bodies_are_read_against_the_declared_filters(void **state)
{
    mm_product p = product();
    mm_arena *a = mm_arena_new(0);
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        mm_game_request r;
        mm_status st = mm_game_request_parse(&p, bodies[i].body, strlen(bodies[i].body), &r);
        if (st != bodies[i].want)
            fail_msg("%s: %d", bodies[i].body, st);
        if (st != MM_OK) {
            assert_int_equal(r.npicks, 0);
            continue;
        }
        assert_int_equal(r.private_game, bodies[i].private_game);
        assert_string_equal(mm_game_request_index(a, &r), bodies[i].index);
        assert_string_equal(mm_game_request_settings(a, &p, &r), bodies[i].settings);
    }
    mm_arena_free(a);
}

static void queries_pick_declared_keys_only(void **state)
{
    mm_product p = product();
    mm_arena *a = mm_arena_new(0);
    mm_game_request r;
    assert_int_equal(mm_game_request_from_query(&p, "count=5&region=eu&page=1&mode=casual", &r),
                     MM_OK);
    assert_string_equal(mm_game_request_index(a, &r), "|mode=casual|region=eu");
    assert_int_equal(mm_game_request_from_query(&p, "color=red", &r), MM_OK); /* ignored */
    assert_int_equal(r.npicks, 0);
    assert_int_equal(mm_game_request_from_query(&p, "mode=RANKED", &r), MM_ERR_INVALID);
    assert_int_equal(mm_game_request_from_query(&p, "mode=", &r), MM_ERR_INVALID);
    assert_int_equal(mm_game_request_from_query(&p, "mode=ranked%20", &r), MM_ERR_INVALID);
    assert_int_equal(mm_game_request_from_query(&p, "", &r), MM_OK);
    mm_arena_free(a);
}

static void settings_of_an_empty_product_object(void **state)
{
    mm_product p = product();
    p.settings_json = (char *)"{}";
    mm_arena *a = mm_arena_new(0);
    mm_game_request r;
    assert_int_equal(mm_game_request_parse(&p, "{\"lobby\":{\"mode\":\"ranked\"}}", 27, &r), MM_OK);
    assert_string_equal(mm_game_request_settings(a, &p, &r), "{\"lobby\":{\"mode\":\"ranked\"}}");
    mm_arena_free(a);
}

static void join_codes(void **state)
{
    char code[MM_JOIN_CODE_LEN + 1];
    for (int i = 0; i < 200; i++) {
        assert_int_equal(mm_join_code_new(code), 0);
        assert_int_equal(strlen(code), MM_JOIN_CODE_LEN);
        assert_int_equal(strspn(code, MM_JOIN_CODE_ALPHABET), MM_JOIN_CODE_LEN);
    }
    assert_true(mm_join_code_normalize("ab3xyz", 6, code));
    assert_string_equal(code, "AB3XYZ");
    static const char *const bad[] = {"AB3XY",  "AB3XYZ7", "AB0XYZ",
                                      "ABIXYZ", "AB XYZ",  "AB3XY\xc3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(mm_join_code_normalize(bad[i], strlen(bad[i]), code));
    assert_false(mm_join_code_normalize("AB\0XYZ", 6, code));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bodies_are_read_against_the_declared_filters),
        cmocka_unit_test(queries_pick_declared_keys_only),
        cmocka_unit_test(settings_of_an_empty_product_object),
        cmocka_unit_test(join_codes),
    };
    return cmocka_run_group_tests_name("game requests", tests, NULL, NULL);
}
