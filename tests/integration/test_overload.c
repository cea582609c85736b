/* Overload drills (SPEC 11, issue 16), bounded in time, through the test stack on this
 * machine only:
 *   slow clients      2,000 connections held open at once (1,500 that never finish their
 *                     header, 500 uploads announcing a large body and sending a byte every
 *                     2 s) while a well-behaved client reads /health and open_games;
 *   hanging game server  one product's game server hangs and 40 clients create games on it,
 *                     while another product is read and created on;
 *   crash loop        every process of both pools killed over and over, until multiwatch
 *                     gives up; the pools are full again a few seconds later;
 *   Redis full        Redis refuses writes (maxmemory reached): what the API answers, and
 *                     that nothing is half-written.
 * The figures go to the test log (and docs/RELIABILITY.md). exslow (MM_GS2_PRODUCT) is the
 * product on the second test game server; exrps and exrps3 are on the first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define UNAVAILABLE "Service temporarily unavailable."

static mm_arena *arena;

static int setup(void **state)
{
    (void)state;
    arena = mm_arena_new(0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mm_arena_free(arena);
    return 0;
}

/* ---- latencies ---- */

typedef struct {
    double *v;
    int n, cap;
} samples;

static void sample_add(samples *s, double seconds)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->v = realloc(s->v, (size_t)s->cap * sizeof(double));
        assert_non_null(s->v);
    }
    s->v[s->n++] = seconds;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0..1) in milliseconds, nearest rank. */
static double quantile_ms(samples *s, double q)
{
    if (s->n == 0 || s->v == NULL) {
        fail_msg("no latency measured");
        return 0;
    }
    qsort(s->v, (size_t)s->n, sizeof(double), by_value);
    int k = (int)(q * s->n + 0.999999) - 1;
    if (k < 0)
        k = 0;
    if (k >= s->n)
        k = s->n - 1;
    return s->v[k] * 1e3;
}

/* ---- HTTP from threads: one curl handle each, over nginx's socket ---- */

typedef struct {
    long status;
    double seconds;
    char body[256];
} answer;

static size_t keep_body(char *p, size_t size, size_t n, void *u)
{
    answer *a = u;
    size_t have = strlen(a->body), add = size * n;
    if (have + add < sizeof(a->body)) {
        memcpy(a->body + have, p, add);
        a->body[have + add] = '\0';
    }
    return size * n;
}

static void http(CURL *c, const char *method, const char *path, const char *auth, answer *a)
{
    char url[256];
    snprintf(url, sizeof(url), "http://localhost%s", path);
    memset(a, 0, sizeof(*a));
    struct curl_slist *h = auth != NULL ? curl_slist_append(NULL, auth) : NULL;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, getenv("MM_TEST_NGINX_SOCK"));
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    double t0 = itest_now_s();
    CURLcode rc = curl_easy_perform(c);
    a->seconds = itest_now_s() - t0;
    curl_slist_free_all(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    else
        snprintf(a->body, sizeof(a->body), "transport: %s", curl_easy_strerror(rc));
}

/* GET path one request after the other for seconds before a drill loads the stack: what
 * this machine gives without the drill, printed beside the drill's figures. */
static void baseline(const char *path, double seconds, samples *out)
{
    CURL *curl = curl_easy_init();
    double end = itest_now_s() + seconds;
    while (itest_now_s() < end) {
        answer ans;
        http(curl, "GET", path, NULL, &ans);
        assert_int_equal(ans.status, 200);
        sample_add(out, ans.seconds);
        itest_sleep_s(0.01);
    }
    curl_easy_cleanup(curl);
}

/* ---- 1. slow clients ---- */

#define SLOW_HEADERS 1500
#define SLOW_BODIES 500
/* the uploads come from 25 addresses, 20 each: under the per-address limits (64 requests in
 * progress, a burst of 40), so nginx holds every one of them */
#define SLOW_ADDRESSES 25
#define SLOW_TOTAL (SLOW_HEADERS + SLOW_BODIES)
#define TRICKLE_S 2.0 /* a byte on each slow connection this often */

/* The soft limit of open files raised to want when the hard one allows; false if it
 * cannot be. */
static bool enough_descriptors(rlim_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    if (rl.rlim_cur >= want)
        return true;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        return false;
    rl.rlim_cur = want;
    return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* The smallest "Max open files" of the stack's nginx workers. */
static long nginx_worker_files(void)
{
    char cmd[1024], line[256];
    snprintf(cmd, sizeof(cmd), "pgrep -P \"$(cat '%s/nginx.pid')\"", itest_env("MM_TEST_RUN_DIR"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    long least = -1, pid;
    while (fscanf(p, "%ld", &pid) == 1) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%ld/limits", pid);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        long soft;
        while (fgets(line, sizeof(line), f) != NULL)
            if (sscanf(line, "Max open files %ld", &soft) == 1 && (least < 0 || soft < least))
                least = soft;
        fclose(f);
    }
    pclose(p);
    return least;
}

typedef struct {
    int fds[SLOW_TOTAL];
    volatile int stop;
    int trickled; /* bytes sent on the slow connections after they opened */
} slow_set;

/* Each slow connection gets its byte every TRICKLE_S, the connections taken in turn all
 * along the period (not all at once), as unsynchronised slow clients would send. */
static void *trickle(void *arg)
{
    slow_set *s = arg;
    enum { BATCHES = 100 };
    const int per_batch = (SLOW_TOTAL + BATCHES - 1) / BATCHES;
    int next = 0;
    while (!s->stop) {
        itest_sleep_s(TRICKLE_S / BATCHES);
        for (int k = 0; k < per_batch && !s->stop; k++, next = (next + 1) % SLOW_TOTAL) {
            /* one more byte of header (a header value that never ends) or of body */
            if (s->fds[next] >= 0 && send(s->fds[next], next < SLOW_HEADERS ? "a" : "x", 1,
                                          MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
                s->trickled++;
        }
    }
    return NULL;
}

static int open_slow(int i)
{
    int fd = itest_nginx_connect();
    char req[512];
    int n;
    if (i < SLOW_HEADERS)
        n = snprintf(req, sizeof(req),
                     "GET /game_lobby/exrps/open_games HTTP/1.1\r\nHost: localhost\r\n"
                     "X-Slow-%d: ",
                     i);
    else
        n = snprintf(req, sizeof(req),
                     "POST /game_lobby/exrps/create_game HTTP/1.1\r\nHost: localhost\r\n"
                     "X-Forwarded-For: 203.0.113.%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: 60000\r\n\r\n{",
                     1 + i % SLOW_ADDRESSES);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    return fd;
}

/* Waits (up to limit s) until a non-blocking connect to nginx's socket succeeds: the
 * backlog has room again. */
static void accepted_all(double limit)
{
    double end = itest_now_s() + limit;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(fd >= 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", itest_env("MM_TEST_NGINX_SOCK"));
        int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
        if (rc == 0)
            return;
        if (itest_now_s() > end)
            fail_msg("nginx has not taken the slow connections in %.1f s", limit);
        itest_sleep_s(0.01);
    }
}

/* Slow connections nginx has not closed nor answered. */
static int still_waiting(const slow_set *s)
{
    int n = 0;
    for (int i = 0; i < SLOW_TOTAL; i++) {
        struct pollfd p = {.fd = s->fds[i], .events = POLLIN};
        n += poll(&p, 1, 0) == 0;
    }
    return n;
}

static void slow_clients_do_not_slow_the_others(void **state)
{
    (void)state;
    if (!enough_descriptors(SLOW_TOTAL + 512)) {
        print_message("SKIP: the open-file limit (ulimit -n) cannot be raised to %d\n",
                      SLOW_TOTAL + 512);
        skip();
    }
    long nginx_files = nginx_worker_files();
    print_message("slow clients: open files allowed: this test %d+, each nginx worker %ld\n",
                  SLOW_TOTAL + 512, nginx_files);
    if (nginx_files >= 0 && nginx_files < SLOW_TOTAL + 64)
        fail_msg("nginx workers may open %ld files: too few for %d connections", nginx_files,
                 SLOW_TOTAL);

    samples quiet = {0};
    baseline("/game_lobby/exrps/open_games?count=5", 2.0, &quiet);
    print_message("slow clients: before them, open_games %d requests p50 %.2f ms p99 %.2f ms\n",
                  quiet.n, quantile_ms(&quiet, 0.5), quantile_ms(&quiet, 0.99));
    free(quiet.v);

    slow_set *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    double t0 = itest_now_s();
    for (int i = 0; i < SLOW_TOTAL; i++)
        s->fds[i] = open_slow(i);
    double opened = itest_now_s() - t0;
    /* The connections were opened faster than nginx accepts them: the last ones may still
     * wait in the unix socket's backlog, where a client's non-blocking connect is refused
     * (over TCP, as in production, it would be retried). The measure starts once nginx has
     * taken them all, i.e. once a connection goes through at once again. */
    accepted_all(2.0);
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, trickle, s), 0);

    /* a well-behaved client, one request after the other, for 6 s */
    samples health = {0}, lobby = {0};
    int bad = 0;
    double end = itest_now_s() + 6.0;
    for (int i = 0; itest_now_s() < end; i++) {
        itest_response r;
        const char *path = i % 2 ? "/health" : "/game_lobby/exrps/open_games?count=5";
        itest_request("GET", path, NULL, NULL, 0, &r);
        bad += r.status != 200;
        sample_add(i % 2 ? &health : &lobby, r.seconds);
        itest_response_free(&r);
        itest_sleep_s(0.005);
    }
    int waiting = still_waiting(s);
    s->stop = 1;
    pthread_join(tid, NULL);
    for (int i = 0; i < SLOW_TOTAL; i++)
        close(s->fds[i]);

    double h50 = quantile_ms(&health, 0.5), h99 = quantile_ms(&health, 0.99),
           hmax = quantile_ms(&health, 1);
    double l50 = quantile_ms(&lobby, 0.5), l99 = quantile_ms(&lobby, 0.99),
           lmax = quantile_ms(&lobby, 1);
    print_message("slow clients: %d connections opened in %.2f s (%d never-ending headers, %d "
                  "uploads of a byte per %.0f s from %d addresses), %d still held open by nginx "
                  "after 6 s, %d bytes trickled\n",
                  SLOW_TOTAL, opened, SLOW_HEADERS, SLOW_BODIES, TRICKLE_S, SLOW_ADDRESSES, waiting,
                  s->trickled);
    print_message("slow clients: /health %d requests p50 %.2f ms p99 %.2f ms max %.2f ms; "
                  "open_games %d requests p50 %.2f ms p99 %.2f ms max %.2f ms; %d not 200\n",
                  health.n, h50, h99, hmax, lobby.n, l50, l99, lmax, bad);
    assert_int_equal(bad, 0);
    /* the load was really there all along */
    assert_true(waiting >= SLOW_TOTAL - 10);
    assert_true(h99 < 100.0);
    assert_true(l99 < 100.0);
    free(health.v);
    free(lobby.v);
    free(s);
}

/* ---- 2. one product's game server hanging ---- */

#define HANGING_CLIENTS 40
#define DRILL_S 6.0
#define RETRY_S 0.25 /* a client tries again this long after an answer */

typedef struct {
    double end, slowest;
    int index, requests, status_502, other;
    char first_other[160];
} creator;

static void *create_on_hanging(void *arg)
{
    creator *c = arg;
    CURL *curl = curl_easy_init();
    mm_arena *a = mm_arena_new(0);
    char user[32];
    snprintf(user, sizeof(user), "hang%d", c->index);
    const char *auth = itest_auth(a, user, user);
    while (itest_now_s() < c->end) {
        answer ans;
        http(curl, "POST", "/game_lobby/exslow/create_game", auth, &ans);
        c->requests++;
        if (ans.status == 502)
            c->status_502++;
        else if (c->other++ == 0)
            snprintf(c->first_other, sizeof(c->first_other), "%ld %.120s", ans.status, ans.body);
        if (ans.seconds > c->slowest)
            c->slowest = ans.seconds;
        itest_sleep_s(RETRY_S);
    }
    mm_arena_free(a);
    curl_easy_cleanup(curl);
    return NULL;
}

typedef struct {
    double end;
    samples latency;
    int requests, failed;
    char first_failed[160];
} healthy_creator;

static void *create_on_healthy(void *arg)
{
    healthy_creator *h = arg;
    CURL *curl = curl_easy_init();
    mm_arena *a = mm_arena_new(0);
    while (itest_now_s() < h->end) {
        /* a user of its own for each game: the per-user limits (SPEC 11) are not measured
         * here */
        char user[32];
        snprintf(user, sizeof(user), "steady%d", h->requests);
        mm_arena_reset(a);
        const char *auth = itest_auth(a, user, user);
        answer ans;
        http(curl, "POST", "/game_lobby/exrps/create_game", auth, &ans);
        h->requests++;
        sample_add(&h->latency, ans.seconds);
        if (ans.status != 200 && h->failed++ == 0)
            snprintf(h->first_failed, sizeof(h->first_failed), "%ld %.120s", ans.status, ans.body);
        itest_sleep_s(0.1);
    }
    mm_arena_free(a);
    curl_easy_cleanup(curl);
    return NULL;
}

static void a_hanging_game_server_does_not_slow_other_products(void **state)
{
    (void)state;
    /* every call to exslow's game server hangs far past the stack's 1 s timeout */
    itest_response r;
    itest_gs2("POST", "/_control/fail", "{\"op\": \"*\", \"mode\": \"hang\", \"hang_ms\": 30000}",
              &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
    samples quiet = {0};
    baseline("/game_lobby/exrps3/open_games?count=5", 2.0, &quiet);
    print_message("hanging game server: before it, exrps3 open_games %d requests p50 %.2f ms p99 "
                  "%.2f ms\n",
                  quiet.n, quantile_ms(&quiet, 0.5), quantile_ms(&quiet, 0.99));
    free(quiet.v);

    double end = itest_now_s() + DRILL_S;
    creator c[HANGING_CLIENTS];
    pthread_t tid[HANGING_CLIENTS], steady_tid;
    for (int i = 0; i < HANGING_CLIENTS; i++) {
        c[i] = (creator){.index = i, .end = end};
        assert_int_equal(pthread_create(&tid[i], NULL, create_on_hanging, &c[i]), 0);
    }
    healthy_creator steady = {.end = end};
    assert_int_equal(pthread_create(&steady_tid, NULL, create_on_healthy, &steady), 0);

    /* another product's lobby, read all along */
    samples lobby = {0};
    int bad = 0;
    CURL *curl = curl_easy_init();
    while (itest_now_s() < end) {
        answer ans;
        http(curl, "GET", "/game_lobby/exrps3/open_games?count=5", NULL, &ans);
        bad += ans.status != 200;
        sample_add(&lobby, ans.seconds);
        itest_sleep_s(0.01);
    }
    curl_easy_cleanup(curl);
    for (int i = 0; i < HANGING_CLIENTS; i++)
        pthread_join(tid[i], NULL);
    pthread_join(steady_tid, NULL);

    int hanging = 0, h502 = 0, other = 0;
    double slowest = 0;
    const char *first_other = NULL;
    for (int i = 0; i < HANGING_CLIENTS; i++) {
        hanging += c[i].requests;
        h502 += c[i].status_502;
        other += c[i].other;
        if (c[i].other > 0 && first_other == NULL)
            first_other = c[i].first_other;
        if (c[i].slowest > slowest)
            slowest = c[i].slowest;
    }
    double l50 = quantile_ms(&lobby, 0.5), l99 = quantile_ms(&lobby, 0.99),
           lmax = quantile_ms(&lobby, 1);
    double s50 = quantile_ms(&steady.latency, 0.5), s99 = quantile_ms(&steady.latency, 0.99),
           smax = quantile_ms(&steady.latency, 1);
    print_message("hanging game server: %d clients (each trying again %.0f ms after an answer) "
                  "made %d creates on exslow in %.0f s, %d answered 502, slowest %.2f s\n",
                  HANGING_CLIENTS, RETRY_S * 1e3, hanging, DRILL_S, h502, slowest);
    print_message("hanging game server: exrps3 open_games %d requests p50 %.2f ms p99 %.2f ms "
                  "max %.2f ms; exrps creates %d, %d failed, p50 %.2f ms p99 %.2f ms max %.2f "
                  "ms\n",
                  lobby.n, l50, l99, lmax, steady.requests, steady.failed, s50, s99, smax);
    if (other > 0)
        fail_msg("%d creates on exslow answered other than 502, first: %s", other, first_other);
    if (steady.failed > 0)
        fail_msg("%d creates on exrps failed, first: %s", steady.failed, steady.first_failed);
    assert_int_equal(bad, 0);
    assert_true(l99 < 50.0);
    assert_true(steady.requests >= 10);

    itest_gs2("POST", "/_control/reset", "{}", &r);
    itest_response_free(&r);
    free(lobby.v);
    free(steady.latency.v);
}

/* ---- 3. a crash loop of the pools' processes ---- */

static int pool_size(const char *pool, long *pids, int max)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' pool-pids %s", itest_env("MM_TEST_STACK"), pool);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = 0;
    long v;
    while (fscanf(p, "%ld", &v) == 1)
        if (n < max)
            pids[n++] = v;
    pclose(p);
    return n;
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? strtol(v, NULL, 10) : def;
}

/* The processes of both pools now: the children of each pool's multiwatch (its pid file,
 * rewritten whenever the stack starts multiwatch again), read from /proc so the kills
 * come faster than multiwatch replaces them. */
static int pool_children(long *pids, int max)
{
    static const char *const files[] = {"fcgi.pid", "fcgi-gs.pid"};
    int n = 0;
    for (size_t i = 0; i < MM_ARRAY_LEN(files); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", itest_env("MM_TEST_RUN_DIR"), files[i]);
        FILE *f = fopen(path, "r");
        long mw = 0;
        if (f == NULL)
            continue;
        int got = fscanf(f, "%ld", &mw);
        fclose(f);
        if (got != 1)
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", mw, mw);
        f = fopen(path, "r");
        if (f == NULL)
            continue;
        long v;
        while (n < max && fscanf(f, "%ld", &v) == 1)
            pids[n++] = v;
        fclose(f);
    }
    return n;
}

static void a_crash_loop_leaves_full_pools(void **state)
{
    (void)state;
    long want_read = env_long("MM_FCGI_PROCS", 3), want_gs = env_long("MM_FCGI_GS_PROCS", 2);
    long pids[64];
    int kills = 0;
    /* every process of both pools, killed as soon as it is seen, for 3 s: multiwatch gives
     * up on each (4 deaths within 10 s) and exits */
    double end = itest_now_s() + 3.0;
    while (itest_now_s() < end) {
        int n = pool_children(pids, 64);
        for (int i = 0; i < n; i++)
            kills += kill((pid_t)pids[i], SIGKILL) == 0;
        itest_sleep_s(0.01);
    }
    double stopped = itest_now_s();
    int read_n = 0, gs_n = 0;
    double full_at = -1;
    while (itest_now_s() - stopped < 20.0) {
        read_n = pool_size("read", pids, 64);
        gs_n = pool_size("gs", pids, 64);
        if (read_n == want_read && gs_n == want_gs) {
            full_at = itest_now_s() - stopped;
            break;
        }
        itest_sleep_s(0.1);
    }
    char line[4096];
    int restarted = itest_log_line("starting it again", line, sizeof(line)) == 0;
    print_message("crash loop: %d SIGKILLs in 3 s; pools full again (%d read, %d game-server) "
                  "%.2f s later; multiwatch started again by the stack: %s\n",
                  kills, read_n, gs_n, full_at, restarted ? "yes" : "no");
    assert_true(full_at >= 0);
    assert_true(full_at < 10.0);
    assert_true(restarted);
    /* and they answer: reads, and creates through the game-server pool */
    for (int i = 0; i < 4 * (int)(want_read + want_gs); i++) {
        itest_response r;
        if (i % 2) {
            itest_request("GET", "/game_lobby/exrps/open_games", NULL, NULL, 0, &r);
        } else {
            mm_arena_reset(arena);
            char user[32];
            snprintf(user, sizeof(user), "after%d", i);
            const char *h[] = {itest_auth(arena, user, user), NULL};
            itest_request("POST", "/game_lobby/exrps/create_game", h, "{}", 2, &r);
        }
        if (r.status != 200)
            fail_msg("after the crash loop: %ld %s", r.status, r.body);
        itest_response_free(&r);
    }
}

/* ---- 4. Redis refusing writes ---- */

static long long used_memory(redisContext *c)
{
    redisReply *r = redisCommand(c, "INFO memory");
    assert_true(r != NULL && r->type == REDIS_REPLY_STRING);
    const char *p = strstr(r->str, "used_memory:");
    long long v = p != NULL ? strtoll(p + 12, NULL, 10) : -1;
    freeReplyObject(r);
    return v;
}

static void redis_full_refuses_writes_and_writes_nothing(void **state)
{
    (void)state;
    redisContext *raw = itest_redis(0);
    itest_gs_reset();
    /* a listed game to join, made while there is room */
    mm_rconn *conn;
    mm_store *store = itest_store_open(&conn);
    mm_arena_reset(arena);
    char game_id[40];
    snprintf(game_id, sizeof(game_id), "%s", itest_create_game(arena, "exrps3", "owner"));
    mm_stored s;
    assert_int_equal(
        mm_store_advance(store, arena, "exrps3", game_id, MM_STATE_CREATOR_JOINED, NULL, &s),
        MM_STORE_OK);
    redisReply *before = redisCommand(raw, "HLEN __games:exrps");
    long long games_before = before->integer;
    freeReplyObject(before);

    /* full: the ceiling under what is used */
    itest_response r;
    long long used = used_memory(raw);
    freeReplyObject(redisCommand(raw, "CONFIG SET maxmemory %lld", used / 2));
    mm_arena_reset(arena);
    const char *h[] = {itest_auth(arena, "oom", "oom"), NULL};
    itest_request("POST", "/game_lobby/exrps/create_game", h, "{}", 2, &r);
    long create_status = r.status;
    char create_body[160];
    snprintf(create_body, sizeof(create_body), "%s", r.body);
    itest_response_free(&r);
    char path[128];
    snprintf(path, sizeof(path), "/game_lobby/exrps3/join_game/%s", game_id);
    itest_request("POST", path, h, "{}", 2, &r);
    long join_status = r.status;
    char join_body[160];
    snprintf(join_body, sizeof(join_body), "%s", r.body);
    itest_response_free(&r);
    itest_request("GET", "/game_lobby/exrps3/open_games", NULL, NULL, 0, &r);
    long list_status = r.status;
    itest_response_free(&r);
    itest_request("GET", "/health", NULL, NULL, 0, &r);
    long health_status = r.status;
    itest_response_free(&r);
    freeReplyObject(redisCommand(raw, "CONFIG SET maxmemory 256mb"));

    print_message("redis full: create -> %ld %s; join -> %ld %s; open_games -> %ld; health -> "
                  "%ld (SPEC 11 asks 503 \"%s\" of the writes)\n",
                  create_status, create_body, join_status, join_body, list_status, health_status,
                  UNAVAILABLE);
    /* writes failed as SPEC 11 says, reads did not */
    assert_int_equal(create_status, 503);
    assert_string_equal(create_body, "{\"error\": \"" UNAVAILABLE "\"}");
    assert_int_equal(join_status, 503);
    assert_string_equal(join_body, "{\"error\": \"" UNAVAILABLE "\"}");
    assert_int_equal(list_status, 200);
    assert_int_equal(health_status, 200);
    /* nothing half-written: no game stored, and a game the game server made (none when the
     * create is refused at its first write, the per-user admission, before the game server
     * is called) removed again; the joiner holds no seat */
    redisReply *after = redisCommand(raw, "HLEN __games:exrps");
    assert_int_equal(after->integer, games_before);
    freeReplyObject(after);
    assert_int_equal(itest_gs_calls("remove_game", NULL), itest_gs_calls("create_game", NULL) - 1);
    mm_arena_reset(arena);
    assert_int_equal(mm_store_get(store, arena, "exrps3", game_id, &s), MM_STORE_OK);
    assert_int_equal(s.game.nplayers, 1);
    /* and with room again, writes work at once */
    mm_arena_reset(arena);
    const char *again[] = {itest_auth(arena, "oom", "oom"), NULL};
    itest_request("POST", path, again, "{}", 2, &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
    mm_store_free(store);
    mm_rconn_free(conn);
    redisFree(raw);
}

int main(void)
{
    /* thousands of sockets: a write to one nginx closed must not kill the test */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slow_clients_do_not_slow_the_others),
        cmocka_unit_test(a_hanging_game_server_does_not_slow_other_products),
        cmocka_unit_test(redis_full_refuses_writes_and_writes_nothing),
        cmocka_unit_test(a_crash_loop_leaves_full_pools),
    };
    return cmocka_run_group_tests_name("integration: overload drills", tests, setup, teardown);
}
