/* The lobby features of SPEC 12 through nginx, against real Redis and the test game
 * server: quick match (with racing players), private games joined by code, lobby filters,
 * leaving and cancelling, idempotent retries. exrps has 2 seats, exrps3 3, exrps4 4 seats
 * and the filters mode (casual, ranked) and region (eu, us). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ids.h"
#include "itest.h"
#include "store.h"

static redisContext *raw;
static mm_rconn *conn;
static mm_store *store;
static mm_arena *arena;

static int setup(void **state)
{
    return itest_fixture_open(&raw, &conn, &store, &arena);
}

static int teardown(void **state)
{
    itest_fixture_close(raw, conn, store, arena);
    return 0;
}

static int fresh(void **state)
{
    itest_fixture_fresh(raw, arena);
    itest_gs_reset();
    return 0;
}

/* ---- calls ---- */

/* POST path as user with body (NULL: "{}") and an optional Idempotency-Key. */
static void post(const char *path, const char *user, const char *body, const char *idem,
                 itest_response *r)
{
    const char *h[4] = {itest_auth(arena, user, user), "Content-Type: application/json", NULL,
                        NULL};
    if (idem != NULL) /* "Name;" is how libcurl sends a header with an empty value */
        h[2] = idem[0] == '\0' ? "Idempotency-Key;"
                               : mm_arena_printf(arena, "Idempotency-Key: %s", idem);
    if (body == NULL)
        body = "{}";
    itest_request("POST", path, h, body, strlen(body), r);
}

static json_object *parse(const itest_response *r)
{
    json_object *j = json_tokener_parse(r->body);
    if (j == NULL)
        fail_msg("not JSON: %s", r->body);
    return j;
}

/* A string member of an answer, in the arena (NULL when absent). */
static const char *member(const itest_response *r, const char *key)
{
    json_object *j = parse(r), *v;
    const char *out = NULL;
    if (json_object_object_get_ex(j, key, &v) && json_object_is_type(v, json_type_string))
        out = mm_arena_strdup(arena, json_object_get_string(v));
    json_object_put(j);
    return out;
}

static void expect(const itest_response *r, long status, const char *error)
{
    if (r->status != status)
        fail_msg("status %ld, wanted %ld: %s", r->status, status, r->body);
    if (error != NULL) {
        const char *e = member(r, "error");
        if (e == NULL || strcmp(e, error) != 0)
            fail_msg("error %s, wanted \"%s\"", r->body, error);
    }
}

/* Creates a game for user (body as create_game takes it) and publishes it as the game
 * server's creator_joined would; its id, in the arena. */
static const char *open_game(const char *product, const char *user, const char *body)
{
    char path[128];
    snprintf(path, sizeof(path), "/game_lobby/%s/create_game", product);
    itest_response r;
    post(path, user, body, NULL, &r);
    expect(&r, 200, NULL);
    const char *id = member(&r, "game_id");
    itest_response_free(&r);
    mm_stored s;
    assert_int_equal(mm_store_advance(store, arena, product, id, MM_STATE_CREATOR_JOINED, NULL, &s),
                     MM_STORE_OK);
    return id;
}

/* The players of a stored game, as one string "u1,u2" (in the arena); NULL when gone. */
static const char *players_of(const char *product, const char *id)
{
    mm_stored s;
    if (mm_store_get(store, arena, product, id, &s) != MM_STORE_OK)
        return NULL;
    size_t cap = 1;
    for (size_t i = 0; i < s.game.nplayers; i++)
        cap += strlen(s.game.players[i]) + 1;
    char *out = mm_arena_alloc(arena, cap);
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s.game.nplayers && at < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%s", i > 0 ? "," : "", s.game.players[i]);
    return out;
}

static int listed(const char *product, const char *query, const char *id)
{
    char path[256];
    snprintf(path, sizeof(path), "/game_lobby/%s/open_games?count=25%s", product, query);
    itest_response r;
    itest_request("GET", path, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    int found = strstr(r.body, id) != NULL;
    itest_response_free(&r);
    return found;
}

/* ---- quick match ---- */

typedef struct {
    CURL *easy;
    struct curl_slist *headers;
    char body[8192];
    size_t len;
    char user[32];
} racer;

static size_t collect(char *p, size_t size, size_t n, void *u)
{
    racer *r = u;
    size_t add = size * n;
    if (r->len + add < sizeof(r->body)) {
        memcpy(r->body + r->len, p, add);
        r->len += add;
        r->body[r->len] = '\0';
    }
    return add;
}

/* n players quick-match on product at once (one curl multi); results in racers. */
static void race_quick_match(const char *product, racer *racers, int n)
{
    CURLM *multi = curl_multi_init();
    char url[128];
    snprintf(url, sizeof(url), "http://localhost/game_lobby/%s/quick_match", product);
    for (int i = 0; i < n; i++) {
        racer *q = &racers[i];
        snprintf(q->user, sizeof(q->user), "qm%d", i);
        q->headers = curl_slist_append(NULL, itest_auth(arena, q->user, q->user));
        q->headers = curl_slist_append(q->headers, "Content-Type: application/json");
        q->easy = curl_easy_init();
        curl_easy_setopt(q->easy, CURLOPT_UNIX_SOCKET_PATH, itest_env("MM_TEST_NGINX_SOCK"));
        curl_easy_setopt(q->easy, CURLOPT_URL, url);
        curl_easy_setopt(q->easy, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->headers);
        curl_easy_setopt(q->easy, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
        curl_easy_setopt(q->easy, CURLOPT_TIMEOUT, 20L);
        curl_multi_add_handle(multi, q->easy);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(multi, &running);
        if (running)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    for (int i = 0; i < n; i++) {
        long status = 0;
        curl_easy_getinfo(racers[i].easy, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200)
            fail_msg("%s: %ld %s", racers[i].user, status, racers[i].body);
        curl_multi_remove_handle(multi, racers[i].easy);
        curl_easy_cleanup(racers[i].easy);
        curl_slist_free_all(racers[i].headers);
    }
    curl_multi_cleanup(multi);
}

/* SPEC 12: N players quick-matching at once into M open seats fill exactly min(N, M) seats
 * and create games for the rest, no player in two games, no game over-filled. */
static void race_into_open_seats(const char *product, int capacity, const int *seated, int ngames)
{
    enum { PLAYERS = 60 };
    const char *ids[32];
    int seats = 0;
    for (int g = 0; g < ngames; g++) {
        char owner[16];
        snprintf(owner, sizeof(owner), "own%d", g);
        ids[g] = open_game(product, owner, NULL);
        for (int k = 1; k < seated[g]; k++) {
            char guest[24];
            snprintf(guest, sizeof(guest), "own%d-%d", g, k);
            mm_stored s;
            assert_int_equal(mm_store_reserve_seat(store, arena, product, ids[g], guest, &s),
                             MM_STORE_OK);
        }
        seats += capacity - seated[g];
    }
    assert_int_equal(seats, 20);
    racer *racers = calloc(PLAYERS, sizeof(*racers));
    race_quick_match(product, racers, PLAYERS);
    int joined = 0, created = 0;
    for (int i = 0; i < PLAYERS; i++) {
        itest_response r = {.status = 200, .body = racers[i].body};
        const char *how = member(&r, "quick_match");
        joined += how != NULL && strcmp(how, "joined") == 0;
        created += how != NULL && strcmp(how, "created") == 0;
    }
    print_message("%s: %d players, 20 open seats: %d joined, %d created\n", product, PLAYERS,
                  joined, created);
    assert_int_equal(joined, 20);
    assert_int_equal(created, PLAYERS - 20);
    /* every open game is now full; every player is in exactly one game */
    redisReply *all = redisCommand(raw, "HGETALL __games:%s", product);
    int appearances[PLAYERS] = {0};
    for (size_t i = 1; i < all->elements; i += 2) {
        mm_game g;
        assert_int_equal(mm_game_decode(arena, all->element[i]->str, all->element[i]->len, &g),
                         MM_OK);
        assert_true(g.nplayers <= (size_t)g.num_players);
        for (size_t p = 0; p < g.nplayers; p++) {
            int n;
            if (sscanf(g.players[p], "qm%d", &n) == 1)
                appearances[n]++;
        }
    }
    freeReplyObject(all);
    for (int i = 0; i < PLAYERS; i++)
        if (appearances[i] != 1)
            fail_msg("player qm%d is in %d games", i, appearances[i]);
    for (int g = 0; g < ngames; g++) {
        mm_stored s;
        assert_int_equal(mm_store_get(store, arena, product, ids[g], &s), MM_STORE_OK);
        assert_int_equal(s.game.nplayers, capacity);
    }
    free(racers);
}

static void sixty_players_into_twenty_seats_of_two(void **state)
{
    int seated[20];
    for (int i = 0; i < 20; i++)
        seated[i] = 1;
    race_into_open_seats("exrps", 2, seated, 20);
}

static void sixty_players_into_twenty_seats_of_four(void **state)
{
    /* 4 games with one player (3 seats each) and 4 with two (2 each): 20 seats */
    const int seated[8] = {1, 1, 1, 1, 2, 2, 2, 2};
    race_into_open_seats("exrps4", 4, seated, 8);
}

/* The oldest matching game first; a game holding the player, a private game and a game of
 * other filters are passed over; with none left, a game is made with the filters asked. */
static void quick_match_picks_the_oldest_matching_game(void **state)
{
    const char *casual = open_game("exrps4", "a", "{\"lobby\": {\"mode\": \"casual\"}}");
    const char *mine = open_game("exrps4", "b", "{\"lobby\": {\"mode\": \"ranked\"}}");
    open_game("exrps4", "c", "{\"private\": true, \"lobby\": {\"mode\": \"ranked\"}}");
    const char *ranked = open_game("exrps4", "d", "{\"lobby\": {\"mode\": \"ranked\"}}");
    const char *later = open_game("exrps4", "e", "{\"lobby\": {\"mode\": \"ranked\"}}");
    itest_response r;
    /* b is in "mine": the next ranked one */
    post("/game_lobby/exrps4/quick_match", "b", "{\"lobby\": {\"mode\": \"ranked\"}}", NULL, &r);
    expect(&r, 200, NULL);
    assert_string_equal(member(&r, "quick_match"), "joined");
    assert_string_equal(member(&r, "game_id"), ranked);
    assert_non_null(member(&r, "target_game_server"));
    itest_response_free(&r);
    /* no filter: the oldest of all */
    post("/game_lobby/exrps4/quick_match", "x", NULL, NULL, &r);
    expect(&r, 200, NULL);
    assert_string_equal(member(&r, "game_id"), casual);
    itest_response_free(&r);
    assert_string_equal(players_of("exrps4", mine), "b");
    assert_string_equal(players_of("exrps4", later), "e");
    /* nothing in the region asked: a new game with those filters */
    post("/game_lobby/exrps4/quick_match", "y", "{\"lobby\": {\"region\": \"us\"}}", NULL, &r);
    expect(&r, 200, NULL);
    assert_string_equal(member(&r, "quick_match"), "created");
    assert_non_null(strstr(r.body, "\"lobby\":{\"region\":\"us\"}"));
    itest_response_free(&r);
    /* a bad filter */
    post("/game_lobby/exrps4/quick_match", "y", "{\"lobby\": {\"region\": \"mars\"}}", NULL, &r);
    expect(&r, 400, "Invalid lobby filter.");
    itest_response_free(&r);
}

/* A game server refusing a join sends the player to the next candidate; after three
 * refusals a game is made. */
static void quick_match_goes_on_after_a_refusal(void **state)
{
    const char *first = open_game("exrps", "a", NULL);
    const char *second = open_game("exrps", "b", NULL);
    itest_gs_fail("join_game", "status", "\"status\": 403, \"count\": 1");
    itest_response r;
    post("/game_lobby/exrps/quick_match", "q", NULL, NULL, &r);
    expect(&r, 200, NULL);
    assert_string_equal(member(&r, "quick_match"), "joined");
    assert_string_equal(member(&r, "game_id"), second);
    itest_response_free(&r);
    assert_string_equal(players_of("exrps", first), "a"); /* the seat was given back */
    assert_true(listed("exrps", "", first));
    /* every join refused: three tries, then a game of its own */
    open_game("exrps", "c", NULL);
    open_game("exrps", "d", NULL);
    itest_gs_fail("join_game", "status", "\"status\": 403");
    post("/game_lobby/exrps/quick_match", "z", NULL, NULL, &r);
    expect(&r, 200, NULL);
    assert_string_equal(member(&r, "quick_match"), "created");
    itest_response_free(&r);
    assert_int_equal(itest_gs_calls("join_game", "\"userId\":\"z\""), 3);
    itest_gs_reset();
}

/* ---- private games ---- */

static void private_games_are_joined_by_code_only(void **state)
{
    itest_response r;
    post("/game_lobby/exrps3/create_game", "host", "{\"private\": true}", NULL, &r);
    expect(&r, 200, NULL);
    const char *id = member(&r, "game_id");
    const char *code = member(&r, "join_code");
    assert_non_null(code);
    assert_int_equal(strlen(code), MM_JOIN_CODE_LEN);
    assert_int_equal(strspn(code, MM_JOIN_CODE_ALPHABET), MM_JOIN_CODE_LEN);
    assert_non_null(strstr(r.body, "\"private\": true"));
    itest_response_free(&r);
    mm_stored s;
    assert_int_equal(
        mm_store_advance(store, arena, "exrps3", id, MM_STATE_CREATOR_JOINED, NULL, &s),
        MM_STORE_OK);
    /* never listed, never quick-matched */
    assert_false(listed("exrps3", "", id));
    post("/game_lobby/exrps3/quick_match", "stranger", NULL, NULL, &r);
    expect(&r, 200, NULL);
    assert_string_equal(member(&r, "quick_match"), "created");
    itest_response_free(&r);
    /* the code, in any case, joins it: the join's answer */
    char lower[MM_JOIN_CODE_LEN + 1], path[128];
    for (int i = 0; i <= MM_JOIN_CODE_LEN; i++)
        lower[i] = (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] - 'A' + 'a' : code[i]);
    snprintf(path, sizeof(path), "/game_lobby/exrps3/join_by_code/%s", lower);
    post(path, "friend", NULL, NULL, &r);
    expect(&r, 200, NULL);
    assert_string_equal(member(&r, "game_id"), id);
    assert_non_null(member(&r, "target_game_server"));
    itest_response_free(&r);
    assert_string_equal(players_of("exrps3", id), "host,friend");
    assert_false(listed("exrps3", "", id));
    /* the same checks as join_game */
    post(path, "friend", NULL, NULL, &r);
    expect(&r, 409, "Unable to join game - player already joined.");
    itest_response_free(&r);
    /* unknown and malformed codes */
    const char *bad[] = {"ZZZZZZ", "ABC", "ABCDE0", "ABCDEFG", "%41%42%43%44%45%46"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(path, sizeof(path), "/game_lobby/exrps3/join_by_code/%s", bad[i]);
        post(path, "friend2", NULL, NULL, &r);
        expect(&r, 404, "Game Lobby: Unable to join game - unknown join code.");
        itest_response_free(&r);
    }
    /* the code is freed when the game starts */
    mm_store_via event = {.event_id = "1-1"}; /* an event may skip ahead */
    assert_int_equal(mm_store_advance(store, arena, "exrps3", id, MM_STATE_IN_PROGRESS, &event, &s),
                     MM_STORE_OK);
    snprintf(path, sizeof(path), "/game_lobby/exrps3/join_by_code/%s", code);
    post(path, "late", NULL, NULL, &r);
    expect(&r, 404, "Game Lobby: Unable to join game - unknown join code.");
    itest_response_free(&r);
    redisReply *c = redisCommand(raw, "HLEN __join_codes:exrps3");
    assert_int_equal(c->integer, 0);
    freeReplyObject(c);
}

/* Codes are unique among a product's live games: a create whose code is taken draws
 * another (the store refuses the taken one). */
static void a_taken_code_is_refused(void **state)
{
    freeReplyObject(redisCommand(raw, "HSET __join_codes:exrps ABCDEF someone"));
    const char *players[] = {"u1"};
    mm_game g = {.game_id = "g1",
                 .product_id = "exrps",
                 .game_server_url = "http://127.0.0.1:1",
                 .creator_id = "u1",
                 .creator_name = "u1",
                 .players = players,
                 .nplayers = 1,
                 .settings_json = "{\"num_players\":2}",
                 .num_players = 2,
                 .token = "t",
                 .last_updated_us = mm_store_now_us(),
                 .state = MM_STATE_CREATED,
                 .private_game = true,
                 .join_code = "ABCDEF"};
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_CODE_TAKEN);
    g.join_code = "ABCDEG";
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    /* deleting the game frees its code */
    assert_int_equal(mm_store_delete(store, "exrps", "g1"), MM_STORE_OK);
    redisReply *c = redisCommand(raw, "HEXISTS __join_codes:exrps ABCDEG");
    assert_int_equal(c->integer, 0);
    freeReplyObject(c);
}

/* ---- lobby filters ---- */

static void open_games_filters_by_the_declared_keys(void **state)
{
    const char *re =
        open_game("exrps4", "a", "{\"lobby\": {\"mode\": \"ranked\", \"region\": \"eu\"}}");
    const char *ru =
        open_game("exrps4", "b", "{\"lobby\": {\"region\": \"us\", \"mode\": \"ranked\"}}");
    const char *ce =
        open_game("exrps4", "c", "{\"lobby\": {\"mode\": \"casual\", \"region\": \"eu\"}}");
    const char *none = open_game("exrps4", "d", NULL);
    /* the settings carry the pairs in the product's declared order */
    mm_stored s;
    assert_int_equal(mm_store_get(store, arena, "exrps4", ru, &s), MM_STORE_OK);
    assert_non_null(strstr(s.doc, "\"lobby\":{\"mode\":\"ranked\",\"region\":\"us\"}"));
    assert_true(listed("exrps4", "&mode=ranked", re) && listed("exrps4", "&mode=ranked", ru));
    assert_false(listed("exrps4", "&mode=ranked", ce) || listed("exrps4", "&mode=ranked", none));
    assert_true(listed("exrps4", "&region=eu&mode=ranked", re));
    assert_false(listed("exrps4", "&region=eu&mode=ranked", ru));
    assert_true(listed("exrps4", "&region=eu", ce));
    assert_true(listed("exrps4", "&other=x", none)); /* undeclared keys are ignored */
    /* the same order and paging as the whole lobby */
    itest_response r;
    itest_request("GET", "/game_lobby/exrps4/open_games?mode=ranked&count=1&page=1", NULL, NULL, 0,
                  &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, ru));
    assert_null(strstr(r.body, re));
    itest_response_free(&r);
    itest_request("GET", "/game_lobby/exrps4/open_games?mode=hardcore", NULL, NULL, 0, &r);
    expect(&r, 400, "Invalid lobby filter.");
    itest_response_free(&r);
    /* a game that fills leaves every index */
    for (int i = 0; i < 3; i++) {
        char path[128], user[16];
        snprintf(path, sizeof(path), "/game_lobby/exrps4/join_game/%s", re);
        snprintf(user, sizeof(user), "j%d", i);
        post(path, user, NULL, NULL, &r);
        expect(&r, 200, NULL);
        itest_response_free(&r);
    }
    assert_false(listed("exrps4", "&mode=ranked&region=eu", re));
    assert_false(listed("exrps4", "&region=eu", re));
    /* creates asking for what the product does not declare */
    static const char *const bad[] = {
        "{\"lobby\": {\"mode\": \"hardcore\"}}",
        "{\"lobby\": {\"speed\": \"fast\"}}",
        "{\"lobby\": {\"mode\": 1}}",
        "{\"lobby\": [\"mode\"]}",
        "{\"lobby\": \"ranked\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        post("/game_lobby/exrps4/create_game", "z", bad[i], NULL, &r);
        expect(&r, 400, "Invalid lobby filter.");
        itest_response_free(&r);
    }
    /* a body that is not a JSON object is ignored, as before */
    post("/game_lobby/exrps4/create_game", "z", "[1, 2", NULL, &r);
    expect(&r, 200, NULL);
    itest_response_free(&r);
}

/* ---- leaving ---- */

static void leaving_and_cancelling(void **state)
{
    itest_response r;
    char path[128];
    /* a guest leaves a full game: out, the game listed again, remove_player sent */
    const char *g = open_game("exrps", "host", NULL);
    snprintf(path, sizeof(path), "/game_lobby/exrps/join_game/%s", g);
    post(path, "guest", NULL, NULL, &r);
    expect(&r, 200, NULL);
    itest_response_free(&r);
    assert_false(listed("exrps", "", g));
    snprintf(path, sizeof(path), "/game_lobby/exrps/leave_game/%s", g);
    post(path, "guest", NULL, NULL, &r);
    expect(&r, 200, NULL);
    assert_string_equal(r.body, "{\"left\": true, \"game_removed\": false}");
    itest_response_free(&r);
    assert_string_equal(players_of("exrps", g), "host");
    assert_true(listed("exrps", "", g));
    assert_int_equal(itest_gs_calls("remove_player", "\"guest\""), 1);
    /* not a player */
    post(path, "guest", NULL, NULL, &r);
    expect(&r, 409, "Game Lobby: Unable to leave game - not a player.");
    itest_response_free(&r);
    /* the creator cancels: deleted, remove_game sent */
    post(path, "host", NULL, NULL, &r);
    expect(&r, 200, NULL);
    assert_string_equal(r.body, "{\"left\": true, \"game_removed\": true}");
    itest_response_free(&r);
    assert_null(players_of("exrps", g));
    assert_false(listed("exrps", "", g));
    assert_int_equal(itest_gs_calls("remove_game", NULL), 1);
    /* unknown game: join's 404 with "leave" */
    post(path, "host", NULL, NULL, &r);
    char msg[256];
    snprintf(msg, sizeof(msg),
             "Game Lobby: Unable to leave game - game not found. Game ID: \"%s\", Product ID: "
             "exrps.",
             g);
    expect(&r, 404, msg);
    itest_response_free(&r);
    /* a game in progress cannot be left */
    const char *started = open_game("exrps", "h2", NULL);
    mm_stored s;
    mm_store_via event = {.event_id = "1-1"}; /* an event may skip ahead */
    assert_int_equal(
        mm_store_advance(store, arena, "exrps", started, MM_STATE_IN_PROGRESS, &event, &s),
        MM_STORE_OK);
    snprintf(path, sizeof(path), "/game_lobby/exrps/leave_game/%s", started);
    post(path, "h2", NULL, NULL, &r);
    expect(&r, 409, "Game Lobby: Unable to leave game - game already started.");
    itest_response_free(&r);
    /* a creator's game still pending (not yet connected) is cancelled too */
    post("/game_lobby/exrps/create_game", "h3", NULL, NULL, &r);
    const char *pending = member(&r, "game_id");
    itest_response_free(&r);
    snprintf(path, sizeof(path), "/game_lobby/exrps/leave_game/%s", pending);
    post(path, "h3", NULL, NULL, &r);
    expect(&r, 200, NULL);
    itest_response_free(&r);
    assert_null(players_of("exrps", pending));
}

/* ---- idempotent retries ---- */

/* The same key sent 20 times at once makes exactly one game; every answer is that game's or
 * "in progress"; a retry afterwards gets the first answer back. */
static void twenty_retries_at_once_make_one_game(void **state)
{
    enum { N = 20 };
    CURLM *multi = curl_multi_init();
    racer *q = calloc(N, sizeof(*q));
    const char *auth = itest_auth(arena, "dup", "dup");
    for (int i = 0; i < N; i++) {
        q[i].headers = curl_slist_append(NULL, auth);
        q[i].headers = curl_slist_append(q[i].headers, "Idempotency-Key: create-once_1");
        q[i].easy = curl_easy_init();
        curl_easy_setopt(q[i].easy, CURLOPT_UNIX_SOCKET_PATH, itest_env("MM_TEST_NGINX_SOCK"));
        curl_easy_setopt(q[i].easy, CURLOPT_URL, "http://localhost/game_lobby/exrps/create_game");
        curl_easy_setopt(q[i].easy, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(q[i].easy, CURLOPT_HTTPHEADER, q[i].headers);
        curl_easy_setopt(q[i].easy, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(q[i].easy, CURLOPT_WRITEDATA, &q[i]);
        curl_multi_add_handle(multi, q[i].easy);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(multi, &running);
        if (running)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    const char *first = NULL;
    int ok = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        long status = 0;
        curl_easy_getinfo(q[i].easy, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200) {
            ok++;
            if (first == NULL)
                first = mm_arena_strdup(arena, q[i].body);
            else
                assert_string_equal(q[i].body, first);
        } else if (status == 409 && strstr(q[i].body, "Request already in progress.")) {
            busy++;
        } else {
            fail_msg("answer %ld %s", status, q[i].body);
        }
        curl_multi_remove_handle(multi, q[i].easy);
        curl_easy_cleanup(q[i].easy);
        curl_slist_free_all(q[i].headers);
    }
    curl_multi_cleanup(multi);
    free(q);
    print_message("20 creates with one key at once: %d answered the game, %d in progress\n", ok,
                  busy);
    assert_true(ok >= 1);
    redisReply *n = redisCommand(raw, "HLEN __games:exrps");
    assert_int_equal(n->integer, 1);
    freeReplyObject(n);
    assert_int_equal(itest_gs_calls("create_game", NULL), 1);
    /* a retry later: the same answer, nothing done again */
    itest_response r;
    post("/game_lobby/exrps/create_game", "dup", NULL, "create-once_1", &r);
    expect(&r, 200, NULL);
    assert_string_equal(r.body, first);
    itest_response_free(&r);
    assert_int_equal(itest_gs_calls("create_game", NULL), 1);
    /* the key is the user's and the route's: another user, or another route, runs anew */
    post("/game_lobby/exrps/create_game", "other", NULL, "create-once_1", &r);
    expect(&r, 200, NULL);
    assert_string_not_equal(r.body, first);
    itest_response_free(&r);
}

/* POSTs path as user with key twice: both 200, the second the first's answer byte for byte
 * (SPEC 12); that answer, in the arena. */
static const char *twice(const char *path, const char *user, const char *body, const char *key)
{
    itest_response r;
    post(path, user, body, key, &r);
    expect(&r, 200, NULL);
    const char *first = mm_arena_strdup(arena, r.body);
    itest_response_free(&r);
    post(path, user, body, key, &r);
    expect(&r, 200, NULL);
    assert_string_equal(r.body, first);
    itest_response_free(&r);
    return first;
}

/* Every writing route replays its first answer to a retry and does nothing again: a quick
 * match joins once, a join by code joins once, a leave answers the leave (not "not a
 * player"); and a retry while the first still runs is told so (409). */
static void every_writing_route_replays_its_first_answer(void **state)
{
    const char *g = open_game("exrps3", "h", NULL);
    const char *qm = twice("/game_lobby/exrps3/quick_match", "q", NULL, "qm-1");
    assert_non_null(strstr(qm, g));
    assert_string_equal(players_of("exrps3", g), "h,q");
    redisReply *n = redisCommand(raw, "HLEN __games:exrps3");
    assert_int_equal(n->integer, 1); /* no game made by a second quick match */
    freeReplyObject(n);

    char path[128];
    snprintf(path, sizeof(path), "/game_lobby/exrps3/leave_game/%s", g);
    twice(path, "q", NULL, "leave-1");
    assert_string_equal(players_of("exrps3", g), "h");

    itest_response r;
    post("/game_lobby/exrps3/create_game", "p", "{\"private\": true}", NULL, &r);
    expect(&r, 200, NULL);
    const char *priv = member(&r, "game_id"), *code = member(&r, "join_code");
    itest_response_free(&r);
    mm_stored st;
    assert_int_equal(
        mm_store_advance(store, arena, "exrps3", priv, MM_STATE_CREATOR_JOINED, NULL, &st),
        MM_STORE_OK);
    snprintf(path, sizeof(path), "/game_lobby/exrps3/join_by_code/%s", code);
    twice(path, "c", NULL, "code-1");
    assert_string_equal(players_of("exrps3", priv), "p,c");
    assert_int_equal(itest_gs_calls("join_game", NULL), 2); /* the quick match's and this */

    /* a retry while the first is still at the game server: 409, and the first goes on */
    itest_gs_fail("create_game", "hang", "\"hang_ms\": 800, \"count\": 1");
    const char *req = mm_arena_printf(arena,
                                      "POST /game_lobby/exrps/create_game HTTP/1.1\r\n"
                                      "Host: localhost\r\n%s\r\nIdempotency-Key: slow-1\r\n"
                                      "Content-Type: application/json\r\nContent-Length: 2\r\n"
                                      "Connection: close\r\n\r\n{}",
                                      itest_auth(arena, "slow", "slow"));
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* on a connection of its own */
        itest_raw(req, strlen(req), &r);
        _exit(r.status == 200 ? 0 : 1);
    }
    itest_sleep_s(0.3);
    post("/game_lobby/exrps/create_game", "slow", NULL, "slow-1", &r);
    expect(&r, 409, "Request already in progress.");
    itest_response_free(&r);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    twice("/game_lobby/exrps/create_game", "slow", NULL, "slow-1");
    n = redisCommand(raw, "HLEN __games:exrps");
    assert_int_equal(n->integer, 1);
    freeReplyObject(n);
}

static void idempotency_keys_are_checked_and_failures_not_kept(void **state)
{
    itest_response r;
    const char *bad[] = {"", "has space", "x/y",
                         "0123456789012345678901234567890123456789012345678901234567890123X"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        post("/game_lobby/exrps/create_game", "k", NULL, bad[i], &r);
        expect(&r, 400, "Invalid Idempotency-Key.");
        itest_response_free(&r);
    }
    /* a 502 did nothing: a retry with the same key runs again and can succeed */
    itest_gs_fail("create_game", "status", "\"status\": 500, \"count\": 1");
    post("/game_lobby/exrps/create_game", "k", NULL, "retry-me", &r);
    expect(&r, 400, "Unable to create game on target game server.");
    itest_response_free(&r);
    post("/game_lobby/exrps/create_game", "k", NULL, "retry-me", &r);
    expect(&r, 400, "Unable to create game on target game server."); /* a 4xx is kept */
    itest_response_free(&r);
    itest_stack("gs-stop");
    post("/game_lobby/exrps/create_game", "k", NULL, "down-then-up", &r);
    itest_stack("gs-start");
    expect(&r, 502, "Game server unavailable.");
    itest_response_free(&r);
    post("/game_lobby/exrps/create_game", "k", NULL, "down-then-up", &r);
    expect(&r, 200, NULL);
    itest_response_free(&r);
    /* joins and leaves take keys too: a retried join answers the join, not "already joined" */
    const char *g = open_game("exrps3", "h", NULL);
    char path[128];
    snprintf(path, sizeof(path), "/game_lobby/exrps3/join_game/%s", g);
    post(path, "j", NULL, "join-1", &r);
    expect(&r, 200, NULL);
    char *first = mm_arena_strdup(arena, r.body);
    itest_response_free(&r);
    post(path, "j", NULL, "join-1", &r);
    expect(&r, 200, NULL);
    assert_string_equal(r.body, first);
    itest_response_free(&r);
    assert_string_equal(players_of("exrps3", g), "h,j");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, fresh)
    const struct CMUnitTest tests[] = {
        T(sixty_players_into_twenty_seats_of_two),
        T(sixty_players_into_twenty_seats_of_four),
        T(quick_match_picks_the_oldest_matching_game),
        T(quick_match_goes_on_after_a_refusal),
        T(private_games_are_joined_by_code_only),
        T(a_taken_code_is_refused),
        T(open_games_filters_by_the_declared_keys),
        T(leaving_and_cancelling),
        T(twenty_retries_at_once_make_one_game),
        T(idempotency_keys_are_checked_and_failures_not_kept),
        T(every_writing_route_replays_its_first_answer),
    };
    return cmocka_run_group_tests_name("integration: lobby features (SPEC 12)", tests, setup,
                                       teardown);
}
