/* open_games under a lobby larger than a process's document cache (issue 13):
 * 400 games, then several hundred pages of random size and number asked over
 * one kept-alive connection, as a client paging through a busy lobby does.
 * Every answer must be a JSON array holding exactly the games of its window of
 * the lobby set, each in its own partial form. A page whose cache hits were
 * freed by a later miss of the same request showed up here as invalid JSON or
 * as a game of another page (and as heap-use-after-free under ASan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest.h"
#include "store.h"

#define P "exrps"
#define LOBBY_GAMES 400
#define REQUESTS 600
#define MAX_COUNT 25 /* the stack's lobby_max_page_size */
#define MAX_PAGE 17  /* 18 pages of 25 reach past the end of 400 games */

static redisContext *raw;
static mm_rconn *conn;
static mm_store *store;
static mm_arena *arena;
/* The request in hand: module-level so that teardown releases it when a
 * check fails mid-loop. */
static CURL *curl;
static itest_response answer;
static json_object *parsed;
static redisReply *window;

static void release_request(void)
{
    itest_response_free(&answer);
    json_object_put(parsed);
    parsed = NULL;
    if (window != NULL)
        freeReplyObject(window);
    window = NULL;
}

static int setup(void **state)
{
    return itest_fixture_open(&raw, &conn, &store, &arena);
}

static int teardown(void **state)
{
    itest_fixture_close(raw, conn, store, arena);
    curl_easy_cleanup(curl);
    release_request();
    return 0;
}

/* Reproducible randomness: the seed is printed, and MM_TEST_SEED replays it. */
static uint64_t rng;

static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static void seed_random(void)
{
    const char *s = getenv("MM_TEST_SEED");
    rng = s != NULL ? strtoull(s, NULL, 10) : (uint64_t)time(NULL) * 2654435761u;
    if (rng == 0)
        rng = 1;
    print_message("random seed %llu (MM_TEST_SEED replays it)\n", (unsigned long long)rng);
}

/* Game i of the lobby: its id and creator name encode i, so an answer can be
 * checked field by field, and no two documents are alike. */
static void game_id_of(int i, char id[33])
{
    snprintf(id, 33, "0a5e%028x", (unsigned)i);
}

static void seed_lobby(void)
{
    static const char *const settings[] = {"{\"num_players\": 2}", "{\"num_players\": 3}",
                                           "{\"num_players\": 4, \"map\": \"long-name-map\"}"};
    for (int i = 0; i < LOBBY_GAMES; i++) {
        char id[33], name[32], creator[32];
        game_id_of(i, id);
        snprintf(name, sizeof(name), "player-%d", i);
        snprintf(creator, sizeof(creator), "u%d", i);
        const char *players[] = {creator};
        mm_game g;
        memset(&g, 0, sizeof(g));
        g.game_id = id;
        g.product_id = P;
        g.game_server_url = "http://127.0.0.1:8080";
        g.creator_id = creator;
        g.creator_name = name;
        g.players = players;
        g.nplayers = 1;
        g.settings_json = settings[i % 3];
        g.num_players = 2 + i % 3;
        g.token = "tok";
        g.last_updated_us = mm_store_now_us();
        g.state = MM_STATE_CREATED;
        assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
        mm_stored s;
        assert_int_equal(mm_store_advance(store, arena, P, id, MM_STATE_CREATOR_JOINED, NULL, &s),
                         MM_STORE_OK);
        mm_arena_reset(arena);
    }
}

static long long lobby_size(void)
{
    redisReply *r = redisCommand(raw, "ZCARD __lobby_games:" P);
    assert_true(r != NULL && r->type == REDIS_REPLY_INTEGER);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    itest_response *b = userdata;
    size_t n = size * nmemb;
    char *p = realloc(b->body, b->body_len + n + 1);
    if (p == NULL)
        return 0;
    memcpy(p + b->body_len, ptr, n);
    b->body_len += n;
    p[b->body_len] = '\0';
    b->body = p;
    return n;
}

/* GET path on curl's kept-alive connection; returns how many new connections
 * the exchange needed. */
static long get_page(const char *path, itest_response *out)
{
    char url[256];
    snprintf(url, sizeof(url), "http://localhost%s", path);
    memset(out, 0, sizeof(*out));
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        fail_msg("GET %s: %s", path, curl_easy_strerror(rc));
    long connects = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
    if (out->body == NULL)
        out->body = calloc(1, 1);
    return connects;
}

/* The whole body must be one JSON value, nothing before or after it. */
static json_object *parse_strict(const itest_response *r, const char *where)
{
    json_tokener *tok = json_tokener_new();
    assert_non_null(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *j = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (j == NULL || err != json_tokener_success || used != r->body_len) {
        json_object_put(j);
        fail_msg("%s: not valid JSON: %s", where, r->body);
    }
    return j;
}

static const char *field(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Game ids [start, stop] of the lobby set, oldest first, as Redis holds them. */
static redisReply *lobby_window(long start, long stop)
{
    redisReply *r = redisCommand(raw, "ZRANGE __lobby_games:" P " %ld %ld", start, stop);
    assert_true(r != NULL && r->type == REDIS_REPLY_ARRAY);
    return r;
}

/* One game of an answer: the expected id, and the fields that say which game
 * of the seeded lobby the document belongs to. */
static void check_game(json_object *g, const char *want_id, const char *where, size_t k)
{
    const char *id = field(g, "game_id");
    if (id == NULL || strcmp(id, want_id) != 0)
        fail_msg("%s: entry %zu is game %s, wanted %s", where, k, id ? id : "(none)", want_id);
    unsigned i = (unsigned)strtoul(want_id + 4, NULL, 16);
    char name[32], creator[32];
    snprintf(name, sizeof(name), "player-%u", i);
    snprintf(creator, sizeof(creator), "u%u", i);
    const char *got_name = field(g, "creator_name");
    const char *got_creator = field(g, "creator_id");
    const char *got_product = field(g, "product_id");
    if (got_name == NULL || strcmp(got_name, name) != 0 || got_creator == NULL ||
        strcmp(got_creator, creator) != 0 || got_product == NULL || strcmp(got_product, P) != 0)
        fail_msg("%s: entry %zu (game %s) holds another game's fields: %s", where, k, want_id,
                 json_object_to_json_string(g));
    json_object *v;
    if (json_object_object_get_ex(g, "token", &v) || json_object_object_get_ex(g, "state", &v))
        fail_msg("%s: entry %zu is not in the partial form", where, k);
}

static void random_pages_over_one_connection(void **state)
{
    freeReplyObject(redisCommand(raw, "FLUSHALL"));
    seed_lobby();
    assert_int_equal(lobby_size(), LOBBY_GAMES);
    seed_random();

    curl = curl_easy_init();
    assert_non_null(curl);
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, itest_env("MM_TEST_NGINX_SOCK"));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);

    long connections = 0;
    size_t games_seen = 0;
    for (int n = 0; n < REQUESTS; n++) {
        long count = 1 + (long)(next_random() % MAX_COUNT);
        long page = (long)(next_random() % (MAX_PAGE + 1));
        char path[128];
        snprintf(path, sizeof(path), "/game_lobby/" P "/open_games?count=%ld&page=%ld", count,
                 page);
        char where[192];
        snprintf(where, sizeof(where), "request %d of %d, %s", n + 1, REQUESTS, path);
        release_request();
        connections += get_page(path, &answer);
        if (answer.status != 200)
            fail_msg("%s: status %ld: %s", where, answer.status, answer.body);
        parsed = parse_strict(&answer, where);
        if (!json_object_is_type(parsed, json_type_array))
            fail_msg("%s: not an array: %s", where, answer.body);
        window = lobby_window(page * count, page * count + count - 1);
        size_t got = json_object_array_length(parsed);
        if (got != window->elements)
            fail_msg("%s: %zu games, the lobby set has %zu there: %s", where, got, window->elements,
                     answer.body);
        for (size_t k = 0; k < got; k++)
            check_game(json_object_array_get_idx(parsed, k), window->element[k]->str, where, k);
        games_seen += got;
    }
    release_request();
    print_message("%d pages, %zu games listed, %ld connection(s)\n", REQUESTS, games_seen,
                  connections);
    assert_int_equal(connections, 1);
    /* the comparison was with the lobby as seeded: nothing expired meanwhile */
    assert_int_equal(lobby_size(), LOBBY_GAMES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_pages_over_one_connection),
    };
    return cmocka_run_group_tests_name("integration: open_games over a large lobby", tests, setup,
                                       teardown);
}
