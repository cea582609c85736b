/* Fuzz target: what a player asks of a game (game_request.h) -- a create/quick_match body
 * and an open_games query, read against a product that declares two filters -- and join
 * codes as a player types them (ids.h). Properties: every pick is a declared filter with a
 * declared value, in the declared order, none twice; the index and the settings are well
 * formed (the settings parse as JSON and keep the product's own bytes); a code that
 * normalizes is one of the alphabet's. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "fuzz.h"
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
    snprintf(p.filters[0].name, sizeof(p.filters[0].name), "%s", "mode");
    snprintf(p.filters[0].values[0], sizeof(p.filters[0].values[0]), "%s", "casual");
    snprintf(p.filters[0].values[1], sizeof(p.filters[0].values[1]), "%s", "ranked");
    p.filters[0].nvalues = 2;
    snprintf(p.filters[1].name, sizeof(p.filters[1].name), "%s", "region");
    snprintf(p.filters[1].values[0], sizeof(p.filters[1].values[0]), "%s", "eu");
    snprintf(p.filters[1].values[1], sizeof(p.filters[1].values[1]), "%s", "us");
    p.filters[1].nvalues = 2;
    return p;
}

static void check(const mm_product *p, mm_arena *a, const mm_game_request *r)
{
    FUZZ_CHECK(r->npicks >= 0 && r->npicks <= p->nfilters);
    int last = -1;
    for (int i = 0; i < r->npicks; i++) {
        int at = (int)(r->picks[i].filter - p->filters);
        FUZZ_CHECK(at > last && at < p->nfilters); /* declared order, none twice */
        last = at;
        FUZZ_CHECK(
            mm_filter_allows(r->picks[i].filter, r->picks[i].value, strlen(r->picks[i].value)));
    }
    char *index = mm_game_request_index(a, r);
    FUZZ_CHECK(index != NULL && (r->npicks == 0) == (index[0] == '\0'));
    char *settings = mm_game_request_settings(a, p, r);
    FUZZ_CHECK(settings != NULL);
    FUZZ_CHECK(strncmp(settings, p->settings_json, strlen(p->settings_json) - 1) == 0);
    json_object *j = json_tokener_parse(settings);
    FUZZ_CHECK(j != NULL && json_object_is_type(j, json_type_object));
    json_object_put(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mm_product p = product();
    mm_arena *a = mm_arena_new(0);
    if (a == NULL)
        return 0;
    mm_game_request r;
    if (mm_game_request_parse(&p, (const char *)data, size, &r) == MM_OK)
        check(&p, a, &r);
    char *query = mm_arena_strndup(a, (const char *)data, size);
    if (query != NULL && mm_game_request_from_query(&p, query, &r) == MM_OK)
        check(&p, a, &r);
    char code[MM_JOIN_CODE_LEN + 1];
    if (mm_join_code_normalize((const char *)data, size, code))
        FUZZ_CHECK(strlen(code) == MM_JOIN_CODE_LEN &&
                   strspn(code, MM_JOIN_CODE_ALPHABET) == MM_JOIN_CODE_LEN);
    mm_arena_free(a);
    return 0;
}
