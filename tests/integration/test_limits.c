/* SPEC 11's per-user limits through nginx with the defaults (10 open games, 10 seats, 120
 * calls a minute per user and product), and in the store with limits of the test's own:
 * a token cannot hold more seats or open more games than its limits, even with its
 * requests racing, and the count follows the games as they start, end and go. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    mm_user_limits none = {0};
    mm_store_set_limits(store, &none);
    return 0;
}

typedef struct {
    CURL *easy;
    struct curl_slist *headers;
    long status;
    char retry_after[16];
    char body[4096];
    size_t len;
} call;

static size_t collect(char *p, size_t size, size_t n, void *u)
{
    call *c = u;
    size_t add = size * n;
    if (c->len + add < sizeof(c->body)) {
        memcpy(c->body + c->len, p, add);
        c->len += add;
        c->body[c->len] = '\0';
    }
    return add;
}

static size_t header(char *p, size_t size, size_t n, void *u)
{
    call *c = u;
    size_t len = size * n;
    if (len > 13 && strncasecmp(p, "Retry-After: ", 13) == 0)
        snprintf(c->retry_after, sizeof(c->retry_after), "%.*s", (int)(len - 15), p + 13);
    return len;
}

/* n POSTs of paths[i % npaths] as user, all at once. */
static void post_all(const char *user, const char *const *paths, int npaths, call *calls, int n)
{
    CURLM *multi = curl_multi_init();
    const char *auth = itest_auth(arena, user, user);
    for (int i = 0; i < n; i++) {
        call *c = &calls[i];
        memset(c, 0, sizeof(*c));
        char url[256];
        snprintf(url, sizeof(url), "http://localhost%s", paths[i % npaths]);
        c->headers = curl_slist_append(NULL, auth);
        c->easy = curl_easy_init();
        curl_easy_setopt(c->easy, CURLOPT_UNIX_SOCKET_PATH, itest_env("MM_TEST_NGINX_SOCK"));
        curl_easy_setopt(c->easy, CURLOPT_URL, url);
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
        curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, header);
        curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
        curl_multi_add_handle(multi, c->easy);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(multi, &running);
        if (running)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    for (int i = 0; i < n; i++) {
        curl_easy_getinfo(calls[i].easy, CURLINFO_RESPONSE_CODE, &calls[i].status);
        curl_multi_remove_handle(multi, calls[i].easy);
        curl_easy_cleanup(calls[i].easy);
        curl_slist_free_all(calls[i].headers);
    }
    curl_multi_cleanup(multi);
}

static void post_one(const char *user, const char *path, call *c)
{
    post_all(user, &path, 1, c, 1);
}

/* Counts the calls of a status, checking every 429's message and Retry-After. */
static int count(const call *calls, int n, long status, const char *message)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (calls[i].status != status)
            continue;
        k++;
        if (status == 429) {
            char want[128];
            snprintf(want, sizeof(want), "{\"error\": \"%s\"}", message);
            assert_string_equal(calls[i].body, want);
            int after = atoi(calls[i].retry_after);
            assert_true(after >= 1 && after <= 60);
        }
    }
    return k;
}

static const char *open_game(const char *owner)
{
    call c;
    post_one(owner, "/game_lobby/exrps3/create_game", &c);
    assert_int_equal(c.status, 200);
    const char *at = strstr(c.body, "\"game_id\": \"");
    assert_non_null(at);
    char *id = mm_arena_strndup(arena, at + 12, 32);
    mm_stored s;
    assert_int_equal(
        mm_store_advance(store, arena, "exrps3", id, MM_STATE_CREATOR_JOINED, NULL, &s),
        MM_STORE_OK);
    return id;
}

/* 30 creates of one token at once: exactly 10 games (max_open_games_per_user); the rest
 * 429 "Too many open games for this user." with Retry-After. A game that starts frees its
 * place. */
static void one_token_cannot_open_more_than_ten_games(void **state)
{
    enum { N = 30 };
    call *calls = calloc(N, sizeof(*calls));
    const char *path = "/game_lobby/exrps/create_game";
    post_all("flood", &path, 1, calls, N);
    int made = count(calls, N, 200, NULL);
    int refused = count(calls, N, 429, "Too many open games for this user.");
    print_message("30 creates at once from one token: %d made, %d refused\n", made, refused);
    assert_int_equal(made, 10);
    assert_int_equal(refused, N - 10);
    redisReply *r = redisCommand(raw, "HLEN __games:exrps");
    assert_int_equal(r->integer, 10);
    freeReplyObject(r);
    /* games the game server made and the store refused were removed again */
    assert_int_equal(itest_gs_calls("create_game", NULL) - itest_gs_calls("remove_game", NULL), 10);
    /* another product is counted apart */
    post_one("flood", "/game_lobby/exrps3/create_game", &calls[0]);
    assert_int_equal(calls[0].status, 200);
    /* a game of the ten starts: a place frees */
    r = redisCommand(raw, "HKEYS __games:exrps");
    mm_stored s;
    mm_store_via event = {.event_id = "1-1"};
    assert_int_equal(mm_store_advance(store, arena, "exrps", r->element[0]->str,
                                      MM_STATE_IN_PROGRESS, &event, &s),
                     MM_STORE_OK);
    freeReplyObject(r);
    post_one("flood", path, &calls[0]);
    assert_int_equal(calls[0].status, 200);
    post_one("flood", path, &calls[0]);
    assert_int_equal(calls[0].status, 429);
    free(calls);
}

/* One token joining everything: 10 seats held (max_seats_per_user, its own games' seats
 * included), the rest 429 "Too many games joined by this user."; a game that starts or goes
 * frees its seat. */
static void one_token_cannot_hold_more_than_ten_seats(void **state)
{
    enum { GAMES = 14 };
    const char *paths[GAMES];
    const char *ids[GAMES];
    for (int i = 0; i < GAMES; i++) {
        char owner[16];
        snprintf(owner, sizeof(owner), "owner%d", i);
        ids[i] = open_game(owner);
        paths[i] = mm_arena_printf(arena, "/game_lobby/exrps3/join_game/%s", ids[i]);
    }
    call *calls = calloc(GAMES, sizeof(*calls));
    /* the token holds one seat already: its own open game */
    call own;
    post_one("greedy", "/game_lobby/exrps3/create_game", &own);
    assert_int_equal(own.status, 200);
    post_all("greedy", paths, GAMES, calls, GAMES);
    int joined = count(calls, GAMES, 200, NULL);
    int refused = count(calls, GAMES, 429, "Too many games joined by this user.");
    print_message("%d joins at once from one token holding 1 seat: %d joined, %d refused\n", GAMES,
                  joined, refused);
    assert_int_equal(joined, 9);
    assert_int_equal(refused, GAMES - 9);
    redisReply *r = redisCommand(raw, "SCARD __user_seats:exrps3:greedy");
    assert_int_equal(r->integer, 10);
    freeReplyObject(r);
    /* one of its games is deleted (the game server said so): a seat frees */
    int first = -1;
    for (int i = 0; i < GAMES && first < 0; i++)
        if (calls[i].status == 200)
            first = i;
    assert_int_equal(mm_store_delete(store, "exrps3", ids[first]), MM_STORE_OK);
    int spare = -1;
    for (int i = 0; i < GAMES && spare < 0; i++)
        if (calls[i].status == 429)
            spare = i;
    post_one("greedy", paths[spare], &calls[0]);
    assert_int_equal(calls[0].status, 200);
    free(calls);
}

/* Seats taken through quick_match and join_by_code count as join_game's do (SPEC 12 with
 * 11): a token holding its 10 seats is refused both, with join_game's 429, and takes no
 * seat. */
static void quick_match_and_join_by_code_count_seats_too(void **state)
{
    enum { OPEN = 9 };
    const char *paths[OPEN];
    for (int i = 0; i < OPEN; i++) {
        char owner[16];
        snprintf(owner, sizeof(owner), "host%d", i);
        paths[i] = mm_arena_printf(arena, "/game_lobby/exrps3/join_game/%s", open_game(owner));
    }
    call c, calls[OPEN];
    post_one("full", "/game_lobby/exrps3/create_game", &c); /* its own game: one seat */
    assert_int_equal(c.status, 200);
    post_all("full", paths, OPEN, calls, OPEN);
    assert_int_equal(count(calls, OPEN, 200, NULL), OPEN);
    const char *spare = open_game("spare-host");
    const char *players[] = {"code-host"};
    mm_game g = {.game_id = "private1",
                 .product_id = "exrps3",
                 .game_server_url = itest_env("MM_TEST_GS_URL"),
                 .creator_id = "code-host",
                 .creator_name = "code-host",
                 .players = players,
                 .nplayers = 1,
                 .settings_json = "{\"num_players\":3}",
                 .num_players = 3,
                 .token = "t",
                 .last_updated_us = mm_store_now_us(),
                 .state = MM_STATE_CREATED,
                 .private_game = true,
                 .join_code = "QWERTY"};
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    mm_stored st;
    assert_int_equal(
        mm_store_advance(store, arena, "exrps3", "private1", MM_STATE_CREATOR_JOINED, NULL, &st),
        MM_STORE_OK);

    post_one("full", "/game_lobby/exrps3/quick_match", &c);
    assert_int_equal(c.status, 429);
    count(&c, 1, 429, "Too many games joined by this user.");
    post_one("full", "/game_lobby/exrps3/join_by_code/QWERTY", &c);
    assert_int_equal(c.status, 429);
    count(&c, 1, 429, "Too many games joined by this user.");
    redisReply *r = redisCommand(raw, "SCARD __user_seats:exrps3:full");
    assert_int_equal(r->integer, 10);
    freeReplyObject(r);
    assert_int_equal(mm_store_get(store, arena, "exrps3", spare, &st), MM_STORE_OK);
    assert_int_equal(st.game.nplayers, 1);
    assert_int_equal(mm_store_get(store, arena, "exrps3", "private1", &st), MM_STORE_OK);
    assert_int_equal(st.game.nplayers, 1);
}

/* 130 calls of one token within the minute: the 121st on answer 429 "Too many requests."
 * with Retry-After; quick_match, create and join count alike. */
static void one_token_cannot_call_more_than_120_times_a_minute(void **state)
{
    enum { N = 130 };
    const char *paths[] = {"/game_lobby/exrps/join_game/0123456789abcdef0123456789abcdef",
                           "/game_lobby/exrps/quick_match"};
    call *calls = calloc(N, sizeof(*calls));
    for (int i = 0; i < N; i++)
        post_one("chatty", paths[i % 2], &calls[i]);
    int limited = 0;
    for (int i = 0; i < N; i++) {
        if (calls[i].status != 429 || strstr(calls[i].body, "Too many requests.") == NULL)
            continue;
        limited++;
        assert_true(i >= 120); /* the first 120 of the minute are never refused for the rate */
        int after = atoi(calls[i].retry_after);
        assert_true(after >= 1 && after <= 60);
    }
    print_message("130 calls in a row from one token: %d refused for the rate\n", limited);
    assert_int_equal(limited, N - 120);
    /* the quick matches (no game open) made games: 10 of them, then the user's limits */
    redisReply *r = redisCommand(raw, "HLEN __games:exrps");
    assert_int_equal(r->integer, 10);
    freeReplyObject(r);
    /* another user is not held back */
    post_one("quiet", paths[0], &calls[0]);
    assert_int_equal(calls[0].status, 404);
    free(calls);
}

/* The store's limits as configured, 0 turning one off; a count that lost track of a game
 * (its document deleted by hand) is mended at the limit. */
static void store_limits_as_configured(void **state)
{
    mm_user_limits two = {.max_open_games = 2, .max_seats = 3, .requests_per_minute = 0};
    mm_store_set_limits(store, &two);
    const char *players[] = {"u"};
    mm_game g = {.product_id = "exrps",
                 .game_server_url = "http://127.0.0.1:1",
                 .creator_id = "u",
                 .creator_name = "u",
                 .players = players,
                 .nplayers = 1,
                 .settings_json = "{\"num_players\":2}",
                 .num_players = 2,
                 .token = "t",
                 .last_updated_us = mm_store_now_us(),
                 .state = MM_STATE_CREATED};
    g.game_id = "a";
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    g.game_id = "b";
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    g.game_id = "c";
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_LIMIT_GAMES);
    long retry;
    assert_int_equal(mm_store_admit(store, "exrps", "u", true, &retry), MM_STORE_LIMIT_GAMES);
    /* a game gone without the store knowing (deleted by hand) is noticed at the limit */
    freeReplyObject(redisCommand(raw, "HDEL __games:exrps a"));
    assert_int_equal(mm_store_admit(store, "exrps", "u", true, &retry), MM_STORE_OK);
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    /* seats: u holds b and c; one more in someone else's game, then no more */
    mm_stored s;
    g.game_id = "d";
    g.creator_id = g.creator_name = players[0] = "v";
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    assert_int_equal(
        mm_store_advance(store, arena, "exrps", "d", MM_STATE_CREATOR_JOINED, NULL, &s),
        MM_STORE_OK);
    g.game_id = "e";
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    assert_int_equal(
        mm_store_advance(store, arena, "exrps", "e", MM_STATE_CREATOR_JOINED, NULL, &s),
        MM_STORE_OK);
    assert_int_equal(mm_store_reserve_seat(store, arena, "exrps", "d", "u", &s), MM_STORE_OK);
    assert_int_equal(mm_store_reserve_seat(store, arena, "exrps", "e", "u", &s),
                     MM_STORE_LIMIT_SEATS);
    /* the game server reports d started: u's seat there no longer counts */
    mm_store_via event = {.event_id = "1-1"};
    assert_int_equal(mm_store_advance(store, arena, "exrps", "d", MM_STATE_IN_PROGRESS, &event, &s),
                     MM_STORE_OK);
    assert_int_equal(mm_store_reserve_seat(store, arena, "exrps", "e", "u", &s), MM_STORE_OK);
    /* limits off */
    mm_user_limits none = {0};
    mm_store_set_limits(store, &none);
    for (int i = 0; i < 12; i++) {
        char id[8];
        snprintf(id, sizeof(id), "f%d", i);
        g.game_id = id;
        g.creator_id = g.creator_name = players[0] = "w";
        assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, fresh)
    const struct CMUnitTest tests[] = {
        T(one_token_cannot_open_more_than_ten_games),
        T(one_token_cannot_hold_more_than_ten_seats),
        T(quick_match_and_join_by_code_count_seats_too),
        T(one_token_cannot_call_more_than_120_times_a_minute),
        T(store_limits_as_configured),
    };
    return cmocka_run_group_tests_name("integration: per-user limits (SPEC 11)", tests, setup,
                                       teardown);
}
