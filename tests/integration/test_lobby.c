/* The lobby API end to end: through nginx to the FastCGI pool, against real
 * Redis and the test game server. Every status and message of SPEC section 2
 * and the bad input of section 8. */
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
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"
#include "jwt.h"
#include "store.h"

#define SECRET ITEST_SECRET

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

/* ---- tokens ---- */

static char *token_for(const char *payload, const char *secret)
{
    char *t = mm_jwt_sign(arena, payload, (const unsigned char *)secret, strlen(secret));
    assert_non_null(t);
    return t;
}

static const char *auth_for(const char *user_id, const char *username)
{
    return itest_auth(arena, user_id, username);
}

/* ---- calls ---- */

static json_object *parse(const itest_response *r)
{
    json_object *j = json_tokener_parse(r->body);
    if (j == NULL)
        fail_msg("not JSON: %s", r->body);
    return j;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        fail_msg("no string %s in %s", key, json_object_to_json_string(o));
    return json_object_get_string(v);
}

static void assert_error(const itest_response *r, long status, const char *message)
{
    if (r->status != status)
        fail_msg("status %ld, wanted %ld: %s", r->status, status, r->body);
    json_object *j = parse(r);
    assert_string_equal(jstr(j, "error"), message);
    json_object_put(j);
    char ct[128];
    assert_int_equal(itest_header(r, "Content-Type", ct, sizeof(ct)), 0);
    assert_string_equal(ct, "application/json");
}

static void post(const char *path, const char *auth, itest_response *r)
{
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    itest_request("POST", path, auth ? h : NULL, "{}", 2, r);
}

/* Creates a game for user through the API; returns its id (in the arena). */
static const char *create(const char *product, const char *user_id, const char *username)
{
    char path[256];
    snprintf(path, sizeof(path), "/game_lobby/%s/create_game", product);
    itest_response r;
    post(path, auth_for(user_id, username), &r);
    if (r.status != 200)
        fail_msg("create: %ld %s", r.status, r.body);
    json_object *j = parse(&r);
    const char *id = mm_arena_strdup(arena, jstr(j, "game_id"));
    json_object_put(j);
    itest_response_free(&r);
    return id;
}

/* What the worker does when the creator connects: publish to the lobby. */
static void publish(const char *product, const char *id)
{
    mm_stored s;
    assert_int_equal(mm_store_advance(store, arena, product, id, MM_STATE_CREATOR_JOINED, NULL, &s),
                     MM_STORE_OK);
}

static void join(const char *product, const char *id, const char *user_id, itest_response *r)
{
    char path[512];
    snprintf(path, sizeof(path), "/game_lobby/%s/join_game/%s", product, id);
    post(path, auth_for(user_id, user_id), r);
}

static int sets_of(const char *product, const char *id)
{
    static const char *const names[] = {"__pending_games:", "__lobby_games:", "__active_games:"};
    int mask = 0;
    for (int i = 0; i < 3; i++) {
        redisReply *r = redisCommand(raw, "ZSCORE %s%s %s", names[i], product, id);
        if (r->type == REDIS_REPLY_STRING)
            mask |= 1 << i;
        freeReplyObject(r);
    }
    return mask;
}

static long long dbsize(void)
{
    redisReply *r = redisCommand(raw, "DBSIZE");
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* Games the product holds in Redis. */
static long long games_stored(const char *product)
{
    redisReply *r = redisCommand(raw, "HLEN __games:%s", product);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* ---- create ---- */

static void create_stores_a_pending_game_with_the_servers_token(void **state)
{
    itest_response r;
    post("/game_lobby/exrps/create_game", auth_for("u1", "alice"), &r);
    assert_int_equal(r.status, 200);
    json_object *j = parse(&r);
    const char *id = jstr(j, "game_id");
    assert_int_equal(strlen(id), 32);
    assert_int_equal(strspn(id, "0123456789abcdef"), 32);
    assert_string_equal(jstr(j, "product_id"), "exrps");
    assert_string_equal(jstr(j, "creator_id"), "u1");
    assert_string_equal(jstr(j, "creator_name"), "alice");
    assert_string_equal(jstr(j, "state"), "created");
    assert_string_equal(jstr(j, "game_server_url"), itest_env("MM_TEST_GS_URL"));
    assert_non_null(strstr(jstr(j, "target_game_server"), "127.0.0.1:"));
    json_object *players, *settings, *np;
    assert_true(json_object_object_get_ex(j, "players", &players));
    assert_int_equal(json_object_array_length(players), 1);
    assert_true(json_object_object_get_ex(j, "settings", &settings));
    assert_true(json_object_object_get_ex(settings, "num_players", &np));
    assert_int_equal(json_object_get_int(np), 2);
    const char *token = jstr(j, "token");
    assert_true(strlen(token) > 0);
    jstr(j, "_last_updated");

    /* the request's log line says which game it made */
    char needle[128], line[4096];
    snprintf(needle, sizeof(needle), " event=game_created game_id=%s\n", id);
    if (itest_log_line(needle, line, sizeof(line)) != 0)
        fail_msg("no log line with%s", needle);
    assert_non_null(strstr(line, " msg=request method=POST path=\"/game_lobby/exrps/create_game\" "
                                 "status=200 "));

    /* stored: in the hash with the same token, in the pending set only */
    redisReply *doc = redisCommand(raw, "HGET __games:exrps %s", id);
    assert_int_equal(doc->type, REDIS_REPLY_STRING);
    json_object *stored = json_tokener_parse(doc->str);
    assert_string_equal(jstr(stored, "token"), token);
    assert_string_equal(jstr(stored, "state"), "created");
    json_object_put(stored);
    freeReplyObject(doc);
    assert_int_equal(sets_of("exrps", id), 1);

    /* the game server was asked with the SPEC's body */
    itest_response c;
    itest_gs("GET", "/_calls?op=create_game", NULL, &c);
    json_object *calls = parse(&c);
    assert_int_equal(json_object_array_length(calls), 1);
    json_object *body;
    assert_true(json_object_object_get_ex(json_object_array_get_idx(calls, 0), "body", &body));
    assert_string_equal(jstr(body, "gameId"), id);
    assert_string_equal(jstr(body, "userId"), "u1");
    assert_string_equal(jstr(body, "username"), "alice");
    json_object_put(calls);
    itest_response_free(&c);
    json_object_put(j);
    itest_response_free(&r);
}

static void check_order_product_then_auth(void **state)
{
    itest_response r;
    post("/game_lobby/nope/create_game", NULL, &r);
    assert_error(&r, 400, "Game Lobby: Invalid product ID.");
    itest_response_free(&r);
    post("/game_lobby/bad%20id/create_game", NULL, &r);
    assert_error(&r, 400, "Game Lobby: Invalid product ID.");
    itest_response_free(&r);
    post("/game_lobby/exrps/create_game", NULL, &r);
    assert_error(&r, 401, "Game Lobby: Not authorized.");
    itest_response_free(&r);
    post("/game_lobby/exrps/create_game", "Authorization: Bearer x.y.z", &r);
    assert_error(&r, 401,
                 "Game Lobby: Unable to fetch user profile for user. Relog may be required.");
    itest_response_free(&r);
    post("/game_lobby/exrps/join_game/abc", NULL, &r);
    assert_error(&r, 401, "Game Lobby: Not authorized.");
    itest_response_free(&r);
    assert_int_equal(dbsize(), 0);
    assert_int_equal(itest_gs_calls("create_game", NULL), 0);
}

static void bad_tokens_are_401(void **state)
{
    long now = (long)time(NULL);
    char p[512];
    const char *bad[8];
    int n = 0;
    snprintf(p, sizeof(p), "{\"user_id\": \"u1\", \"username\": \"a\", \"exp\": %ld}", now - 1);
    bad[n++] = token_for(p, SECRET); /* expired */
    snprintf(p, sizeof(p), "{\"user_id\": \"u1\", \"username\": \"a\", \"nbf\": %ld}", now + 600);
    bad[n++] = token_for(p, SECRET); /* not yet valid */
    bad[n++] = token_for("{\"user_id\": \"u1\", \"username\": \"a\"}", "wrong-secret");
    bad[n++] = token_for("{\"user_id\": \"u1\", \"username\": 5}", SECRET);
    bad[n++] = token_for("{\"user_id\": 1.5, \"username\": \"a\"}", SECRET);
    /* alg none, unsigned */
    bad[n++] = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ1c2VyX2lkIjoidTEiLCJ1c2VybmFtZSI6ImEifQ.";
    char *good = token_for("{\"user_id\": \"u1\", \"username\": \"a\"}", SECRET);
    bad[n++] = mm_arena_strndup(arena, good, strlen(good) - 5); /* truncated */
    for (int i = 0; i < n; i++) {
        itest_response r;
        post("/game_lobby/exrps/create_game",
             mm_arena_printf(arena, "Authorization: Bearer %s", bad[i]), &r);
        assert_error(&r, 401,
                     "Game Lobby: Unable to fetch user profile for user. Relog may be required.");
        itest_response_free(&r);
    }
    /* an Authorization header over 8 KiB */
    char *huge = mm_arena_alloc(arena, 9000);
    memset(huge, 'a', 8999);
    huge[8999] = '\0';
    itest_response r;
    post("/game_lobby/exrps/create_game", mm_arena_printf(arena, "Authorization: Bearer %s", huge),
         &r);
    assert_error(&r, 401,
                 "Game Lobby: Unable to fetch user profile for user. Relog may be required.");
    itest_response_free(&r);
    assert_int_equal(dbsize(), 0);
}

static void portal_token_and_integer_user_id_accepted(void **state)
{
    long now = (long)time(NULL);
    char p[512];
    snprintf(p, sizeof(p),
             "{\"token_type\": \"access\", \"exp\": %ld, \"iat\": %ld, "
             "\"jti\": \"5c7f0d1e2a3b4c5d\", "
             "\"user_id\": \"0b9c5b7e-9a2f-4c1e-8d3a-2f6b7c8d9e0f\", \"username\": \"bob\"}",
             now + 300, now);
    itest_response r;
    post("/game_lobby/exrps/create_game",
         mm_arena_printf(arena, "Authorization: Token %s", token_for(p, SECRET)), &r);
    assert_int_equal(r.status, 200);
    json_object *j = parse(&r);
    assert_string_equal(jstr(j, "creator_id"), "0b9c5b7e-9a2f-4c1e-8d3a-2f6b7c8d9e0f");
    json_object_put(j);
    itest_response_free(&r);
    post("/game_lobby/exrps/create_game",
         mm_arena_printf(arena, "Authorization: Bearer %s",
                         token_for("{\"user_id\": 42, \"username\": \"carol\"}", SECRET)),
         &r);
    assert_int_equal(r.status, 200);
    j = parse(&r);
    assert_string_equal(jstr(j, "creator_id"), "42");
    json_object_put(j);
    itest_response_free(&r);
}

/* Each game-server failure on create: the SPEC's answer, in bounded time,
 * and nothing stored. */
static void create_game_server_failures(void **state)
{
    static const struct {
        const char *mode, *extra;
        long status;
        const char *message;
    } cases[] = {
        {"status", "\"status\": 400", 400, "Unable to create game on target game server."},
        {"status", "\"status\": 500", 400, "Unable to create game on target game server."},
        {"hang", "\"hang_ms\": 3000", 502, "Game server unavailable."},
        {"garbage", NULL, 502, "Game server unavailable."},
        {"no_token", NULL, 502, "Game server unavailable."},
        {"close", NULL, 502, "Game server unavailable."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        itest_gs_reset();
        itest_gs_fail("create_game", cases[i].mode, cases[i].extra);
        itest_response r;
        post("/game_lobby/exrps/create_game", auth_for("u1", "alice"), &r);
        assert_error(&r, cases[i].status, cases[i].message);
        assert_true(r.seconds < 2.5); /* the configured 1 s timeout, not the 3 s hang */
        itest_response_free(&r);
        assert_int_equal(games_stored("exrps"), 0);
    }
}

/* With Redis down, a create is refused before the game server is asked (the user's limits
 * cannot be checked): 503, and no game anywhere. A game the game server made that cannot be
 * stored is removed again: test_faults (create_stored_nowhere_is_removed_...). */
static void create_with_redis_down_makes_no_game(void **state)
{
    itest_stack("redis-stop");
    itest_response r;
    post("/game_lobby/exrps/create_game", auth_for("u1", "alice"), &r);
    itest_stack("redis-start");
    assert_error(&r, 503, "Service temporarily unavailable.");
    itest_response_free(&r);
    assert_int_equal(itest_gs_calls("create_game", NULL), 0);
    assert_int_equal(itest_gs_calls("remove_game", NULL), 0);
    redisFree(raw);
    raw = itest_redis(0);
    assert_int_equal(dbsize(), 0);
    /* and the next request works without restarting anything */
    post("/game_lobby/exrps/create_game", auth_for("u1", "alice"), &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
}

/* ---- join ---- */

static void join_fills_a_two_player_game(void **state)
{
    const char *id = create("exrps", "u1", "alice");
    publish("exrps", id);
    itest_response r;
    join("exrps", id, "u2", &r);
    assert_int_equal(r.status, 200);
    json_object *j = parse(&r);
    json_object *players;
    assert_true(json_object_object_get_ex(j, "players", &players));
    assert_int_equal(json_object_array_length(players), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(players, 1)), "u2");
    assert_string_equal(jstr(j, "state"), "creator_joined");
    /* the answer is the stored game, byte for byte, plus target_game_server */
    char *target = strdup(jstr(j, "target_game_server"));
    json_object_put(j);
    redisReply *doc = redisCommand(raw, "HGET __games:exrps %s", id);
    assert_int_equal(doc->type, REDIS_REPLY_STRING);
    assert_true(doc->len > 2 && doc->str[doc->len - 1] == '}');
    char want[4096];
    snprintf(want, sizeof(want), "%.*s, \"target_game_server\": \"%s\"}", (int)doc->len - 1,
             doc->str, target);
    assert_string_equal(r.body, want);
    freeReplyObject(doc);
    free(target);
    itest_response_free(&r);
    assert_int_equal(sets_of("exrps", id), 4); /* left the lobby: full */
    assert_int_equal(itest_gs_calls("join_game", NULL), 1);
    /* one log line for the join: the request line carries what happened */
    char needle[256], line[4096];
    snprintf(needle, sizeof(needle), "path=\"/game_lobby/exrps/join_game/%s\" status=200", id);
    if (itest_log_line(needle, line, sizeof(line)) != 0)
        fail_msg("no log line with %s", needle);
    snprintf(needle, sizeof(needle), " event=player_joined game_id=%s players=2/2\n", id);
    if (strstr(line, needle) == NULL)
        fail_msg("the join's log line \"%s\" lacks \"%s\"", line, needle);

    join("exrps", id, "u2", &r);
    assert_error(&r, 409, "Unable to join game - player already joined.");
    itest_response_free(&r);
    join("exrps", id, "u3", &r);
    assert_error(&r, 409, "Unable to join game - game is full.");
    itest_response_free(&r);
    assert_int_equal(itest_gs_calls("join_game", NULL), 1);
}

/* The exact text of the first "settings" value in an answer (an object), in the arena. */
static const char *settings_text(const char *body)
{
    const char *p = strstr(body, "\"settings\": ");
    assert_non_null(p);
    p += strlen("\"settings\": ");
    assert_true(*p == '{');
    int depth = 0;
    const char *q = p;
    for (; *q != '\0'; q++) {
        if (*q == '"') {
            for (q++; *q != '"'; q++)
                if (*q == '\\')
                    q++;
        } else if (*q == '{' || *q == '[') {
            depth++;
        } else if ((*q == '}' || *q == ']') && --depth == 0) {
            break;
        }
    }
    assert_int_equal(depth, 0);
    return mm_arena_strndup(arena, p, (size_t)(q + 1 - p));
}

/* exrps3's settings in the test stack hold an empty array, a 17-digit integer, nested
 * objects, unicode and a slash, with num_players in the middle: create, open_games and
 * every join answer them byte for byte alike (SPEC 10). */
static void three_player_game_stays_in_lobby_until_full(void **state)
{
    char path[256];
    snprintf(path, sizeof(path), "/game_lobby/exrps3/create_game");
    itest_response r;
    post(path, auth_for("u1", "alice"), &r);
    assert_int_equal(r.status, 200);
    const char *settings = settings_text(r.body);
    assert_string_equal(settings, "{\"mode\":\"classic\",\"maps\":[],\"num_players\":3,"
                                  "\"seed\":12345678901234567,\"rules\":{\"names\":"
                                  "[\"\xc3\xa9t\xc3\xa9\",\"a/b\"],\"ratio\":0.50}}");
    json_object *j = parse(&r);
    const char *id = mm_arena_strdup(arena, jstr(j, "game_id"));
    json_object_put(j);
    itest_response_free(&r);
    publish("exrps3", id);
    itest_request("GET", "/game_lobby/exrps3/open_games", NULL, NULL, 0, &r);
    assert_string_equal(settings_text(r.body), settings);
    itest_response_free(&r);
    join("exrps3", id, "u2", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(settings_text(r.body), settings);
    itest_response_free(&r);
    assert_int_equal(sets_of("exrps3", id), 2);
    join("exrps3", id, "u3", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(settings_text(r.body), settings);
    itest_response_free(&r);
    assert_int_equal(sets_of("exrps3", id), 4);
}

static void join_errors(void **state)
{
    const char *id = create("exrps", "u1", "alice");
    itest_response r;
    join("exrps", id, "u2", &r); /* not published: still created */
    assert_error(&r, 400,
                 "Unable to join game - invalid state: created. Required state: "
                 "creator_joined");
    itest_response_free(&r);
    join("exrps", "0123456789abcdef0123456789abcdef", "u2", &r);
    assert_error(&r, 404,
                 "Game Lobby: Unable to join game - game not found. Game ID: "
                 "\"0123456789abcdef0123456789abcdef\", Product ID: exrps.");
    itest_response_free(&r);
    join("exrps", "bad.id", "u2", &r);
    assert_error(&r, 404,
                 "Game Lobby: Unable to join game - game not found. Game ID: "
                 "\"bad.id\", Product ID: exrps.");
    itest_response_free(&r);
    char longid[200];
    memset(longid, 'a', 129);
    longid[129] = '\0';
    join("exrps", longid, "u2", &r);
    assert_int_equal(r.status, 404);
    itest_response_free(&r);
    join("exrps", "", "u2", &r);
    assert_int_equal(r.status, 404);
    itest_response_free(&r);
    assert_int_equal(itest_gs_calls("join_game", NULL), 0);
}

/* The seat is given back whatever went wrong; when the game server got the request and
 * no answer came back (a timeout, a connection closed), it may have seated the player, so
 * it is also told to remove them (SPEC 10). A refusal needs no such call. */
static void join_undone_when_game_server_fails(void **state)
{
    static const struct {
        const char *mode, *extra;
        long status;
        const char *message;
        int remove_player; /* remove_player calls the failure leads to */
    } cases[] = {
        {"status", "\"status\": 403", 400, "Unable to join game on target game server.", 0},
        {"status", "\"status\": 503", 400, "Unable to join game on target game server.", 0},
        {"hang", "\"hang_ms\": 3000", 502, "Game server unavailable.", 1},
        {"close", NULL, 502, "Game server unavailable.", 1},
    };
    int removals = 0;
    char id[64];
    snprintf(id, sizeof(id), "%s", create("exrps", "u1", "alice"));
    publish("exrps", id);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        itest_gs_fail("join_game", cases[i].mode, cases[i].extra);
        itest_response r;
        join("exrps", id, "u2", &r);
        assert_error(&r, cases[i].status, cases[i].message);
        assert_true(r.seconds < 2.5);
        itest_response_free(&r);
        /* the seat was given back and the game is listed again */
        mm_stored s;
        mm_arena_reset(arena);
        assert_int_equal(mm_store_get(store, arena, "exrps", id, &s), MM_STORE_OK);
        assert_int_equal(s.game.nplayers, 1);
        assert_int_equal(sets_of("exrps", id), 2);
        removals += cases[i].remove_player;
        char needle[96];
        snprintf(needle, sizeof(needle), "\"gameId\":\"%s\",\"userId\":\"u2\"", id);
        if (itest_gs_calls("remove_player", needle) != removals)
            fail_msg("after a %s failure: %d remove_player calls for u2, wanted %d", cases[i].mode,
                     itest_gs_calls("remove_player", needle), removals);
    }
    itest_gs_reset();
    itest_response r;
    join("exrps", id, "u2", &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
}

/* A join whose game server answers nothing while the game moves on without the lobby's
 * help: the game server seated the player and reported them all joined. The player is not
 * taken out of the record nor, by a remove_player, out of the game server's game. */
static void join_timeout_keeps_a_player_the_game_moved_on_with(void **state)
{
    char id[64];
    snprintf(id, sizeof(id), "%s", create("exrps", "u1", "alice"));
    publish("exrps", id);
    itest_gs_fail("join_game", "hang", "\"hang_ms\": 3000");
    const char *req = mm_arena_printf(arena,
                                      "POST /game_lobby/exrps/join_game/%s HTTP/1.1\r\n"
                                      "Host: localhost\r\n%s\r\nContent-Length: 0\r\n"
                                      "Connection: close\r\n\r\n",
                                      id, auth_for("u2", "u2"));
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* the player's request (on a connection of its own), answered 502 */
        itest_response r;
        itest_raw(req, strlen(req), &r);
        _exit(r.status == 502 ? 0 : 1);
    }
    /* meanwhile the game server's report, as the worker applies it */
    itest_sleep_s(0.5);
    mm_stored s;
    mm_arena_reset(arena);
    assert_int_equal(
        mm_store_advance(store, arena, "exrps", id, MM_STATE_ALL_PLAYERS_JOINED, NULL, &s),
        MM_STORE_OK);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    mm_arena_reset(arena);
    assert_int_equal(mm_store_get(store, arena, "exrps", id, &s), MM_STORE_OK);
    assert_int_equal(s.game.state, MM_STATE_ALL_PLAYERS_JOINED);
    assert_int_equal(s.game.nplayers, 2);
    assert_int_equal(itest_gs_calls("remove_player", NULL), 0);
}

static size_t discard(char *p, size_t size, size_t n, void *u)
{
    return size * n;
}

/* 50 clients race for the one free seat of a game through nginx. */
static void fifty_concurrent_joins_one_winner(void **state)
{
    const char *id = create("exrps", "u1", "alice");
    publish("exrps", id);
    enum { N = 50 };
    CURLM *multi = curl_multi_init();
    CURL *easy[N];
    struct curl_slist *hdr[N];
    char url[256];
    snprintf(url, sizeof(url), "http://localhost/game_lobby/exrps/join_game/%s", id);
    for (int i = 0; i < N; i++) {
        char user[16];
        snprintf(user, sizeof(user), "racer%d", i);
        hdr[i] = curl_slist_append(NULL, auth_for(user, user));
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_UNIX_SOCKET_PATH, itest_env("MM_TEST_NGINX_SOCK"));
        curl_easy_setopt(easy[i], CURLOPT_URL, url);
        curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, hdr[i]);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
        curl_multi_add_handle(multi, easy[i]);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    int ok = 0, conflict = 0;
    for (int i = 0; i < N; i++) {
        long status = 0;
        curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &status);
        ok += status == 200;
        conflict += status == 409;
        curl_multi_remove_handle(multi, easy[i]);
        curl_easy_cleanup(easy[i]);
        curl_slist_free_all(hdr[i]);
    }
    curl_multi_cleanup(multi);
    assert_int_equal(ok, 1);
    assert_int_equal(conflict, N - 1);
    mm_stored s;
    assert_int_equal(mm_store_get(store, arena, "exrps", id, &s), MM_STORE_OK);
    assert_int_equal(s.game.nplayers, 2);
    assert_int_equal(itest_gs_calls("join_game", NULL), 1);
}

/* ---- open_games ---- */

static json_object *open_games(const char *query, long want_status)
{
    char path[256];
    snprintf(path, sizeof(path), "/game_lobby/exrps/open_games%s", query);
    itest_response r;
    itest_request("GET", path, NULL, NULL, 0, &r);
    if (r.status != want_status)
        fail_msg("%s: %ld %s", path, r.status, r.body);
    json_object *j = parse(&r);
    itest_response_free(&r);
    return j;
}

static void open_games_pages_in_age_order(void **state)
{
    const char *ids[30];
    for (int i = 0; i < 30; i++) {
        char user[16]; /* one creator each: a user may have 10 open games (SPEC 11) */
        snprintf(user, sizeof(user), "c%d", i);
        ids[i] = create("exrps", user, "alice");
        publish("exrps", ids[i]);
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    json_object *j = open_games("", 200);
    assert_int_equal(json_object_array_length(j), 10); /* default count */
    for (int i = 0; i < 10; i++) {
        json_object *g = json_object_array_get_idx(j, i);
        assert_string_equal(jstr(g, "game_id"), ids[i]);
        json_object *v;
        assert_false(json_object_object_get_ex(g, "token", &v));
        assert_false(json_object_object_get_ex(g, "state", &v));
        assert_false(json_object_object_get_ex(g, "_last_updated", &v));
        jstr(g, "creator_name");
    }
    json_object_put(j);
    j = open_games("?count=100", 200);
    assert_int_equal(json_object_array_length(j), 25); /* the cap */
    json_object_put(j);
    j = open_games("?count=7&page=1", 200);
    assert_int_equal(json_object_array_length(j), 7);
    assert_string_equal(jstr(json_object_array_get_idx(j, 0), "game_id"), ids[7]);
    json_object_put(j);
    j = open_games("?page=2&count=10", 200);
    assert_int_equal(json_object_array_length(j), 10);
    assert_string_equal(jstr(json_object_array_get_idx(j, 9), "game_id"), ids[29]);
    json_object_put(j);
    j = open_games("?page=3", 200);
    assert_int_equal(json_object_array_length(j), 0);
    json_object_put(j);
    j = open_games("?count=0", 200);
    assert_int_equal(json_object_array_length(j), 0);
    json_object_put(j);
    j = open_games("?page=999999999&count=25", 200);
    assert_int_equal(json_object_array_length(j), 0);
    json_object_put(j);
    /* a document gone missing is skipped */
    freeReplyObject(redisCommand(raw, "HDEL __games:exrps %s", ids[0]));
    j = open_games("?count=3", 200);
    assert_int_equal(json_object_array_length(j), 2);
    assert_string_equal(jstr(json_object_array_get_idx(j, 0), "game_id"), ids[1]);
    json_object_put(j);
}

static void open_games_bad_numbers_are_400(void **state)
{
    static const char *const bad[] = {"?count=-1",
                                      "?page=-1",
                                      "?count=abc",
                                      "?count=1.5",
                                      "?count=",
                                      "?count=+1",
                                      "?count=%201",
                                      "?count=1234567890",
                                      "?page=0x1",
                                      "?count=1e3",
                                      "?count=000000000000000000001"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "/game_lobby/exrps/open_games%s", bad[i]);
        itest_response r;
        itest_request("GET", path, NULL, NULL, 0, &r);
        assert_error(&r, 400, "Invalid request - page size and entry count must be integers.");
        itest_response_free(&r);
    }
    itest_response r;
    itest_request("GET", "/game_lobby/nope/open_games", NULL, NULL, 0, &r);
    assert_error(&r, 400, "Game Lobby: Invalid product ID.");
    itest_response_free(&r);
    itest_request("POST", "/game_lobby/exrps/open_games", NULL, "{}", 2, &r);
    assert_int_equal(r.status, 405);
    itest_response_free(&r);
}

static void open_games_with_redis_down_is_503(void **state)
{
    itest_stack("redis-stop");
    itest_response r;
    itest_request("GET", "/game_lobby/exrps/open_games", NULL, NULL, 0, &r);
    itest_stack("redis-start");
    assert_error(&r, 503, "Service temporarily unavailable.");
    assert_true(r.seconds < 2.0);
    itest_response_free(&r);
    redisFree(raw);
    raw = itest_redis(0);
    json_object *j = open_games("", 200);
    json_object_put(j);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, fresh)
    const struct CMUnitTest tests[] = {
        T(create_stores_a_pending_game_with_the_servers_token),
        T(check_order_product_then_auth),
        T(bad_tokens_are_401),
        T(portal_token_and_integer_user_id_accepted),
        T(create_game_server_failures),
        T(create_with_redis_down_makes_no_game),
        T(join_fills_a_two_player_game),
        T(three_player_game_stays_in_lobby_until_full),
        T(join_errors),
        T(join_undone_when_game_server_fails),
        T(join_timeout_keeps_a_player_the_game_moved_on_with),
        T(fifty_concurrent_joins_one_winner),
        T(open_games_pages_in_age_order),
        T(open_games_bad_numbers_are_400),
        T(open_games_with_redis_down_is_503),
    };
    return cmocka_run_group_tests_name("integration: lobby API", tests, setup, teardown);
}
