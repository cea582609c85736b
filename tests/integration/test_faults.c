/* Fault drills through the whole stack: Redis stopped or frozen under load,
 * a FastCGI process killed under load, game-server failures on create and
 * join, and hostile HTTP input. Each drill asserts what the clients saw and
 * what Redis holds afterwards (consistency.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "consistency.h"
#include "itest.h"
#include "jwt.h"
#include "store.h"

#define UNAVAILABLE "Service temporarily unavailable."
#define REDIS_TIMEOUT_S 0.5 /* redis_timeout_ms of the stack's config */

static const char *const products[] = {"exrps", "exrps3", NULL};
static redisContext *raw;
static mm_rconn *conn;
static mm_store *store;
static mm_arena *arena;

/* ---- set-up ---- */

static void reconnect(void)
{
    if (raw != NULL)
        redisFree(raw);
    raw = itest_redis(0);
}

static int setup(void **state)
{
    reconnect();
    store = itest_store_open(&conn);
    arena = mm_arena_new(0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
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

static void assert_consistent(void)
{
    mm_consistency c;
    assert_int_equal(mm_consistency_check(raw, products, &c), 0);
    if (c.violations != 0)
        fail_msg("%ld consistency violations over %ld games; first: %s", c.violations, c.games,
                 c.first);
}

static long long count_games(const char *product)
{
    redisReply *r = redisCommand(raw, "HLEN __games:%s", product);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* The pool's pids, from "stack.sh pool-pids". */
static int pool_pids(pid_t *out, int max)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' pool-pids", itest_env("MM_TEST_STACK"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = 0;
    long v;
    while (n < max && fscanf(p, "%ld", &v) == 1)
        out[n++] = (pid_t)v;
    pclose(p);
    return n;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static pid_t redis_pid(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/redis.pid", itest_env("MM_TEST_RUN_DIR"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long pid = 0;
    assert_int_equal(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    return (pid_t)pid;
}

/* Creates a game through the API and publishes it (as the worker does when
 * the creator connects); the id goes to out. */
static void open_game(const char *product, const char *creator, char out[33])
{
    snprintf(out, 33, "%s", itest_create_game(arena, product, creator));
    mm_stored s;
    assert_int_equal(
        mm_store_advance(store, arena, product, out, MM_STATE_CREATOR_JOINED, NULL, &s),
        MM_STORE_OK);
}

/* ---- a small concurrent load: each thread loops create, join, list, health ---- */

enum { OP_CREATE, OP_JOIN, OP_LIST, OP_HEALTH, OP_COUNT };
enum { OUT_OK, OUT_UNAVAILABLE, OUT_BAD };
static const char *const op_names[] = {"create", "join", "open_games", "health"};

typedef struct {
    double t0, t1; /* since the load started */
    int op, outcome;
    long status;
    char detail[96];
    char user[32]; /* who asked (create, join) */
    int target;    /* join: which of the targets */
} sample;

#define LOAD_THREADS 4
#define SAMPLES_MAX 20000
#define JOIN_TARGETS 8

typedef struct {
    int index;
    double start;
    volatile int *stop;
    char (*targets)[33];
    sample *samples;
    int nsamples;
} loader;

static size_t collect(char *p, size_t size, size_t n, void *u)
{
    char *buf = u;
    size_t have = strlen(buf), add = size * n;
    if (have + add < 1024) {
        memcpy(buf + have, p, add);
        buf[have + add] = '\0';
    }
    return size * n;
}

/* Is body the JSON object {key: want}? */
static int json_says(const char *body, const char *key, const char *want)
{
    json_object *j = json_tokener_parse(body), *v;
    int ok = j != NULL && json_object_object_get_ex(j, key, &v) &&
             json_object_is_type(v, json_type_string) &&
             strcmp(json_object_get_string(v), want) == 0;
    json_object_put(j);
    return ok;
}

/* What the SPEC allows for op: its success answers, or 503 with its body. */
static int classify(int op, long status, const char *body)
{
    if (status == 503)
        return json_says(body, op == OP_HEALTH ? "status" : "error",
                         op == OP_HEALTH ? "unavailable" : UNAVAILABLE)
                   ? OUT_UNAVAILABLE
                   : OUT_BAD;
    switch (op) {
    case OP_CREATE: return status == 200 ? OUT_OK : OUT_BAD;
    case OP_JOIN: /* a full game, or one lost with Redis's data, is a normal answer */
        return status == 200 || status == 409 || status == 404 ? OUT_OK : OUT_BAD;
    default: return status == 200 ? OUT_OK : OUT_BAD;
    }
}

static void *load_thread(void *arg)
{
    loader *l = arg;
    CURL *curl = curl_easy_init();
    mm_arena *a = mm_arena_new(0);
    const char *sock = getenv("MM_TEST_NGINX_SOCK");
    for (int k = 0; !*l->stop && l->nsamples < SAMPLES_MAX; k++) {
        mm_arena_reset(a);
        sample *s = &l->samples[l->nsamples];
        memset(s, 0, sizeof(*s));
        s->op = (k + l->index) % OP_COUNT;
        char url[256], user[32], body[1024] = "";
        const char *auth = NULL;
        snprintf(user, sizeof(user), "load%d-%d", l->index, k);
        snprintf(s->user, sizeof(s->user), "%s", user);
        s->target = k % JOIN_TARGETS;
        switch (s->op) {
        case OP_CREATE:
            snprintf(url, sizeof(url), "http://localhost/game_lobby/exrps/create_game");
            auth = itest_auth(a, user, user);
            break;
        case OP_JOIN:
            snprintf(url, sizeof(url), "http://localhost/game_lobby/exrps3/join_game/%s",
                     l->targets[k % JOIN_TARGETS]);
            auth = itest_auth(a, user, user);
            break;
        case OP_LIST:
            snprintf(url, sizeof(url), "http://localhost/game_lobby/exrps3/open_games?count=5");
            break;
        default: snprintf(url, sizeof(url), "http://localhost/health"); break;
        }
        struct curl_slist *hl = auth ? curl_slist_append(NULL, auth) : NULL;
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        if (s->op == OP_CREATE || s->op == OP_JOIN)
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
        s->t0 = itest_now_s() - l->start;
        CURLcode rc = curl_easy_perform(curl);
        s->t1 = itest_now_s() - l->start;
        curl_slist_free_all(hl);
        if (rc != CURLE_OK) {
            s->outcome = OUT_BAD;
            snprintf(s->detail, sizeof(s->detail), "transport: %s", curl_easy_strerror(rc));
        } else {
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &s->status);
            s->outcome = classify(s->op, s->status, body);
            snprintf(s->detail, sizeof(s->detail), "%.90s", body);
        }
        l->nsamples++;
    }
    mm_arena_free(a);
    curl_easy_cleanup(curl);
    return NULL;
}

typedef struct {
    volatile int stop;
    double start;
    pthread_t tid[LOAD_THREADS];
    loader l[LOAD_THREADS];
    char targets[JOIN_TARGETS][33];
} load;

static void load_start(load *ld)
{
    memset(ld, 0, sizeof(*ld));
    for (int i = 0; i < JOIN_TARGETS; i++)
        open_game("exrps3", "owner", ld->targets[i]);
    ld->start = itest_now_s();
    for (int i = 0; i < LOAD_THREADS; i++) {
        ld->l[i] = (loader){.index = i,
                            .start = ld->start,
                            .stop = &ld->stop,
                            .targets = ld->targets,
                            .samples = calloc(SAMPLES_MAX, sizeof(sample))};
        assert_non_null(ld->l[i].samples);
        assert_int_equal(pthread_create(&ld->tid[i], NULL, load_thread, &ld->l[i]), 0);
    }
}

static void load_stop(load *ld)
{
    ld->stop = 1;
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(ld->tid[i], NULL);
}

static void load_free(load *ld)
{
    for (int i = 0; i < LOAD_THREADS; i++)
        free(ld->l[i].samples);
}

static double since(const load *ld)
{
    return itest_now_s() - ld->start;
}

/* Counts over all samples started in [from, to) and finished by until. */
typedef struct {
    int n, ok, unavailable, bad, by_op_unavailable[OP_COUNT], by_op_ok[OP_COUNT];
    double slowest;
    const sample *first_bad, *first_unavailable;
} tally;

static tally count_window(const load *ld, double from, double to, double until)
{
    tally t;
    memset(&t, 0, sizeof(t));
    for (int i = 0; i < LOAD_THREADS; i++) {
        for (int k = 0; k < ld->l[i].nsamples; k++) {
            const sample *s = &ld->l[i].samples[k];
            if (s->t0 < from || s->t0 >= to || s->t1 > until)
                continue;
            t.n++;
            if (s->t1 - s->t0 > t.slowest)
                t.slowest = s->t1 - s->t0;
            if (s->outcome == OUT_OK) {
                t.ok++;
                t.by_op_ok[s->op] += s->status == 200;
            } else if (s->outcome == OUT_UNAVAILABLE) {
                t.unavailable++;
                t.by_op_unavailable[s->op]++;
                if (t.first_unavailable == NULL)
                    t.first_unavailable = s;
            } else {
                t.bad++;
                if (t.first_bad == NULL)
                    t.first_bad = s;
            }
        }
    }
    return t;
}

static void fail_on_bad(const tally *t, const char *what)
{
    if (t->bad > 0)
        fail_msg("%s: %d answers outside the SPEC, first: %s at %.3f s -> %ld %s", what, t->bad,
                 op_names[t->first_bad->op], t->first_bad->t0, t->first_bad->status,
                 t->first_bad->detail);
}

static int same_pool(const pid_t *a, int na, const pid_t *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++) {
        int found = 0;
        for (int k = 0; k < nb; k++)
            found |= a[i] == b[k];
        if (!found)
            return 0;
    }
    return 1;
}

/* ---- 1. Redis stopped, then frozen, under load ---- */

static void redis_stopped_under_load_is_503_then_recovers(void **state)
{
    pid_t before[16], after[16];
    int nbefore = pool_pids(before, 16);
    assert_true(nbefore >= 2);
    load ld;
    load_start(&ld);
    itest_sleep_s(0.5);
    double stop_begin = since(&ld);
    itest_stack("redis-stop");
    double stop_end = since(&ld);
    itest_sleep_s(1.0);
    double start_begin = since(&ld);
    itest_stack("redis-start");
    double start_end = since(&ld);
    itest_sleep_s(1.0);
    load_stop(&ld);
    reconnect();

    tally all = count_window(&ld, 0, 1e9, 1e9);
    tally down = count_window(&ld, stop_end, start_begin, start_begin);
    tally up = count_window(&ld, start_end, 1e9, 1e9);
    print_message("redis stop/start: %d requests, %d unavailable (create %d, join %d, list %d, "
                  "health %d), slowest %.3f s; outage %.2f..%.2f s\n",
                  all.n, all.unavailable, all.by_op_unavailable[OP_CREATE],
                  all.by_op_unavailable[OP_JOIN], all.by_op_unavailable[OP_LIST],
                  all.by_op_unavailable[OP_HEALTH], all.slowest, stop_begin, start_end);
    fail_on_bad(&all, "redis stop/start");
    assert_true(all.slowest < REDIS_TIMEOUT_S + 1.0);
    /* while Redis was down, every answer was the SPEC's 503 */
    assert_true(down.n >= 8);
    assert_int_equal(down.unavailable, down.n);
    /* once it was back, nothing was unavailable: no restart needed */
    assert_true(up.n >= 8);
    if (up.unavailable != 0)
        fail_msg("%d answers 503 after Redis was back, first %s at %.3f s", up.unavailable,
                 op_names[up.first_unavailable->op], up.first_unavailable->t0);
    /* no process died or was replaced */
    int nafter = pool_pids(after, 16);
    assert_true(same_pool(before, nbefore, after, nafter));
    /* each game the game server made that could not be stored was removed from it (a
     * create refused before the game server was called made nothing) */
    assert_int_equal(itest_gs_calls("remove_game", NULL),
                     itest_gs_calls("create_game", NULL) - JOIN_TARGETS - all.by_op_ok[OP_CREATE]);
    assert_consistent();
    load_free(&ld);
}

/* Games the game server was told to remove that Redis holds all the same. */
static int removed_but_stored(void)
{
    itest_response r;
    itest_gs("GET", "/_calls?op=remove_game", NULL, &r);
    json_object *calls = json_tokener_parse(r.body);
    assert_non_null(calls);
    int n = 0;
    for (size_t i = 0; i < json_object_array_length(calls); i++) {
        json_object *body, *gid;
        if (!json_object_object_get_ex(json_object_array_get_idx(calls, i), "body", &body) ||
            !json_object_object_get_ex(body, "gameId", &gid))
            continue;
        redisReply *e = redisCommand(raw, "HEXISTS __games:exrps %s", json_object_get_string(gid));
        n += e->type == REDIS_REPLY_INTEGER && e->integer == 1;
        freeReplyObject(e);
    }
    json_object_put(calls);
    itest_response_free(&r);
    return n;
}

/* Joins answered 503 whose player holds a seat all the same. */
static int seated_but_told_unavailable(const load *ld)
{
    int n = 0;
    for (int i = 0; i < LOAD_THREADS; i++) {
        for (int k = 0; k < ld->l[i].nsamples; k++) {
            const sample *s = &ld->l[i].samples[k];
            if (s->op != OP_JOIN || s->outcome != OUT_UNAVAILABLE)
                continue;
            redisReply *d = redisCommand(raw, "HGET __games:exrps3 %s", ld->targets[s->target]);
            char quoted[40];
            snprintf(quoted, sizeof(quoted), "\"%s\"", s->user);
            n += d->type == REDIS_REPLY_STRING && strstr(d->str, quoted) != NULL;
            freeReplyObject(d);
        }
    }
    return n;
}

/* A frozen Redis (SIGSTOP) accepts connections and never answers: every
 * request must still end within the Redis timeout. Commands sent before the
 * freeze run when it thaws, after the client was told 503: the write scripts'
 * deadline makes them refuse, so no create told 503 is stored and no join told
 * 503 holds a seat (SPEC 10). */
static void redis_frozen_under_load_is_503_within_the_timeout(void **state)
{
    load ld;
    load_start(&ld);
    itest_sleep_s(0.4);
    pid_t rp = redis_pid();
    double freeze = since(&ld);
    assert_int_equal(kill(rp, SIGSTOP), 0);
    /* 2.5 s: a request may wait for a process of its pool (the game-server pool is the
     * smaller) as well as for its own timeout, so each client starts a request in the
     * window counted below even on a loaded machine */
    itest_sleep_s(2.5);
    double thaw = since(&ld);
    assert_int_equal(kill(rp, SIGCONT), 0);
    itest_sleep_s(1.0);
    load_stop(&ld);

    tally all = count_window(&ld, 0, 1e9, 1e9);
    tally frozen = count_window(&ld, freeze, thaw - 0.6, 1e9);
    tally after = count_window(&ld, thaw + 0.1, 1e9, 1e9);
    print_message("redis frozen 2.5 s: %d requests, %d unavailable, slowest %.3f s\n", all.n,
                  all.unavailable, all.slowest);
    fail_on_bad(&all, "redis frozen");
    /* one timeout per request, never a hang (1 s of slack for a loaded machine,
     * as in the stopped-Redis drill) */
    if (all.slowest >= REDIS_TIMEOUT_S + 1.0)
        fail_msg("slowest answer %.3f s: more than one Redis timeout", all.slowest);
    assert_true(frozen.n >= 4);
    assert_int_equal(frozen.unavailable, frozen.n);
    assert_true(after.n >= 8);
    assert_int_equal(after.unavailable, 0);
    assert_consistent();
    int removed = itest_gs_calls("remove_game", NULL);
    int stored = removed_but_stored(), seated = seated_but_told_unavailable(&ld);
    print_message("creates answered 503: %d (remove_game sent: %d, stored anyway: %d); joins "
                  "answered 503: %d (seated anyway: %d)\n",
                  all.by_op_unavailable[OP_CREATE], removed, stored, all.by_op_unavailable[OP_JOIN],
                  seated);
    assert_int_equal(removed,
                     itest_gs_calls("create_game", NULL) - JOIN_TARGETS - all.by_op_ok[OP_CREATE]);
    assert_int_equal(stored, 0);
    assert_int_equal(seated, 0);
    load_free(&ld);
}

/* A create with an Idempotency-Key while Redis is frozen: 503 within the timeout, and
 * once Redis runs again the key was not claimed behind the client's back (SPEC 10, 12):
 * the retry runs (200), it is not told the first is still in progress (409). */
static void idempotent_retry_after_a_frozen_redis_runs(void **state)
{
    const char *h[] = {itest_auth(arena, "idem", "idem"), "Idempotency-Key: frozen-1", NULL};
    pid_t rp = redis_pid();
    assert_int_equal(kill(rp, SIGSTOP), 0);
    itest_response r;
    itest_request("POST", "/game_lobby/exrps/create_game", h, "{}", 2, &r);
    itest_sleep_s(REDIS_TIMEOUT_S); /* the claim waits in Redis past its deadline */
    assert_int_equal(kill(rp, SIGCONT), 0);
    assert_int_equal(r.status, 503);
    itest_response_free(&r);
    itest_sleep_s(0.2);
    itest_request("POST", "/game_lobby/exrps/create_game", h, "{}", 2, &r);
    if (r.status != 200)
        fail_msg("the retry: %ld %s", r.status, r.body);
    itest_response_free(&r);
    assert_int_equal(count_games("exrps"), 1);
    assert_consistent();
}

/* ---- 2. game-server failures not covered by test_lobby ---- */

static void post_as(const char *path, const char *user, itest_response *r)
{
    const char *h[] = {itest_auth(arena, user, user), "Content-Type: application/json", NULL};
    itest_request("POST", path, h, "{}", 2, r);
}

static void expect_error(const itest_response *r, long status, const char *message)
{
    if (r->status != status || !json_says(r->body, "error", message))
        fail_msg("wanted %ld %s, got %ld %s", status, message, r->status, r->body);
}

static void create_with_game_server_down_is_502_and_stores_nothing(void **state)
{
    itest_stack("gs-stop");
    itest_response r;
    post_as("/game_lobby/exrps/create_game", "u1", &r);
    itest_stack("gs-start");
    expect_error(&r, 502, "Game server unavailable.");
    assert_true(r.seconds < 1.5); /* refused at once, not the 1 s connect timeout */
    itest_response_free(&r);
    assert_int_equal(count_games("exrps"), 0);
    assert_consistent();
    /* back up: the next create works, through a fresh connection */
    post_as("/game_lobby/exrps/create_game", "u1", &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
    assert_int_equal(count_games("exrps"), 1);
}

/* A create whose game-server answer came too late or could not be used: 502, nothing
 * stored, and since the game server may have made the game, it is told to remove it. A
 * refusal made nothing: no remove_game. */
static void create_timeout_and_bad_answers_store_nothing(void **state)
{
    static const struct {
        const char *mode, *extra;
        long status;
        const char *message;
        int remove_game;
    } cases[] = {
        {"hang", "\"hang_ms\": 2500", 502, "Game server unavailable.", 1},
        {"status", "\"status\": 500", 400, "Unable to create game on target game server.", 0},
        {"garbage", NULL, 502, "Game server unavailable.", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        itest_gs_reset();
        itest_gs_fail("create_game", cases[i].mode, cases[i].extra);
        itest_response r;
        post_as("/game_lobby/exrps/create_game", "u1", &r);
        expect_error(&r, cases[i].status, cases[i].message);
        assert_true(r.seconds < 1.5);
        itest_response_free(&r);
        assert_int_equal(itest_gs_calls("create_game", NULL), 1);
        assert_int_equal(itest_gs_calls("remove_game", NULL), cases[i].remove_game);
        assert_int_equal(count_games("exrps"), 0);
    }
    assert_consistent();
}

/* Storing fails after the game server made the game: remove_game for that id. */
static void create_stored_nowhere_is_removed_from_the_game_server(void **state)
{
    /* the create script fails (its pending set is of the wrong type), after the admission
     * step passed and the game server made the game */
    freeReplyObject(redisCommand(raw, "SET __pending_games:exrps broken"));
    itest_response r;
    post_as("/game_lobby/exrps/create_game", "u1", &r);
    freeReplyObject(redisCommand(raw, "DEL __pending_games:exrps"));
    if (r.status != 500 && r.status != 503)
        fail_msg("create with Redis refusing writes: %ld %s", r.status, r.body);
    itest_response_free(&r);
    itest_response c;
    itest_gs("GET", "/_calls?op=create_game", NULL, &c);
    json_object *calls = json_tokener_parse(c.body), *body, *gid;
    assert_int_equal(json_object_array_length(calls), 1);
    assert_true(json_object_object_get_ex(json_object_array_get_idx(calls, 0), "body", &body));
    assert_true(json_object_object_get_ex(body, "gameId", &gid));
    char needle[64];
    snprintf(needle, sizeof(needle), "\"%s\"", json_object_get_string(gid));
    json_object_put(calls);
    itest_response_free(&c);
    assert_int_equal(itest_gs_calls("remove_game", needle), 1);
    assert_int_equal(count_games("exrps"), 0);
    assert_consistent();
}

/* The seat is given back whatever way the game server fails the join; the
 * stored game is then exactly as before. */
static void join_with_game_server_down_gives_the_seat_back(void **state)
{
    char id[33];
    open_game("exrps3", "u1", id);
    itest_stack("gs-stop");
    char path[128];
    snprintf(path, sizeof(path), "/game_lobby/exrps3/join_game/%s", id);
    itest_response r;
    post_as(path, "u2", &r);
    itest_stack("gs-start");
    expect_error(&r, 502, "Game server unavailable.");
    assert_true(r.seconds < 1.5);
    itest_response_free(&r);
    mm_stored s;
    assert_int_equal(mm_store_get(store, arena, "exrps3", id, &s), MM_STORE_OK);
    assert_int_equal(s.game.nplayers, 1);
    assert_int_equal(s.game.state, MM_STATE_CREATOR_JOINED);
    assert_consistent();
    post_as(path, "u2", &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
}

static void join_failures_leave_no_seat_without_a_server_join(void **state)
{
    static const struct {
        const char *mode, *extra;
        long status;
        const char *message;
    } cases[] = {
        {"hang", "\"hang_ms\": 2500", 502, "Game server unavailable."},
        {"status", "\"status\": 500", 400, "Unable to join game on target game server."},
        {"close", NULL, 502, "Game server unavailable."},
    };
    char id[33];
    open_game("exrps3", "u1", id); /* 3 seats: the game stays listed after one join */
    char path[128];
    snprintf(path, sizeof(path), "/game_lobby/exrps3/join_game/%s", id);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        itest_gs_fail("join_game", cases[i].mode, cases[i].extra);
        itest_response r;
        post_as(path, "u2", &r);
        expect_error(&r, cases[i].status, cases[i].message);
        assert_true(r.seconds < 1.5);
        itest_response_free(&r);
        mm_stored s;
        mm_arena_reset(arena);
        assert_int_equal(mm_store_get(store, arena, "exrps3", id, &s), MM_STORE_OK);
        assert_int_equal(s.game.nplayers, 1);
        redisReply *z = redisCommand(raw, "ZSCORE __lobby_games:exrps3 %s", id);
        assert_int_equal(z->type, REDIS_REPLY_STRING);
        freeReplyObject(z);
    }
    itest_gs_reset();
    assert_consistent();
}

/* A 2xx join answer is success whatever its body (SPEC 4: the join answer is
 * not used): the player has a seat on both sides. */
static void join_answered_2xx_non_json_is_a_join(void **state)
{
    char id[33];
    open_game("exrps3", "u1", id);
    itest_gs_fail("join_game", "garbage", NULL);
    char path[128];
    snprintf(path, sizeof(path), "/game_lobby/exrps3/join_game/%s", id);
    itest_response r;
    post_as(path, "u2", &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
    char needle[64];
    snprintf(needle, sizeof(needle), "\"%s\"", id);
    assert_int_equal(itest_gs_calls("join_game", needle), 1);
    mm_stored s;
    assert_int_equal(mm_store_get(store, arena, "exrps3", id, &s), MM_STORE_OK);
    assert_int_equal(s.game.nplayers, 2);
    assert_consistent();
}

/* ---- 3. a FastCGI process killed under load ---- */

static void killed_fcgi_process_costs_at_most_its_request_and_is_replaced(void **state)
{
    pid_t pool[16];
    int n = pool_pids(pool, 16);
    assert_true(n >= 3);
    load ld;
    load_start(&ld);
    enum { KILLS = 2 };
    double kill_at[KILLS];
    for (int k = 0; k < KILLS; k++) {
        itest_sleep_s(0.5);
        kill_at[k] = since(&ld);
        assert_int_equal(kill(pool[k], SIGKILL), 0);
    }
    itest_sleep_s(0.8);
    load_stop(&ld);
    tally all = count_window(&ld, 0, 1e9, 1e9);
    print_message("SIGKILL x%d under load: %d requests, %d answered 503, %d outside the SPEC, "
                  "slowest %.3f s (kills at %.2f, %.2f s)\n",
                  KILLS, all.n, all.unavailable, all.bad, all.slowest, kill_at[0], kill_at[1]);
    fail_on_bad(&all, "SIGKILL");
    /* only the request a killed process had in hand fails, as nginx's 502
     * (shown as the SPEC's 503 by the error_page) */
    assert_true(all.unavailable <= KILLS);
    assert_true(all.n >= 40);

    /* the pool is back to its size, without the dead */
    pid_t now[16];
    int m = 0;
    for (int i = 0; i < 50 && (m = pool_pids(now, 16)) < n; i++)
        itest_sleep_s(0.1);
    assert_int_equal(m, n);
    for (int i = 0; i < m; i++)
        for (int k = 0; k < KILLS; k++)
            assert_true(now[i] != pool[k]);
    /* and every process answers: more requests than processes, all fine */
    for (int i = 0; i < 4 * n; i++) {
        itest_response r;
        itest_request("GET", "/game_lobby/exrps3/open_games", NULL, NULL, 0, &r);
        assert_int_equal(r.status, 200);
        itest_response_free(&r);
    }
    assert_consistent();
    load_free(&ld);
}

/* ---- 5. hostile HTTP input ---- */

typedef struct {
    const char *name, *method, *path;
    int raw;           /* sent byte for byte over a socket: curl would escape the path */
    size_t body_len;   /* a body of that many 'x' (0: none) */
    size_t header_len; /* an X-Padding header of that many bytes (0: none) */
    size_t auth_len;   /* an Authorization header of that many bytes (0: none) */
    long status;
    const char *message; /* the "error" text, or NULL for a success answer */
} bad_case;

#define NOT_FOUND_PREFIX "Game Lobby: Unable to join game - game not found."
#define BAD_NUMBER "Invalid request - page size and entry count must be integers."
#define BAD_PRODUCT "Game Lobby: Invalid product ID."
#define NO_PROFILE "Game Lobby: Unable to fetch user profile for user. Relog may be required."
#define UNKNOWN_CODE "Game Lobby: Unable to join game - unknown join code."

static const bad_case bad_cases[] = {
    {"body 64 KiB + 1", "POST", "/game_lobby/exrps/create_game", 0, 65537, 0, 0, 413,
     "Request body too large."},
    {"body of 1 MiB", "POST", "/game_lobby/exrps/create_game", 0, 1 << 20, 0, 0, 413,
     "Request body too large."},
    {"body of 64 KiB", "POST", "/game_lobby/exrps/create_game", 0, 65536, 0, 0, 401,
     "Game Lobby: Not authorized."},
    {"10 KiB header", "GET", "/game_lobby/exrps/open_games", 0, 0, 10240, 0, 200, NULL},
    {"20 KiB header (over nginx's 16k line)", "GET", "/game_lobby/exrps/open_games", 0, 0, 20480, 0,
     400, "Bad request."},
    {"10 KiB Authorization", "POST", "/game_lobby/exrps/create_game", 0, 0, 0, 10240, 401,
     NO_PROFILE},
    {"invalid UTF-8 product", "GET", "/game_lobby/ex\xff\xfe/open_games", 1, 0, 0, 0, 400,
     BAD_PRODUCT},
    {"invalid UTF-8 game id", "POST", "/game_lobby/exrps/join_game/\xc3\x28\xff", 1, 0, 0, 1, 404,
     NOT_FOUND_PREFIX},
    {"invalid UTF-8 count", "GET", "/game_lobby/exrps/open_games?count=\xff", 1, 0, 0, 0, 400,
     BAD_NUMBER},
    {"encoded invalid UTF-8 game id", "POST", "/game_lobby/exrps/join_game/%C3%28", 0, 0, 0, 1, 404,
     NOT_FOUND_PREFIX},
    {"control character in game id", "POST",
     "/game_lobby/exrps/join_game/ab\x01"
     "cd",
     1, 0, 0, 1, 400, "Bad request."},
    {"encoded NUL in game id", "POST", "/game_lobby/exrps/join_game/ab%00cd", 0, 0, 0, 1, 400,
     "Bad request."},
    {"encoded CR LF in game id", "POST", "/game_lobby/exrps/join_game/ab%0d%0aX-Evil:%201", 0, 0, 0,
     1, 404, NOT_FOUND_PREFIX},
    {"encoded control character in product", "GET", "/game_lobby/ex%01rps/open_games", 0, 0, 0, 0,
     400, BAD_PRODUCT},
    {"bad escape", "GET", "/game_lobby/ex%zzrps/open_games", 0, 0, 0, 0, 400, "Bad request."},
    {"encoded slash in game id", "POST", "/game_lobby/exrps/join_game/a%2Fb", 0, 0, 0, 1, 404,
     NOT_FOUND_PREFIX},
    {"encoded slash in product", "GET", "/game_lobby/exrps%2Fx/open_games", 0, 0, 0, 0, 400,
     BAD_PRODUCT},
    {"dot-dot game id", "POST", "/game_lobby/exrps/join_game/..", 0, 0, 0, 1, 404,
     NOT_FOUND_PREFIX},
    {"encoded dot-dot game id", "POST", "/game_lobby/exrps/join_game/%2e%2e", 0, 0, 0, 1, 404,
     NOT_FOUND_PREFIX},
    {"dot-dot product", "GET", "/game_lobby/../game_lobby/exrps/open_games", 0, 0, 0, 0, 404,
     "Not found."},
    {"dot-dot through the route", "GET", "/game_lobby/exrps/join_game/../../exrps/open_games", 0, 0,
     0, 0, 404, "Not found."},
    {"dot-dot above the root", "GET", "/game_lobby/../../health", 0, 0, 0, 0, 400, "Bad request."},
    {"empty product", "GET", "/game_lobby//open_games", 0, 0, 0, 0, 400, BAD_PRODUCT},
    /* an empty game id names no game: an unknown path, before any check of the caller */
    {"empty game id", "POST", "/game_lobby/exrps/join_game/", 0, 0, 0, 1, 404, "Not found."},
    {"empty game id, no token", "POST", "/game_lobby/exrps/join_game/", 0, 0, 0, 0, 404,
     "Not found."},
    {"empty game id, GET", "GET", "/game_lobby/exrps/join_game/", 0, 0, 0, 0, 404, "Not found."},
    /* the lobby features' routes (SPEC 12) take the same hostile input */
    {"quick_match body 64 KiB + 1", "POST", "/game_lobby/exrps/quick_match", 0, 65537, 0, 1, 413,
     "Request body too large."},
    {"quick_match, 10 KiB Authorization", "POST", "/game_lobby/exrps/quick_match", 0, 0, 0, 10240,
     401, NO_PROFILE},
    {"join_by_code invalid UTF-8", "POST", "/game_lobby/exrps/join_by_code/\xc3\x28\xff\xfe\x80\x81",
     1, 0, 0, 1, 404, UNKNOWN_CODE},
    {"join_by_code encoded NUL", "POST", "/game_lobby/exrps/join_by_code/AB%00CDE", 0, 0, 0, 1, 400,
     "Bad request."},
    {"join_by_code 7 letters", "POST", "/game_lobby/exrps/join_by_code/ABCDEFG", 0, 0, 0, 1, 404,
     UNKNOWN_CODE},
    {"join_by_code letters outside the alphabet", "POST", "/game_lobby/exrps/join_by_code/ABCDE0",
     0, 0, 0, 1, 404, UNKNOWN_CODE},
    {"join_by_code dot-dot", "POST", "/game_lobby/exrps/join_by_code/%2e%2e", 0, 0, 0, 1, 404,
     UNKNOWN_CODE},
    {"join_by_code body 64 KiB + 1", "POST", "/game_lobby/exrps/join_by_code/ABCDEF", 0, 65537, 0,
     1, 413, "Request body too large."},
    {"leave_game invalid UTF-8", "POST", "/game_lobby/exrps/leave_game/\xc3\x28\xff", 1, 0, 0, 1,
     404, "Game Lobby: Unable to leave game - game not found."},
    {"leave_game encoded CR LF", "POST", "/game_lobby/exrps/leave_game/ab%0d%0aX-Evil:%201", 0, 0, 0,
     1, 404, "Game Lobby: Unable to leave game - game not found."},
    {"leave_game, no token", "POST", "/game_lobby/exrps/leave_game/abcd", 0, 0, 0, 0, 401,
     "Game Lobby: Not authorized."},
    {"1000-digit count", "GET", NULL, 0, 0, 0, 0, 400, BAD_NUMBER},
    {"1000-digit page", "GET", NULL, 0, 0, 0, 0, 400, BAD_NUMBER},
};

/* A valid JSON text in valid UTF-8? */
static int strict_json(const char *body, size_t len, json_object **out)
{
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *j = json_tokener_parse_ex(tok, body, (int)len);
    int ok = j != NULL && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    if (!ok) {
        json_object_put(j);
        j = NULL;
    }
    *out = j;
    return ok;
}

/* One request written byte for byte to nginx's socket (no body), the answer
 * read to EOF and split like itest_request's. */
static void raw_request(const char *method, const char *path, const char *const *headers,
                        itest_response *out)
{
    char req[8192];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n", method, path);
    for (size_t i = 0; headers[i] != NULL; i++)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "%s\r\n", headers[i]);
    n += snprintf(req + n, sizeof(req) - (size_t)n,
                  "Content-Length: 0\r\nConnection: close\r\n\r\n");
    assert_true(n > 0 && (size_t)n < sizeof(req));
    itest_raw(req, (size_t)n, out);
}

static void run_bad_case(const bad_case *c, char *digits)
{
    mm_arena_reset(arena);
    const char *path = c->path;
    if (path == NULL)
        path = mm_arena_printf(arena, "/game_lobby/exrps/open_games?%s=%s",
                               strstr(c->name, "count") ? "count" : "page", digits);
    const char *h[3] = {NULL, NULL, NULL};
    int nh = 0;
    if (c->header_len > 0) {
        char *v = mm_arena_alloc(arena, c->header_len + 1);
        memset(v, 'p', c->header_len);
        v[c->header_len] = '\0';
        h[nh++] = mm_arena_printf(arena, "X-Padding: %s", v);
    }
    if (c->auth_len == 1) {
        h[nh++] = itest_auth(arena, "u1", "u1");
    } else if (c->auth_len > 0) {
        char *v = mm_arena_alloc(arena, c->auth_len + 1);
        memset(v, 'a', c->auth_len);
        v[c->auth_len] = '\0';
        h[nh++] = mm_arena_printf(arena, "Authorization: Bearer %s", v);
    }
    char *body = NULL;
    if (c->body_len > 0) {
        body = malloc(c->body_len);
        assert_non_null(body);
        memset(body, 'x', c->body_len);
    }
    itest_response r;
    if (c->raw)
        raw_request(c->method, path, h, &r);
    else
        itest_request(c->method, path, h, body, c->body_len, &r);
    free(body);
    json_object *j = NULL;
    if (r.status != c->status)
        fail_msg("%s: status %ld, wanted %ld: %.200s", c->name, r.status, c->status, r.body);
    if (!strict_json(r.body, r.body_len, &j))
        fail_msg("%s: the answer is not valid JSON in UTF-8: %.200s", c->name, r.body);
    char ct[128];
    assert_int_equal(itest_header(&r, "Content-Type", ct, sizeof(ct)), 0);
    assert_string_equal(ct, "application/json");
    if (c->message != NULL) {
        json_object *e;
        if (!json_object_object_get_ex(j, "error", &e) ||
            strncmp(json_object_get_string(e), c->message, strlen(c->message)) != 0)
            fail_msg("%s: wanted error \"%s\", got %.200s", c->name, c->message, r.body);
    }
    json_object_put(j);
    itest_response_free(&r);
}

static void hostile_input_gets_clear_4xx_and_no_memory_growth(void **state)
{
    char digits[1001];
    memset(digits, '7', 1000);
    digits[1000] = '\0';
    const size_t ncases = sizeof(bad_cases) / sizeof(bad_cases[0]);
    pid_t pool[16];
    int n = pool_pids(pool, 16);
    assert_true(n >= 1);
    /* a warm-up round so every process has its buffers, then the measure */
    for (int round = 0; round < 2 * n; round++)
        for (size_t i = 0; i < ncases; i++)
            run_bad_case(&bad_cases[i], digits);
    long before[16];
    for (int i = 0; i < n; i++)
        before[i] = rss_kb(pool[i]);
    enum { ROUNDS = 300 };
    double t0 = itest_now_s();
    for (int round = 0; round < ROUNDS; round++)
        for (size_t i = 0; i < ncases; i++)
            run_bad_case(&bad_cases[i], digits);
    double secs = itest_now_s() - t0;
    pid_t still[16];
    assert_true(same_pool(pool, n, still, pool_pids(still, 16)));
    long worst = 0;
    for (int i = 0; i < n; i++) {
        long grew = rss_kb(pool[i]) - before[i];
        print_message("pid %ld RSS %ld kB -> %ld kB\n", (long)pool[i], before[i], before[i] + grew);
        if (grew > worst)
            worst = grew;
    }
    print_message("%d hostile requests in %.1f s; worst RSS growth %ld kB\n",
                  (int)(ROUNDS * ncases), secs, worst);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's quarantine holds freed memory, so RSS grows without a leak;
     * LeakSanitizer reports real leaks at exit, and with_stack.sh fails on it */
    (void)worst;
#else
    /* a per-request leak of even 64 bytes would show as > 100 kB here */
    assert_true(worst < 256);
#endif
    assert_int_equal(count_games("exrps"), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, fresh)
    const struct CMUnitTest tests[] = {
        T(redis_stopped_under_load_is_503_then_recovers),
        T(redis_frozen_under_load_is_503_within_the_timeout),
        T(idempotent_retry_after_a_frozen_redis_runs),
        T(create_with_game_server_down_is_502_and_stores_nothing),
        T(create_timeout_and_bad_answers_store_nothing),
        T(create_stored_nowhere_is_removed_from_the_game_server),
        T(join_with_game_server_down_gives_the_seat_back),
        T(join_failures_leave_no_seat_without_a_server_join),
        T(join_answered_2xx_non_json_is_a_join),
        T(killed_fcgi_process_costs_at_most_its_request_and_is_replaced),
        T(hostile_input_gets_clear_4xx_and_no_memory_growth),
    };
    return cmocka_run_group_tests_name("integration: fault drills", tests, setup, teardown);
}
