/* /health and the routes that do not exist, through nginx to the FastCGI
 * pool, with Redis up, down and back; and how a pool process ends a connection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

static void health_ok_when_redis_answers(void **state)
{
    itest_response r;
    itest_request("GET", "/health", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    /* SPEC 2's shape, and the server that answered (SPEC 14) */
    char expect[512];
    snprintf(expect, sizeof(expect), "{\"status\":\"ok\",\"primary\":\"unix:%s\"}",
             getenv("MM_TEST_REDIS_SOCK"));
    assert_string_equal(r.body, expect);
    char v[256];
    assert_int_equal(itest_header(&r, "Content-Type", v, sizeof(v)), 0);
    assert_string_equal(v, "application/json");
    assert_int_equal(itest_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)), 0);
    assert_string_equal(v, "*");
    assert_int_equal(itest_header(&r, "X-Request-Id", v, sizeof(v)), 0);
    assert_int_equal(strlen(v), 32);
    itest_response_free(&r);
}

static void health_503_while_redis_is_down_then_200(void **state)
{
    itest_stack("redis-stop");
    /* every process of the pool must notice, not just one */
    for (int i = 0; i < 6; i++) {
        itest_response r;
        itest_request("GET", "/health", NULL, NULL, 0, &r);
        assert_int_equal(r.status, 503);
        assert_string_equal(r.body, "{\"status\":\"unavailable\"}");
        assert_true(r.seconds < 2.0);
        itest_response_free(&r);
    }
    itest_stack("redis-start");
    for (int i = 0; i < 6; i++) {
        itest_response r;
        itest_request("GET", "/health", NULL, NULL, 0, &r);
        assert_int_equal(r.status, 200);
        itest_response_free(&r);
    }
}

static void unknown_lobby_path_is_json_404(void **state)
{
    static const char *const paths[] = {
        "/game_lobby/",
        "/game_lobby/exrps",
        "/game_lobby/exrps/nope",
        "/game_lobby/exrps/open_games/extra",
        "/game_lobby/../health",
        /* the benchmark's no-op route: off unless the config enables it */
        "/game_lobby/_bench/noop",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        itest_response r;
        itest_request("GET", paths[i], NULL, NULL, 0, &r);
        assert_int_equal(r.status, 404);
        assert_string_equal(r.body, "{\"error\": \"Not found.\"}");
        itest_response_free(&r);
    }
}

static void wrong_method_on_health_is_405_with_allow(void **state)
{
    itest_response r;
    itest_request("POST", "/health", NULL, "{}", 2, &r);
    assert_int_equal(r.status, 405);
    char v[256];
    assert_int_equal(itest_header(&r, "Allow", v, sizeof(v)), 0);
    assert_string_equal(v, "GET, OPTIONS");
    itest_response_free(&r);
}

static void preflight_on_lobby_path_is_204(void **state)
{
    itest_response r;
    itest_request("OPTIONS", "/game_lobby/exrps/create_game", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 204);
    char v[256];
    assert_int_equal(itest_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)), 0);
    assert_string_equal(v, "GET, POST, OPTIONS");
    assert_int_equal(itest_header(&r, "Access-Control-Allow-Headers", v, sizeof(v)), 0);
    assert_string_equal(v, "Authorization, Content-Type, Idempotency-Key");
    itest_response_free(&r);
}

static void body_over_64k_is_413_json(void **state)
{
    static char big[64 * 1024 + 1];
    memset(big, 'x', sizeof(big));
    itest_response r;
    itest_request("POST", "/game_lobby/exrps/create_game", NULL, big, sizeof(big), &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "\"error\""));
    itest_response_free(&r);
}

/* The access log has one key=value line per request, UTC timestamp and
 * level first, with the request id the client got in X-Request-Id. */
static void access_log_line_carries_the_request_id(void **state)
{
    itest_response r;
    itest_request("GET", "/game_lobby/exrps/open_games?count=2", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    char rid[128], want[192], line[4096];
    assert_int_equal(itest_header(&r, "X-Request-Id", rid, sizeof(rid)), 0);
    itest_response_free(&r);
    snprintf(want, sizeof(want), " rid=%s", rid);
    if (itest_log_line(want, line, sizeof(line)) != 0)
        fail_msg("no log line with%s", want);
    assert_true(strncmp(line, "ts=20", 5) == 0);
    assert_non_null(strstr(line, "Z level=info prog=matchmaker-fcgi pid="));
    assert_non_null(strstr(line, " msg=request method=GET path=\"/game_lobby/exrps/open_games\" "
                                 "status=200 ms="));
}

/* The arena= field of the request's log line (the answer's X-Request-Id finds it). */
static size_t arena_bytes_of(const itest_response *r)
{
    char rid[128], want[192], line[4096];
    assert_int_equal(itest_header(r, "X-Request-Id", rid, sizeof(rid)), 0);
    snprintf(want, sizeof(want), " rid=%s", rid);
    if (itest_log_line(want, line, sizeof(line)) != 0)
        fail_msg("no log line with%s", want);
    const char *a = strstr(line, " arena=");
    assert_non_null(a);
    return (size_t)strtoul(a + 7, NULL, 10);
}

/* No route reads a request body yet: one sent anyway (up to the 64 KiB allowed) is
 * drained, not copied into the request's memory, whatever the answer. */
static void a_body_no_route_reads_takes_no_memory(void **state)
{
    static char body[60 * 1024];
    memset(body, '{', sizeof(body));
    static const struct {
        const char *method, *path;
        long status;
    } cases[] = {
        {"POST", "/game_lobby/exrps/create_game", 401},
        {"GET", "/game_lobby/exrps/open_games", 200},
        {"POST", "/health", 405},
        {"POST", "/game_lobby/exrps/nope", 404},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        itest_response r;
        itest_request(cases[i].method, cases[i].path, NULL, body, sizeof(body), &r);
        assert_int_equal(r.status, cases[i].status);
        size_t used = arena_bytes_of(&r);
        if (used >= (size_t)16 * 1024)
            fail_msg("%s %s: the request took %zu bytes of memory", cases[i].method, cases[i].path,
                     used);
        itest_response_free(&r);
    }
}

/* ---- a FastCGI client of our own, to hold connections open the way nginx would not ---- */

static void put_bytes(unsigned char *buf, size_t *at, const void *bytes, size_t len)
{
    memcpy(buf + *at, bytes, len);
    *at += len;
}

static void put_record(unsigned char *buf, size_t *at, int type, const void *body, size_t len)
{
    unsigned char h[8] = {
        1, (unsigned char)type, 0, 1, (unsigned char)(len >> 8), (unsigned char)(len & 0xff), 0, 0};
    put_bytes(buf, at, h, sizeof(h));
    put_bytes(buf, at, body, len);
}

static void put_param(unsigned char *buf, size_t *at, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value);
    buf[(*at)++] = (unsigned char)n;
    buf[(*at)++] = (unsigned char)v;
    put_bytes(buf, at, name, n);
    put_bytes(buf, at, value, v);
}

/* Sends GET path straight to the pool's socket and reads the answer up to its
 * END_REQUEST record; returns the still-open socket (the caller closes it). */
static int fcgi_get(const char *path)
{
    char sock[512];
    snprintf(sock, sizeof(sock), "%s/fcgi.sock", itest_env("MM_TEST_RUN_DIR"));
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(sock) < sizeof(sa.sun_path));
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);

    unsigned char params[512], req[1024];
    size_t np = 0, n = 0;
    put_param(params, &np, "REQUEST_METHOD", "GET");
    put_param(params, &np, "REQUEST_URI", path);
    static const unsigned char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0}; /* responder, close */
    put_record(req, &n, 1, begin, sizeof(begin));
    put_record(req, &n, 4, params, np);
    put_record(req, &n, 4, "", 0);
    put_record(req, &n, 5, "", 0);
    assert_int_equal(write(fd, req, n), (ssize_t)n);

    /* records until END_REQUEST (type 3) */
    unsigned char in[65536];
    size_t got = 0;
    for (;;) {
        size_t off = 0;
        int ended = 0;
        while (off + 8 <= got) {
            size_t len = (size_t)in[off + 4] << 8 | in[off + 5];
            size_t rec = 8 + len + in[off + 6];
            if (off + rec > got)
                break;
            ended |= in[off + 1] == 3;
            off += rec;
        }
        if (ended)
            break;
        ssize_t r = read(fd, in + got, sizeof(in) - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    int ok = 0;
    for (size_t i = 0; i + 11 <= got && !ok; i++)
        ok = memcmp(in + i, "Status: 200", 11) == 0;
    assert_true(ok);
    return fd;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Once it has answered, a process closes the connection itself instead of waiting (up to
 * 2 s, libfcgi's way) for the web server to close first: with more connections left open
 * by their client than there are processes, every request is still served at once, and
 * each left-open connection reads as closed by the pool. */
static void a_process_does_not_wait_for_the_client_to_close(void **state)
{
    (void)state;
    const char *env = getenv("MM_FCGI_PROCS");
    int procs = env != NULL ? atoi(env) : 3;
    if (procs < 1 || procs > 32)
        procs = 3;
    int fds[40];
    double t0 = seconds_now();
    for (int i = 0; i < procs + 2; i++)
        fds[i] = fcgi_get("/health");
    double took = seconds_now() - t0;
    for (int i = 0; i < procs + 2; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        assert_int_equal(poll(&p, 1, 1000), 1);
        char c;
        assert_int_equal(read(fds[i], &c, 1), 0); /* closed by the pool */
        close(fds[i]);
    }
    if (took > 1.0)
        fail_msg("%d requests with their connections left open took %.2f s", procs + 2, took);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_ok_when_redis_answers),
        cmocka_unit_test(access_log_line_carries_the_request_id),
        cmocka_unit_test(a_process_does_not_wait_for_the_client_to_close),
        cmocka_unit_test(unknown_lobby_path_is_json_404),
        cmocka_unit_test(wrong_method_on_health_is_405_with_allow),
        cmocka_unit_test(preflight_on_lobby_path_is_204),
        cmocka_unit_test(body_over_64k_is_413_json),
        cmocka_unit_test(a_body_no_route_reads_takes_no_memory),
        cmocka_unit_test(health_503_while_redis_is_down_then_200),
    };
    return cmocka_run_group_tests_name("integration: health and routing", tests, NULL, NULL);
}
