/* The game servers' circuit breaker through the whole stack (SPEC 11): a game server that
 * keeps failing is no longer called once game_server_failure_threshold failures in a row
 * have been seen, by any process of the game-server pool; creates and joins on it answer
 * 502 at once; after the cooldown one trial call decides. exrps and exrps3 share the test
 * game server; exduel (MM_GS2_PRODUCT) has a second one of its own. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest.h"

#define THRESHOLD 5    /* game_server_failure_threshold: the default */
#define COOLDOWN_S 2.0 /* game_server_cooldown_ms of test_breaker.sh */
#define UNAVAILABLE "Game server unavailable."

static mm_arena *arena;

static int setup(void **state)
{
    (void)state;
    arena = mm_arena_new(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mm_arena_free(arena);
    return 0;
}

/* Game-server calls the test game server has seen, all operations. */
static int gs_calls(void)
{
    return itest_gs_calls("create_game", NULL) + itest_gs_calls("join_game", NULL) +
           itest_gs_calls("remove_game", NULL) + itest_gs_calls("remove_player", NULL);
}

/* The pid of the pool process that answered r (its log line, by request id). */
static long answered_by(const itest_response *r)
{
    char rid[64], want[96], line[4096];
    assert_int_equal(itest_header(r, "X-Request-Id", rid, sizeof(rid)), 0);
    snprintf(want, sizeof(want), " rid=%s", rid);
    if (itest_log_line(want, line, sizeof(line)) != 0)
        fail_msg("no log line with%s", want);
    const char *p = strstr(line, " pid=");
    assert_non_null(p);
    return strtol(p + 5, NULL, 10);
}

/* Failed game-server calls process pid logged so far. */
static int failures_seen_by(long pid)
{
    char path[512], needle[64], line[4096];
    snprintf(path, sizeof(path), "%s/fcgi.log", itest_env("MM_TEST_RUN_DIR"));
    snprintf(needle, sizeof(needle), " pid=%ld msg=\"game server call failed\"", pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, needle) != NULL && strstr(line, "result=unavailable") != NULL;
    fclose(f);
    return n;
}

static void create(const char *product, const char *user, itest_response *r)
{
    char path[128];
    snprintf(path, sizeof(path), "/game_lobby/%s/create_game", product);
    mm_arena_reset(arena);
    const char *h[] = {itest_auth(arena, user, user), NULL};
    itest_request("POST", path, h, "{}", 2, r);
}

static void expect(const itest_response *r, long status, const char *message)
{
    json_object *j = json_tokener_parse(r->body), *e;
    int ok = r->status == status &&
             (message == NULL || (j != NULL && json_object_object_get_ex(j, "error", &e) &&
                                  strcmp(json_object_get_string(e), message) == 0));
    json_object_put(j);
    if (!ok)
        fail_msg("wanted %ld %s, got %ld %.200s", status, message ? message : "", r->status,
                 r->body);
}

/* A metric line of the pool's /metrics, e.g. "x{product=\"exrps\"}": its value, or -1. */
static double metric(const char *series)
{
    itest_response r;
    itest_request("GET", "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    double v = -1;
    size_t n = strlen(series);
    for (const char *p = r.body; (p = strstr(p, series)) != NULL; p++)
        if ((p == r.body || p[-1] == '\n') && p[n] == ' ')
            v = strtod(p + n + 1, NULL);
    itest_response_free(&r);
    return v;
}

/* A game server that answers, even with errors, is there: refusals never open it. */
static void refusals_are_answers(void **state)
{
    (void)state;
    itest_gs_reset();
    itest_gs_fail("*", "status", "\"status\": 503");
    for (int i = 0; i < 3 * THRESHOLD; i++) {
        itest_response r;
        create("exrps", "refused", &r);
        expect(&r, 400, "Unable to create game on target game server.");
        itest_response_free(&r);
    }
    assert_int_equal(itest_gs_calls("create_game", NULL), 3 * THRESHOLD);
    assert_true(metric("matchmaker_game_server_breaker_state{product=\"exrps\"}") == 0);
    itest_gs_reset();
}

static void a_failing_game_server_is_no_longer_called(void **state)
{
    (void)state;
    itest_gs_reset();
    /* every call fails: the connection is closed without an answer (creates are also
     * followed by a remove_game, which fails too) */
    itest_gs_fail("*", "close", NULL);
    int failing_creates = 0;
    long last_calls = -1;
    for (; failing_creates < 2 * THRESHOLD; failing_creates++) {
        int before = gs_calls();
        itest_response r;
        create("exrps", "u1", &r);
        expect(&r, 502, UNAVAILABLE);
        itest_response_free(&r);
        last_calls = gs_calls() - before;
        if (last_calls == 0)
            break; /* refused without a call: open */
    }
    assert_int_equal(last_calls, 0);
    print_message("breaker: open after %d creates on a failing game server (%d calls reached "
                  "it)\n",
                  failing_creates, gs_calls());

    /* now every process of the pool refuses at once, each having seen fewer failures than
     * the threshold itself: the state is the pool's */
    int calls = gs_calls();
    long pids[16] = {0};
    int npids = 0;
    double slowest = 0;
    for (int i = 0; i < 12; i++) {
        itest_response r;
        create(i % 2 ? "exrps" : "exrps3", "u2", &r); /* one game server, one breaker */
        expect(&r, 502, UNAVAILABLE);
        if (r.seconds > slowest)
            slowest = r.seconds;
        long pid = answered_by(&r);
        int known = 0;
        for (int k = 0; k < npids; k++)
            known |= pids[k] == pid;
        if (!known && npids < 16)
            pids[npids++] = pid;
        itest_response_free(&r);
    }
    assert_int_equal(gs_calls(), calls);
    print_message("breaker: 12 creates refused by %d processes, slowest %.1f ms, no call made\n",
                  npids, slowest * 1e3);
    assert_true(npids >= 2);
    assert_true(slowest < 0.2);
    for (int k = 0; k < npids; k++) {
        int own = failures_seen_by(pids[k]);
        if (own >= THRESHOLD)
            fail_msg("pid %ld saw %d failures itself", pids[k], own);
    }

    /* the other game server is another breaker: its product still creates */
    itest_response r;
    create("exduel", "u3", &r);
    expect(&r, 200, NULL);
    itest_response_free(&r);

    assert_true(metric("matchmaker_game_server_breaker_state{product=\"exrps\"}") == 1);
    assert_true(metric("matchmaker_game_server_breaker_state{product=\"exrps3\"}") == 1);
    assert_true(metric("matchmaker_game_server_breaker_state{product=\"exduel\"}") == 0);
    assert_true(metric("matchmaker_game_server_breaker_opens_total{product=\"exrps\"}") == 1);
    assert_true(metric("matchmaker_game_server_breaker_refused_total{product=\"exrps\"}") >= 12);
}

/* After the cooldown one call goes through: failing, it opens the breaker again; answered,
 * it closes it. */
static void after_the_cooldown_one_trial_decides(void **state)
{
    (void)state;
    /* still failing: the trial reaches the game server, fails, and opens it again */
    itest_sleep_s(COOLDOWN_S + 0.2);
    int calls = gs_calls();
    itest_response r;
    create("exrps", "u4", &r);
    expect(&r, 502, UNAVAILABLE);
    itest_response_free(&r);
    assert_int_equal(gs_calls(), calls + 1); /* the trial create; its remove_game refused */
    create("exrps", "u4", &r);
    expect(&r, 502, UNAVAILABLE);
    itest_response_free(&r);
    assert_int_equal(gs_calls(), calls + 1);
    assert_true(metric("matchmaker_game_server_breaker_opens_total{product=\"exrps\"}") == 2);

    /* the game server is back; until the cooldown ends it is still not called */
    itest_gs_reset();
    double t0 = itest_now_s();
    create("exrps", "u5", &r);
    expect(&r, 502, UNAVAILABLE);
    itest_response_free(&r);
    assert_int_equal(itest_gs_calls("create_game", NULL), 0);
    itest_sleep_s(COOLDOWN_S + 0.2 - (itest_now_s() - t0));
    create("exrps", "u5", &r);
    expect(&r, 200, NULL); /* the trial */
    itest_response_free(&r);
    for (int i = 0; i < 4; i++) {
        create(i % 2 ? "exrps" : "exrps3", "u6", &r);
        expect(&r, 200, NULL);
        itest_response_free(&r);
    }
    assert_int_equal(itest_gs_calls("create_game", NULL), 5);
    assert_true(metric("matchmaker_game_server_breaker_state{product=\"exrps\"}") == 0);
    print_message("breaker: after the cooldown a failed trial opened it again, an answered one "
                  "closed it\n");
}

/* A join on a game whose game server's breaker is open: 502 at once, and the seat the
 * join reserved is given back (the handlers know nothing of the breaker). */
static void a_refused_join_gives_the_seat_back(void **state)
{
    (void)state;
    itest_gs_reset();
    mm_arena_reset(arena);
    char game_id[40];
    snprintf(game_id, sizeof(game_id), "%s", itest_create_game(arena, "exrps3", "owner"));
    /* listed, as the worker does once the creator connects */
    mm_rconn *conn;
    mm_store *store = itest_store_open(&conn);
    mm_stored s;
    assert_int_equal(
        mm_store_advance(store, arena, "exrps3", game_id, MM_STATE_CREATOR_JOINED, NULL, &s),
        MM_STORE_OK);

    itest_gs_fail("*", "close", NULL);
    itest_response r;
    for (int i = 0; i < THRESHOLD; i++) {
        create("exrps", "u7", &r);
        itest_response_free(&r);
    }
    int calls = gs_calls();
    char path[128];
    snprintf(path, sizeof(path), "/game_lobby/exrps3/join_game/%s", game_id);
    mm_arena_reset(arena);
    const char *h[] = {itest_auth(arena, "joiner", "joiner"), NULL};
    itest_request("POST", path, h, "{}", 2, &r);
    expect(&r, 502, UNAVAILABLE);
    itest_response_free(&r);
    assert_int_equal(gs_calls(), calls);
    mm_arena_reset(arena);
    assert_int_equal(mm_store_get(store, arena, "exrps3", game_id, &s), MM_STORE_OK);
    assert_int_equal(s.game.nplayers, 1);
    mm_store_free(store);
    mm_rconn_free(conn);
    itest_gs_reset();
    itest_sleep_s(COOLDOWN_S + 0.2); /* closed again by the next call, for whatever runs next */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refusals_are_answers),
        cmocka_unit_test(a_failing_game_server_is_no_longer_called),
        cmocka_unit_test(after_the_cooldown_one_trial_decides),
        cmocka_unit_test(a_refused_join_gives_the_seat_back),
    };
    return cmocka_run_group_tests_name("integration: game-server circuit breaker", tests, setup,
                                       teardown);
}
