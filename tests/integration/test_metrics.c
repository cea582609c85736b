/* Metrics under load: requests sent concurrently through nginx to the whole
 * pool show up in GET /metrics exactly (summed over the processes), the
 * histogram counts match, games and game-server calls are counted, Redis
 * errors are counted; a worker serves its own metrics, which follow the
 * events added to the stream. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"
#include "jwt.h"
#include "store.h"

static redisContext *raw;
static mm_rconn *conn;
static mm_store *store;
static mm_arena *arena;

static int setup(void **state)
{
    (void)state;
    return itest_fixture_open(&raw, &conn, &store, &arena);
}

static int teardown(void **state)
{
    (void)state;
    itest_fixture_close(raw, conn, store, arena);
    return 0;
}

static const char *auth_for(const char *user_id)
{
    return itest_auth(arena, user_id, user_id);
}

/* ---- reading the exposition ---- */

static char *scrape(void)
{
    itest_response r;
    itest_request("GET", "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    char ct[128];
    assert_int_equal(itest_header(&r, "Content-Type", ct, sizeof(ct)), 0);
    assert_non_null(strstr(ct, "text/plain"));
    char *text = strdup(r.body);
    itest_response_free(&r);
    return text;
}

/* The value of the sample named exactly series ("name{labels}"); 0 when the
 * series is absent (counters not yet touched are not shown). */
static uint64_t value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; (p = strstr(p, series)) != NULL; p += n)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtoull(p + n + 1, NULL, 10);
    return 0;
}

static uint64_t delta(const char *before, const char *after, const char *series)
{
    return value(after, series) - value(before, series);
}

/* ---- concurrent clients ---- */

typedef struct {
    const char *method, *path;
    int auth;
    int expect;
    int copies;
} kind;

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* Sends every copy of every kind at once (16 connections) and checks each
 * answer's status. */
static void send_all(const kind *kinds, size_t nkinds)
{
    enum { MAX = 256 };
    CURL *easy[MAX];
    struct curl_slist *hdr[MAX];
    long expect[MAX];
    int n = 0;
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 16L);
    for (size_t k = 0; k < nkinds; k++)
        for (int c = 0; c < kinds[k].copies; c++) {
            assert_true(n < MAX);
            char url[256], user[32];
            snprintf(url, sizeof(url), "http://localhost%s", kinds[k].path);
            snprintf(user, sizeof(user), "m%d", n);
            hdr[n] = kinds[k].auth ? curl_slist_append(NULL, auth_for(user)) : NULL;
            easy[n] = curl_easy_init();
            curl_easy_setopt(easy[n], CURLOPT_UNIX_SOCKET_PATH, itest_env("MM_TEST_NGINX_SOCK"));
            curl_easy_setopt(easy[n], CURLOPT_URL, url);
            curl_easy_setopt(easy[n], CURLOPT_CUSTOMREQUEST, kinds[k].method);
            if (strcmp(kinds[k].method, "POST") == 0)
                curl_easy_setopt(easy[n], CURLOPT_POSTFIELDS, "{}");
            curl_easy_setopt(easy[n], CURLOPT_HTTPHEADER, hdr[n]);
            curl_easy_setopt(easy[n], CURLOPT_WRITEFUNCTION, discard);
            curl_easy_setopt(easy[n], CURLOPT_TIMEOUT, 20L);
            curl_multi_add_handle(multi, easy[n]);
            expect[n++] = kinds[k].expect;
        }
    int running = 1;
    while (running) {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    for (int i = 0; i < n; i++) {
        long status = 0;
        curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &status);
        if (status != expect[i])
            fail_msg("request %d: status %ld, wanted %ld", i, status, expect[i]);
        curl_multi_remove_handle(multi, easy[i]);
        curl_easy_cleanup(easy[i]);
        curl_slist_free_all(hdr[i]);
    }
    curl_multi_cleanup(multi);
}

/* Processes that logged a request since the log had off bytes. */
static int pids_serving(long off)
{
    char path[512], line[2048];
    snprintf(path, sizeof(path), "%s/fcgi.log", itest_env("MM_TEST_RUN_DIR"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, off, SEEK_SET);
    long pids[16];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *p = strstr(line, " pid=");
        if (p == NULL || strstr(line, "msg=request") == NULL)
            continue;
        long pid = strtol(p + 5, NULL, 10);
        int seen = 0;
        for (int i = 0; i < n; i++)
            seen |= pids[i] == pid;
        if (!seen && n < 16)
            pids[n++] = pid;
    }
    fclose(f);
    return n;
}

static long log_size(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/fcgi.log", itest_env("MM_TEST_RUN_DIR"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

#define REQ(ep, prod, code)                                                                        \
    "matchmaker_requests_total{endpoint=\"" ep "\",product=\"" prod "\",code=\"" code "\"}"
#define HCOUNT(ep) "matchmaker_request_duration_seconds_count{endpoint=\"" ep "\"}"

static void pool_wide_counts_are_exact(void **state)
{
    (void)state;
    itest_gs_reset();
    long off = log_size();
    char *before = scrape();
    static const kind kinds[] = {
        {"GET", "/health", 0, 200, 30},
        {"GET", "/game_lobby/exrps/open_games?count=5", 0, 200, 25},
        {"GET", "/game_lobby/nope/open_games", 0, 400, 7},
        {"POST", "/game_lobby/exrps/create_game", 1, 200, 12},
        {"POST", "/game_lobby/exrps/create_game", 0, 401, 3},
        {"GET", "/game_lobby/exrps/nothing_here", 0, 404, 6},
        {"OPTIONS", "/game_lobby/exrps/create_game", 0, 204, 4},
    };
    send_all(kinds, sizeof(kinds) / sizeof(kinds[0]));
    char *after = scrape();

    assert_int_equal(delta(before, after, REQ("health", "none", "2xx")), 30);
    assert_int_equal(delta(before, after, REQ("open_games", "exrps", "2xx")), 25);
    assert_int_equal(delta(before, after, REQ("open_games", "unknown", "4xx")), 7);
    assert_int_equal(delta(before, after, REQ("create_game", "exrps", "2xx")), 12);
    assert_int_equal(delta(before, after, REQ("create_game", "exrps", "4xx")), 3);
    assert_int_equal(delta(before, after, REQ("other", "none", "4xx")), 6);
    assert_int_equal(delta(before, after, REQ("preflight", "none", "2xx")), 4);
    /* the first scrape is counted once it has been answered */
    assert_int_equal(delta(before, after, REQ("metrics", "none", "2xx")), 1);

    assert_int_equal(delta(before, after, HCOUNT("health")), 30);
    assert_int_equal(delta(before, after, HCOUNT("open_games")), 32);
    assert_int_equal(delta(before, after, HCOUNT("create_game")), 15);
    assert_int_equal(delta(before, after, HCOUNT("other")), 6);
    assert_int_equal(delta(before, after,
                           "matchmaker_request_duration_seconds_bucket{endpoint=\"health\","
                           "le=\"+Inf\"}"),
                     30);
    assert_int_equal(delta(before, after, "matchmaker_games_created_total{product=\"exrps\"}"), 12);
    assert_int_equal(delta(before, after,
                           "matchmaker_game_server_calls_total{product=\"exrps\","
                           "operation=\"create_game\",outcome=\"ok\"}"),
                     12);
    assert_int_equal(value(after, "matchmaker_metrics_shared"), 1);
    /* the counts above were summed over more than one process */
    assert_true(pids_serving(off) >= 2);
    free(before);
    free(after);
}

static void joins_and_game_server_refusals_are_counted(void **state)
{
    (void)state;
    itest_gs_reset();
    char *before = scrape();
    char *game_id = strdup(itest_create_game(arena, "exrps", "c1"));
    mm_stored s;
    assert_int_equal(
        mm_store_advance(store, arena, "exrps", game_id, MM_STATE_CREATOR_JOINED, NULL, &s),
        MM_STORE_OK);
    itest_response r;
    char path[256];
    snprintf(path, sizeof(path), "/game_lobby/exrps/join_game/%s", game_id);
    itest_gs_fail("join_game", "status", "\"status\": 500");
    itest_request("POST", path, (const char *[]){auth_for("j1"), NULL}, "{}", 2, &r);
    assert_int_equal(r.status, 400);
    itest_response_free(&r);
    itest_gs_reset();
    itest_request("POST", path, (const char *[]){auth_for("j2"), NULL}, "{}", 2, &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
    char *after = scrape();
    assert_int_equal(delta(before, after, "matchmaker_games_joined_total{product=\"exrps\"}"), 1);
    assert_int_equal(delta(before, after,
                           "matchmaker_game_server_calls_total{product=\"exrps\","
                           "operation=\"join_game\",outcome=\"refused\"}"),
                     1);
    assert_int_equal(delta(before, after,
                           "matchmaker_game_server_calls_total{product=\"exrps\","
                           "operation=\"join_game\",outcome=\"ok\"}"),
                     1);
    assert_int_equal(delta(before, after, REQ("join_game", "exrps", "4xx")), 1);
    assert_int_equal(delta(before, after, REQ("join_game", "exrps", "2xx")), 1);
    free(game_id);
    free(before);
    free(after);
}

static void redis_errors_are_counted(void **state)
{
    (void)state;
    char *before = scrape();
    itest_stack("redis-stop");
    for (int i = 0; i < 4; i++) {
        itest_response r;
        itest_request("GET", "/game_lobby/exrps/open_games", NULL, NULL, 0, &r);
        assert_int_equal(r.status, 503);
        itest_response_free(&r);
    }
    itest_stack("redis-start");
    redisFree(raw);
    raw = itest_redis(0);
    char *after = scrape();
    assert_int_equal(delta(before, after, REQ("open_games", "exrps", "5xx")), 4);
    assert_true(delta(before, after, "matchmaker_redis_errors_total") >= 4);
    free(before);
    free(after);
}

/* ---- the worker's metrics ---- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

typedef struct {
    char *data;
    size_t len;
} buf;

static size_t collect(char *p, size_t s, size_t n, void *u)
{
    buf *b = u;
    char *d = realloc(b->data, b->len + s * n + 1);
    assert_non_null(d);
    memcpy(d + b->len, p, s * n);
    b->data = d;
    b->len += s * n;
    d[b->len] = '\0';
    return s * n;
}

/* GET url; the body, or NULL when nothing answered. */
static char *http_get(const char *url, long *status)
{
    buf b = {0};
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    CURLcode rc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        free(b.data);
        return NULL;
    }
    return b.data ? b.data : strdup("");
}

#define EV(t, o) "matchmaker_worker_events_total{type=\"" t "\",outcome=\"" o "\"}"

/* Clients that open a connection to the worker's metrics port and send their request one
 * byte every 0.8 s hold only their own connections: scrapes meanwhile are answered at once. */
static void slow_clients_do_not_hold_up_scrapes(int port, const char *url)
{
    enum { SLOW = 16 };
    static const char head[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    int fds[SLOW];
    for (int i = 0; i < SLOW; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
    }
    double slowest = 0;
    for (size_t k = 0; k < 4; k++) {
        for (int i = 0; i < SLOW; i++)
            assert_int_equal(send(fds[i], head + k, 1, MSG_NOSIGNAL), 1);
        for (int j = 0; j < 4; j++) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            long status;
            char *text = http_get(url, &status);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            assert_non_null(text);
            assert_int_equal(status, 200);
            free(text);
            double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
            if (took > slowest)
                slowest = took;
        }
        usleep(800000);
    }
    print_message("16 slow clients open: 16 scrapes, slowest %.3f s\n", slowest);
    assert_true(slowest < 0.5);
    for (int i = 0; i < SLOW; i++)
        close(fds[i]);
}

static void worker_serves_metrics_that_follow_the_stream(void **state)
{
    (void)state;
    int port = free_port();
    char config[512], logpath[512], bin[512], url[128];
    snprintf(config, sizeof(config), "%s/metrics-worker.json", itest_env("MM_TEST_RUN_DIR"));
    json_object *cfg = json_object_from_file(itest_env("MM_TEST_CONFIG"));
    assert_non_null(cfg);
    json_object_object_add(cfg, "worker_metrics_port", json_object_new_int(port));
    json_object_object_add(cfg, "event_group", json_object_new_string("metrics-test"));
    json_object_object_add(cfg, "curation_interval_ms", json_object_new_int(100));
    assert_int_equal(json_object_to_file(config, cfg), 0);
    json_object_put(cfg);
    snprintf(bin, sizeof(bin), "%s/fcgi_app/matchmaker-worker", itest_env("MM_TEST_BUILD_DIR"));
    snprintf(logpath, sizeof(logpath), "%s/metrics-worker.log", itest_env("MM_TEST_RUN_DIR"));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);

    redisContext *ev = itest_redis(1);
    freeReplyObject(redisCommand(ev, "DEL game_event_stream"));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(bin, bin, "-c", config, "-l", logpath, "-n", "metrics-w1", (char *)NULL);
        _exit(127);
    }
    long status;
    char *text = NULL;
    for (int i = 0; i < 100 && text == NULL; i++) {
        usleep(50000);
        text = http_get(url, &status);
    }
    assert_non_null(text);
    assert_int_equal(status, 200);
    free(text);
    slow_clients_do_not_hold_up_scrapes(port, url);

    freeReplyObject(redisCommand(ev, "XADD game_event_stream * type state_change"));
    freeReplyObject(redisCommand(ev, "XADD game_event_stream * product_id exrps game_id nosuch "
                                     "type state_change new_state in_progress"));
    freeReplyObject(redisCommand(ev, "XADD game_event_stream * product_id exrps game_id g1 "
                                     "type gameplay"));
    int done = 0;
    for (int i = 0; i < 100 && !done; i++) {
        usleep(50000);
        text = http_get(url, &status);
        assert_non_null(text);
        done = value(text, EV("unknown", "malformed")) == 1 &&
               value(text, EV("state_change", "ignored")) == 1 &&
               value(text, EV("other", "ignored")) == 1 &&
               value(text, "matchmaker_worker_curation_passes_total") > 0;
        if (!done)
            free(text);
    }
    if (!done)
        fail_msg("the worker's metrics did not follow the stream");
    assert_int_equal(value(text, EV("state_change", "applied")), 0);
    /* -n named the consumer */
    redisReply *c = redisCommand(ev, "XINFO CONSUMERS game_event_stream metrics-test");
    const char *consumer = NULL; /* the only one's name */
    if (c != NULL && c->type == REDIS_REPLY_ARRAY && c->elements == 1 &&
        c->element[0]->elements >= 2)
        consumer = c->element[0]->element[1]->str;
    assert_non_null(consumer);
    assert_string_equal(consumer, "metrics-w1");
    freeReplyObject(c);
    assert_non_null(strstr(text, "\nmatchmaker_worker_stream_pending "));
    free(text);
    text = http_get(url, &status);
    assert_int_equal(value(text, "matchmaker_worker_stream_pending"), 0);
    free(text);
    /* game-server cleanup calls, by outcome (SPEC 10): a job whose call fails is retried
     * later, one that failed its last attempt (the fifth) is dropped and logged, one whose
     * call succeeds is done */
    /* the stack's own worker would take the jobs too: this test's worker alone serves */
    itest_stop_stack_worker();
    usleep(300000);
    redisContext *db0 = itest_redis(0);
    const char *gs = itest_env("MM_TEST_GS_URL");
    itest_gs_fail("remove_game", "close", NULL);
    freeReplyObject(redisCommand(db0,
                                 "ZADD __cleanup:exrps 1 {\"op\":\"remove_game\",\"url\":\"%s\","
                                 "\"game_id\":\"c-first\",\"attempt\":0} "
                                 "1 {\"op\":\"remove_game\",\"url\":\"%s\","
                                 "\"game_id\":\"c-last\",\"attempt\":4}",
                                 gs, gs));
    done = 0;
    for (int i = 0; i < 100 && !done; i++) {
        usleep(50000);
        text = http_get(url, &status);
        done = value(text, "matchmaker_worker_cleanup_calls_total{outcome=\"retried\"}") == 1 &&
               value(text, "matchmaker_worker_cleanup_calls_total{outcome=\"dropped\"}") == 1;
        free(text);
    }
    if (!done)
        fail_msg("the cleanup calls were not counted as retried and dropped");
    /* the retried one waits its back-off (1 s) in the queue, as its second attempt */
    redisReply *q = redisCommand(db0, "ZRANGE __cleanup:exrps 0 -1");
    assert_true(q->type == REDIS_REPLY_ARRAY && q->elements == 1);
    assert_non_null(strstr(q->element[0]->str, "\"c-first\""));
    assert_non_null(strstr(q->element[0]->str, "\"attempt\":1"));
    freeReplyObject(q);
    itest_gs_reset();
    done = 0;
    for (int i = 0; i < 100 && !done; i++) {
        usleep(50000);
        text = http_get(url, &status);
        done = value(text, "matchmaker_worker_cleanup_calls_total{outcome=\"done\"}") == 1;
        free(text);
    }
    if (!done)
        fail_msg("the retried cleanup call was not made again after its back-off");
    q = redisCommand(db0, "ZCARD __cleanup:exrps");
    assert_int_equal(q->integer, 0);
    freeReplyObject(q);
    redisFree(db0);
    assert_int_equal(itest_gs_calls("remove_game", "\"c-first\""), 1); /* since the reset */
    char line[1024];
    snprintf(logpath, sizeof(logpath), "%s/metrics-worker.log", itest_env("MM_TEST_RUN_DIR"));
    FILE *lf = fopen(logpath, "r");
    bool given_up = false;
    while (lf != NULL && fgets(line, sizeof(line), lf) != NULL)
        given_up |= strstr(line, "cleanup call given up") != NULL && strstr(line, "c-last");
    if (lf != NULL)
        fclose(lf);
    assert_true(given_up);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/other", port);
    free(http_get(url, &status));
    assert_int_equal(status, 404);

    kill(pid, SIGTERM);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    redisFree(ev);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_wide_counts_are_exact),
        cmocka_unit_test(joins_and_game_server_refusals_are_counted),
        cmocka_unit_test(redis_errors_are_counted),
        cmocka_unit_test(worker_serves_metrics_that_follow_the_stream),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
