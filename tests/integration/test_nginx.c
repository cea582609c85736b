/* nginx in front of the pools (SPEC 11): every answer nginx makes itself is JSON with the
 * CORS header; the per-address request-rate and connection limits; which pool each route
 * goes to. Requests come through the test stack's unix socket, whose clients the rate
 * limit spares; an X-Forwarded-For header there stands for another client address (the
 * stack trusts its socket as a load balancer is trusted, real_ip), which is how these
 * tests come from addresses that are not spared. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define RATE_BURST 40       /* matchmaker-locations.conf: limit_req burst */
#define RATE_PER_S 20       /* matchmaker-http.conf: the zone's rate */
#define CONN_PER_ADDRESS 64 /* matchmaker-locations.conf: limit_conn */

/* The answer is {"error": message} in JSON with the CORS header, and nginx does not say its
 * version. */
static void assert_json_error(const char *what, const itest_response *r, long status,
                              const char *message)
{
    char v[256];
    if (r->status != status)
        fail_msg("%s: status %ld, wanted %ld: %.200s", what, r->status, status, r->body);
    if (itest_header(r, "Content-Type", v, sizeof(v)) != 0 || strcmp(v, "application/json") != 0)
        fail_msg("%s: Content-Type %s", what, v);
    if (itest_header(r, "Access-Control-Allow-Origin", v, sizeof(v)) != 0 || strcmp(v, "*") != 0)
        fail_msg("%s: no CORS header", what);
    if (itest_header(r, "Server", v, sizeof(v)) == 0 && strcmp(v, "nginx") != 0)
        fail_msg("%s: Server: %s (server_tokens off says no version)", what, v);
    json_object *j = json_tokener_parse(r->body), *e;
    if (j == NULL || !json_object_object_get_ex(j, "error", &e) ||
        strcmp(json_object_get_string(e), message) != 0)
        fail_msg("%s: wanted {\"error\": \"%s\"}, got %.200s", what, message, r->body);
    json_object_put(j);
}

/* ---- every status nginx answers itself ---- */

typedef struct {
    const char *name;
    const char *line;   /* the request line, without CR LF (with uri_len: the method) */
    const char *header; /* one more header line, or NULL */
    size_t body_len;    /* a body of that many bytes, announced by Content-Length */
    size_t pad_len;     /* an X-Padding header of that many bytes */
    size_t uri_len;     /* the request line's path padded to that many bytes */
    long status;
    const char *message;
    const char *allow; /* the Allow header wanted, or NULL */
} nginx_case;

static const nginx_case cases[] = {
    {"the root", "GET / HTTP/1.1", NULL, 0, 0, 0, 404, "Not found.", NULL},
    {"a path outside the API", "GET /index.html HTTP/1.1", NULL, 0, 0, 0, 404, "Not found.", NULL},
    {"an error page asked for", "GET /__matchmaker_error/500 HTTP/1.1", NULL, 0, 0, 0, 404,
     "Not found.", NULL},
    {"TRACE", "TRACE /game_lobby/exrps/open_games HTTP/1.1", NULL, 0, 0, 0, 405,
     "Method not allowed.", "GET, POST, OPTIONS"},
    {"CONNECT", "CONNECT /game_lobby/ HTTP/1.1", NULL, 0, 0, 0, 405, "Method not allowed.",
     "GET, POST, OPTIONS"},
    {"a method HTTP does not define", "BREW /game_lobby/exrps/open_games HTTP/1.1", NULL, 0, 0, 0,
     501, "Not implemented.", NULL},
    {"an unknown transfer coding", "POST /game_lobby/exrps/create_game HTTP/1.1",
     "Transfer-Encoding: gzip", 0, 0, 0, 501, "Not implemented.", NULL},
    {"a URI over 16k", "GET", NULL, 0, 0, 20000, 414, "Request URI too long.", NULL},
    {"HTTP/2.5", "GET /game_lobby/exrps/open_games HTTP/2.5", NULL, 0, 0, 0, 505,
     "HTTP version not supported.", NULL},
    {"a malformed request line", "get /game_lobby/exrps/open_games HTTP/1.1", NULL, 0, 0, 0, 400,
     "Bad request.", NULL},
    {"a header line over 16k (494)", "GET /game_lobby/exrps/open_games HTTP/1.1", NULL, 0, 20000, 0,
     400, "Bad request.", NULL},
    {"a body over 64 KiB", "POST /game_lobby/exrps/create_game HTTP/1.1", NULL, 70000, 0, 0, 413,
     "Request body too large.", NULL},
    {"a body over 64 KiB to /health", "POST /health HTTP/1.1", NULL, 70000, 0, 0, 413,
     "Request body too large.", NULL},
    {"metrics from a public address", "GET /metrics HTTP/1.1", "X-Forwarded-For: 198.51.100.7", 0,
     0, 0, 403, "Forbidden.", NULL},
    {"nginx's 500", "GET /__test/status/500 HTTP/1.1", NULL, 0, 0, 0, 500, "Internal error.", NULL},
    {"nginx's 502 (no pool on the socket)", "GET /__test/status/502 HTTP/1.1", NULL, 0, 0, 0, 503,
     "Service temporarily unavailable.", NULL},
    {"nginx's 503", "GET /__test/status/503 HTTP/1.1", NULL, 0, 0, 0, 503,
     "Service temporarily unavailable.", NULL},
    {"nginx's 504", "GET /__test/status/504 HTTP/1.1", NULL, 0, 0, 0, 503,
     "Service temporarily unavailable.", NULL},
};

static void run_case(const nginx_case *c)
{
    size_t cap = 200000;
    char *req = malloc(cap);
    assert_non_null(req);
    int n;
    if (c->uri_len > 0) {
        char *uri = malloc(c->uri_len + 1);
        assert_non_null(uri);
        memcpy(uri, "/game_lobby/", 12);
        memset(uri + 12, 'a', c->uri_len - 12);
        uri[c->uri_len] = '\0';
        n = snprintf(req, cap, "%s %s HTTP/1.1", c->line, uri);
        free(uri);
    } else {
        n = snprintf(req, cap, "%s", c->line);
    }
    n += snprintf(req + n, cap - (size_t)n, "\r\nHost: localhost\r\nConnection: close\r\n");
    if (c->header != NULL)
        n += snprintf(req + n, cap - (size_t)n, "%s\r\n", c->header);
    if (c->pad_len > 0) {
        n += snprintf(req + n, cap - (size_t)n, "X-Padding: ");
        memset(req + n, 'p', c->pad_len);
        n += (int)c->pad_len;
        n += snprintf(req + n, cap - (size_t)n, "\r\n");
    }
    if (c->body_len > 0)
        n += snprintf(req + n, cap - (size_t)n, "Content-Length: %zu\r\n", c->body_len);
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
    assert_true((size_t)n + c->body_len < cap);
    memset(req + n, 'x', c->body_len);
    itest_response r;
    itest_raw(req, (size_t)n + c->body_len, &r);
    free(req);
    assert_json_error(c->name, &r, c->status, c->message);
    if (c->allow != NULL) {
        char v[128];
        if (itest_header(&r, "Allow", v, sizeof(v)) != 0 || strcmp(v, c->allow) != 0)
            fail_msg("%s: no Allow: %s", c->name, c->allow);
    }
    itest_response_free(&r);
}

static void every_answer_nginx_makes_is_json_with_cors(void **state)
{
    (void)state;
    for (size_t i = 0; i < MM_ARRAY_LEN(cases); i++)
        run_case(&cases[i]);
    print_message("%zu kinds of request nginx answers itself: JSON with CORS\n",
                  MM_ARRAY_LEN(cases));
}

/* ---- the request-rate limit ---- */

/* Sends GET path from address (NULL: the unix socket's own) until the first 429 or max
 * requests; returns how many were answered 200 before it, and the seconds taken. */
static int until_refused(const char *path, const char *address, int max, itest_response *refused,
                         double *took)
{
    char xff[64];
    snprintf(xff, sizeof(xff), "X-Forwarded-For: %s", address != NULL ? address : "");
    const char *h[] = {address != NULL ? xff : NULL, NULL};
    int ok = 0;
    double t0 = itest_now_s();
    memset(refused, 0, sizeof(*refused));
    for (int i = 0; i < max; i++) {
        itest_response r;
        itest_request("GET", path, h, NULL, 0, &r);
        if (r.status == 429) {
            *refused = r;
            break;
        }
        if (r.status != 200)
            fail_msg("%s from %s: %ld %s", path, address, r.status, r.body);
        ok++;
        itest_response_free(&r);
    }
    *took = itest_now_s() - t0;
    return ok;
}

static void rate_limit_per_address(void **state)
{
    (void)state;
    const char *path = "/game_lobby/exrps/open_games?count=1";
    itest_response r;
    double took;
    int ok = until_refused(path, "198.51.100.20", 400, &r, &took);
    print_message("rate limit: %d requests from one address answered before a 429, in %.3f s\n", ok,
                  took);
    assert_json_error("the rate limit", &r, 429, "Too many requests.");
    char v[32];
    assert_int_equal(itest_header(&r, "Retry-After", v, sizeof(v)), 0);
    assert_string_equal(v, "1");
    itest_response_free(&r);
    /* the burst, then what the rate refilled while they were sent */
    assert_true(ok >= RATE_BURST + 1);
    assert_true(ok <= RATE_BURST + 1 + (int)(RATE_PER_S * took) + 1);
    /* the routes that call game servers have the same limit, before any check of theirs */
    const char *h[] = {"X-Forwarded-For: 198.51.100.20", NULL};
    itest_request("POST", "/game_lobby/exrps/create_game", h, "{}", 2, &r);
    assert_json_error("the rate limit on create", &r, 429, "Too many requests.");
    itest_response_free(&r);
    /* another address has its own allowance */
    const char *other[] = {"X-Forwarded-For: 198.51.100.21", NULL};
    itest_request("GET", path, other, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
    /* loopback and the stack's own socket are spared: no 429 however fast */
    ok = until_refused(path, "127.0.0.5", 300, &r, &took);
    assert_int_equal(ok, 300);
    ok = until_refused(path, NULL, 300, &r, &took);
    assert_int_equal(ok, 300);
    print_message("rate limit: 300 requests each from 127.0.0.5 and the unix socket, none "
                  "refused\n");
}

/* ---- the connection limit ---- */

/* A request from address whose body never arrives: it holds its place in the limit. */
static int slow_upload(const char *address)
{
    int fd = itest_nginx_connect();
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /game_lobby/exrps/create_game HTTP/1.1\r\nHost: localhost\r\n"
                     "X-Forwarded-For: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: 1000\r\n\r\n{",
                     address);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    return fd;
}

static long status_from(const char *address)
{
    char req[256];
    int n = snprintf(req, sizeof(req),
                     "GET /game_lobby/exrps/open_games?count=1 HTTP/1.1\r\nHost: localhost\r\n"
                     "X-Forwarded-For: %s\r\nConnection: close\r\n\r\n",
                     address);
    itest_response r;
    itest_raw(req, (size_t)n, &r);
    long status = r.status;
    if (status == 429)
        assert_json_error("the connection limit", &r, 429, "Too many requests.");
    itest_response_free(&r);
    return status;
}

/* Requests in progress per address: one more than the limit is refused at once, whatever
 * the address (127.0.0.9 is spared the rate limit, not this one), and the others' are
 * their own. */
static void connection_limit_per_address(void **state)
{
    (void)state;
    int fds[CONN_PER_ADDRESS];
    for (int i = 0; i < CONN_PER_ADDRESS; i++)
        fds[i] = slow_upload("127.0.0.9");
    /* nginx counts a request once one of its workers has read its header; a probe counted
     * before the last upload was can make that upload the one refused: refused uploads are
     * replaced until all of them are held and the probe is the one refused */
    long status = 0;
    for (int attempt = 0; attempt < 100 && status != 429; attempt++) {
        usleep(20000);
        int replaced = 0;
        for (int i = 0; i < CONN_PER_ADDRESS; i++) {
            struct pollfd p = {.fd = fds[i], .events = POLLIN};
            if (poll(&p, 1, 0) == 1) {
                close(fds[i]);
                fds[i] = slow_upload("127.0.0.9");
                replaced++;
            }
        }
        if (replaced == 0)
            status = status_from("127.0.0.9");
    }
    assert_int_equal(status, 429);
    assert_int_equal(status_from("127.0.0.10"), 200);
    /* the slow uploads are still waiting, not answered */
    for (int i = 0; i < CONN_PER_ADDRESS; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        assert_int_equal(poll(&p, 1, 0), 0);
    }
    for (int i = 0; i < CONN_PER_ADDRESS; i++)
        close(fds[i]);
    for (int attempt = 0; attempt < 50 && (status = status_from("127.0.0.9")) != 200; attempt++)
        usleep(20000);
    assert_int_equal(status, 200);
    print_message("connection limit: %d uploads in progress from one address, the next "
                  "request refused, another address served\n",
                  CONN_PER_ADDRESS);
}

/* ---- which pool answers ---- */

/* The pids "stack.sh pool-pids POOL" prints, as " pid pid ... ". */
static void pool_pids(const char *pool, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' pool-pids %s", itest_env("MM_TEST_STACK"), pool);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = 0;
    long v;
    out[n++] = ' ';
    while (fscanf(p, "%ld", &v) == 1 && n + 24 < cap)
        n += (size_t)snprintf(out + n, cap - n, "%ld ", v);
    out[n] = '\0';
    pclose(p);
}

/* " pid " of the process that answered r (its request id in the pool's log). */
static void answered_by(const itest_response *r, char *pid, size_t cap)
{
    char rid[64], want[96], line[4096];
    assert_int_equal(itest_header(r, "X-Request-Id", rid, sizeof(rid)), 0);
    snprintf(want, sizeof(want), " rid=%s", rid);
    if (itest_log_line(want, line, sizeof(line)) != 0)
        fail_msg("no log line with%s", want);
    const char *p = strstr(line, " pid=");
    assert_non_null(p);
    snprintf(pid, cap, " %ld ", strtol(p + 5, NULL, 10));
}

static void routes_that_call_game_servers_have_their_own_pool(void **state)
{
    (void)state;
    char read_pool[512], gs_pool[512], pid[32];
    pool_pids("read", read_pool, sizeof(read_pool));
    pool_pids("gs", gs_pool, sizeof(gs_pool));
    static const struct {
        const char *method, *path;
        int gs;
    } routes[] = {
        {"GET", "/game_lobby/exrps/open_games", 0},
        {"GET", "/health", 0},
        {"GET", "/metrics", 0},
        {"GET", "/game_lobby/exrps/nope", 0},
        {"POST", "/game_lobby/exrps/create_game", 1},
        {"POST", "/game_lobby/exrps/join_game/0123456789abcdef0123456789abcdef", 1},
        /* routes to come, by name */
        {"POST", "/game_lobby/exrps/quick_match", 1},
        {"POST", "/game_lobby/exrps/join_by_code/ABC234", 1},
        {"POST", "/game_lobby/exrps/leave_game/0123456789abcdef0123456789abcdef", 1},
        {"POST", "/game_lobby/other/create_game", 1},
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(routes); i++) {
        itest_response r;
        itest_request(routes[i].method, routes[i].path, NULL, "{}", 2, &r);
        answered_by(&r, pid, sizeof(pid));
        const char *pool = routes[i].gs ? gs_pool : read_pool;
        if (strstr(pool, pid) == NULL)
            fail_msg("%s %s answered by pid%snot of the %s pool (%s)", routes[i].method,
                     routes[i].path, pid, routes[i].gs ? "game-server" : "read", pool);
        itest_response_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_answer_nginx_makes_is_json_with_cors),
        cmocka_unit_test(routes_that_call_game_servers_have_their_own_pool),
        cmocka_unit_test(connection_limit_per_address),
        cmocka_unit_test(rate_limit_per_address),
    };
    return cmocka_run_group_tests_name("integration: nginx", tests, NULL, NULL);
}
