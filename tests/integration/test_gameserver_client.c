/* The game-server client against the real test game server (MM_TEST_GS_URL, started by
 * with_stack.sh): bodies as recorded by GET /_calls, injected faults through /_control/fail,
 * time bounds, keep-alive reuse. A one-shot fake server in a thread covers what the game
 * server cannot be made to do: oversized answers, redirects, the request's raw headers. */
#define _GNU_SOURCE /* memmem, strcasestr */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "game_server_client.h"
#include "log.h"
#include "mm.h"

#define CONNECT_MS 1000L
#define TIMEOUT_MS 3000L

typedef struct {
    mm_gs_client *gs;
    mm_arena *a;
} fixture;

/* ---- talking to the game server's control API (a separate handle) ------------------- */

static const char *gs_url(void)
{
    const char *v = getenv("MM_TEST_GS_URL");
    if (v == NULL || v[0] == '\0')
        fail_msg("MM_TEST_GS_URL is not set (run through with_stack.sh)");
    return v;
}

typedef struct {
    char *p;
    size_t len;
} text;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    text *t = userdata;
    size_t n = size * nmemb;
    char *np = realloc(t->p, t->len + n + 1);
    if (np == NULL)
        return 0;
    memcpy(np + t->len, ptr, n);
    t->len += n;
    np[t->len] = '\0';
    t->p = np;
    return n;
}

/* method path on the game server; fails the test unless it answers 200. Returns the body
 * (malloc'd, NUL-terminated). */
static char *control(const char *method, const char *path, const char *body)
{
    static CURL *h;
    if (h == NULL)
        h = curl_easy_init();
    assert_non_null(h);
    curl_easy_reset(h);
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", gs_url(), path);
    text t = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200)
        fail_msg("%s %s: %s, status %ld, body %s", method, path, curl_easy_strerror(rc), status,
                 t.p ? t.p : "");
    return t.p ? t.p : calloc(1, 1);
}

static void gs_fail(const char *rule_json)
{
    free(control("POST", "/_control/fail", rule_json));
}

/* GET /_calls[?op=op] as raw text (malloc'd). */
static char *gs_calls_text(const char *op)
{
    char path[128];
    snprintf(path, sizeof(path), "/_calls%s%s", op ? "?op=" : "", op ? op : "");
    return control("GET", path, NULL);
}

/* GET /_calls?op=op parsed: an array the caller puts. */
static json_object *gs_calls(const char *op)
{
    char *s = gs_calls_text(op);
    json_object *arr = json_tokener_parse(s);
    free(s);
    assert_non_null(arr);
    assert_true(json_object_is_type(arr, json_type_array));
    return arr;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- fixture: a clean game server and a fresh client per test ------------------------ */

static int setup(void **state)
{
    free(control("POST", "/_control/reset", "{}"));
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->gs = mm_gs_client_new(CONNECT_MS, TIMEOUT_MS, NULL);
    f->a = mm_arena_new(0);
    assert_non_null(f->gs);
    assert_non_null(f->a);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mm_gs_client_free(f->gs);
    mm_arena_free(f->a);
    free(f);
    free(control("POST", "/_control/reset", "{}"));
    return 0;
}

/* ---- a one-shot fake server ----------------------------------------------------------- */

#define FAKE_REQUEST_MAX ((size_t)4 * 1024 * 1024)

typedef struct {
    int lfd;
    int port;
    const char *answer;
    size_t answer_len;
    char *request; /* what the client sent: head and body */
    size_t request_len;
    pthread_t tid;
} fake_server;

/* Bytes of the request so far that make a whole request, or 0 if more are needed. */
static size_t whole_request(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    size_t head = (size_t)(end - buf) + 4;
    long clen = 0;
    for (const char *p = buf; p < end;) {
        const char *eol = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            clen = strtol(p + 15, NULL, 10);
        p = eol + 2;
    }
    return len >= head + (size_t)clen ? head + (size_t)clen : 0;
}

static void *fake_main(void *arg)
{
    fake_server *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    while (s->request_len < FAKE_REQUEST_MAX && whole_request(s->request, s->request_len) == 0) {
        ssize_t n = recv(fd, s->request + s->request_len, FAKE_REQUEST_MAX - s->request_len, 0);
        if (n <= 0)
            break;
        s->request_len += (size_t)n;
    }
    /* The client may hang up mid-answer (that is the point of an oversized one). */
    for (size_t off = 0; off < s->answer_len;) {
        ssize_t n = send(fd, s->answer + off, s->answer_len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    char sink[256];
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (recv(fd, sink, sizeof(sink), 0) > 0) {
    }
    close(fd);
    return NULL;
}

static void fake_start(fake_server *s, const char *answer, size_t answer_len)
{
    memset(s, 0, sizeof(*s));
    s->answer = answer;
    s->answer_len = answer_len;
    s->request = calloc(1, FAKE_REQUEST_MAX + 1);
    assert_non_null(s->request);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
    s->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&s->tid, NULL, fake_main, s), 0);
}

/* Waits for the one exchange; s->request stays readable until fake_free. */
static void fake_stop(fake_server *s)
{
    pthread_join(s->tid, NULL);
    close(s->lfd);
}

static void fake_free(fake_server *s)
{
    free(s->request);
    s->request = NULL;
}

/* ---- the tests ---------------------------------------------------------------------- */

static void create_returns_token_and_sends_exact_body(void **state)
{
    fixture *f = *state;
    const char *token = NULL;
    assert_int_equal(mm_gs_create_game(f->gs, f->a, gs_url(), "g1", "u1", "alice", &token),
                     MM_GS_OK);
    assert_non_null(token);
    assert_int_equal(strlen(token), 32);
    assert_int_equal(strspn(token, "0123456789abcdef"), 32);
    char *calls = gs_calls_text(NULL);
    assert_string_equal(calls, "[{\"op\":\"create_game\",\"body\":{\"gameId\":\"g1\",\"userId\":"
                               "\"u1\",\"username\":\"alice\"},\"status\":200}]");
    free(calls);
}

static void join_and_removes_succeed_and_send_exact_bodies(void **state)
{
    fixture *f = *state;
    assert_int_equal(mm_gs_join_game(f->gs, f->a, gs_url(), "g2", "u2", "bob"), MM_GS_OK);
    assert_int_equal(mm_gs_remove_player(f->gs, f->a, gs_url(), "g2", "u2"), MM_GS_OK);
    assert_int_equal(mm_gs_remove_game(f->gs, f->a, gs_url(), "g2"), MM_GS_OK);
    char *calls = gs_calls_text(NULL);
    assert_string_equal(
        calls, "[{\"op\":\"join_game\",\"body\":{\"gameId\":\"g2\",\"userId\":\"u2\",\"username\":"
               "\"bob\"},\"status\":200},"
               "{\"op\":\"remove_player\",\"body\":{\"gameId\":\"g2\",\"userId\":\"u2\"},"
               "\"status\":200},"
               "{\"op\":\"remove_game\",\"body\":{\"gameId\":\"g2\"},\"status\":200}]");
    free(calls);
}

static void injected_400_and_500_are_refused(void **state)
{
    fixture *f = *state;
    static const long codes[] = {400, 500};
    for (size_t i = 0; i < MM_ARRAY_LEN(codes); i++) {
        char rule[128];
        snprintf(rule, sizeof(rule), "{\"op\":\"*\",\"mode\":\"status\",\"status\":%ld}", codes[i]);
        gs_fail(rule);
        const char *token = "sentinel";
        assert_int_equal(mm_gs_create_game(f->gs, f->a, gs_url(), "g3", "u3", "carol", &token),
                         MM_GS_REFUSED);
        assert_null(token);
        assert_int_equal(mm_gs_join_game(f->gs, f->a, gs_url(), "g3", "u4", "dave"), MM_GS_REFUSED);
        assert_int_equal(mm_gs_remove_player(f->gs, f->a, gs_url(), "g3", "u4"), MM_GS_REFUSED);
        assert_int_equal(mm_gs_remove_game(f->gs, f->a, gs_url(), "g3"), MM_GS_REFUSED);
    }
    /* the game server really answered those statuses: 4 calls per code */
    json_object *calls = gs_calls(NULL);
    assert_int_equal(json_object_array_length(calls), 8);
    for (size_t i = 0; i < 8; i++) {
        json_object *st;
        assert_true(json_object_object_get_ex(json_object_array_get_idx(calls, i), "status", &st));
        assert_int_equal(json_object_get_int(st), codes[i / 4]);
    }
    json_object_put(calls);
    /* a lapsed rule: the same client works again */
    gs_fail("{\"op\":\"*\",\"mode\":\"ok\"}");
    assert_int_equal(mm_gs_join_game(f->gs, f->a, gs_url(), "g3", "u4", "dave"), MM_GS_OK);
}

static void hang_past_timeout_is_unavailable_in_time(void **state)
{
    fixture *f = *state;
    mm_gs_client *quick = mm_gs_client_new(CONNECT_MS, 300, NULL);
    assert_non_null(quick);
    gs_fail("{\"op\":\"create_game\",\"mode\":\"hang\",\"hang_ms\":2000}");
    const char *token = "sentinel";
    double t0 = now_s();
    mm_gs_result r = mm_gs_create_game(quick, f->a, gs_url(), "g4", "u1", "alice", &token);
    double took = now_s() - t0;
    assert_int_equal(r, MM_GS_UNAVAILABLE);
    assert_null(token);
    if (took < 0.29 || took > 0.6)
        fail_msg("timeout 300 ms took %.3f s", took);
    /* the timed-out connection is dropped; the next call opens a fresh one and works */
    gs_fail("{\"op\":\"create_game\",\"mode\":\"ok\"}");
    assert_int_equal(mm_gs_create_game(quick, f->a, gs_url(), "g4", "u1", "alice", &token),
                     MM_GS_OK);
    assert_non_null(token);
    assert_int_equal(mm_gs_client_connects(quick), 2);
    mm_gs_client_free(quick);
}

static void garbage_answer_fails_create_but_not_join(void **state)
{
    fixture *f = *state;
    gs_fail("{\"op\":\"*\",\"mode\":\"garbage\"}");
    const char *token = "sentinel";
    assert_int_equal(mm_gs_create_game(f->gs, f->a, gs_url(), "g5", "u1", "alice", &token),
                     MM_GS_UNAVAILABLE);
    assert_null(token);
    assert_int_equal(mm_gs_join_game(f->gs, f->a, gs_url(), "g5", "u2", "bob"), MM_GS_OK);
    assert_int_equal(mm_gs_remove_player(f->gs, f->a, gs_url(), "g5", "u2"), MM_GS_OK);
    assert_int_equal(mm_gs_remove_game(f->gs, f->a, gs_url(), "g5"), MM_GS_OK);
}

static void answer_without_token_is_unavailable(void **state)
{
    fixture *f = *state;
    gs_fail("{\"op\":\"*\",\"mode\":\"no_token\"}");
    const char *token = "sentinel";
    assert_int_equal(mm_gs_create_game(f->gs, f->a, gs_url(), "g6", "u1", "alice", &token),
                     MM_GS_UNAVAILABLE);
    assert_null(token);
    assert_int_equal(mm_gs_join_game(f->gs, f->a, gs_url(), "g6", "u2", "bob"), MM_GS_OK);
    /* the game server did answer 200: only the missing token made it unusable */
    json_object *calls = gs_calls("create_game");
    assert_int_equal(json_object_array_length(calls), 1);
    json_object *st;
    assert_true(json_object_object_get_ex(json_object_array_get_idx(calls, 0), "status", &st));
    assert_int_equal(json_object_get_int(st), 200);
    json_object_put(calls);
}

static void closed_without_answer_is_unavailable(void **state)
{
    fixture *f = *state;
    gs_fail("{\"op\":\"*\",\"mode\":\"close\"}");
    const char *token = "sentinel";
    double t0 = now_s();
    assert_int_equal(mm_gs_create_game(f->gs, f->a, gs_url(), "g7", "u1", "alice", &token),
                     MM_GS_UNAVAILABLE);
    assert_null(token);
    assert_int_equal(mm_gs_join_game(f->gs, f->a, gs_url(), "g7", "u2", "bob"), MM_GS_UNAVAILABLE);
    assert_int_equal(mm_gs_remove_game(f->gs, f->a, gs_url(), "g7"), MM_GS_UNAVAILABLE);
    assert_true(now_s() - t0 < 1.0);
}

/* libcurl re-sends a request once, on a new connection, when a REUSED connection closes
 * before any answer byte (it takes it for the server's idle close racing the request). A
 * server that dropped the request after reading it may thus see it twice; either way the
 * caller gets no answer. */
static void closed_on_a_kept_alive_connection_is_unavailable(void **state)
{
    fixture *f = *state;
    assert_int_equal(mm_gs_join_game(f->gs, f->a, gs_url(), "g7", "u2", "bob"), MM_GS_OK);
    gs_fail("{\"op\":\"create_game\",\"mode\":\"close\"}");
    const char *token = "sentinel";
    assert_int_equal(mm_gs_create_game(f->gs, f->a, gs_url(), "g7", "u1", "alice", &token),
                     MM_GS_UNAVAILABLE);
    assert_null(token);
    json_object *calls = gs_calls("create_game");
    size_t n = json_object_array_length(calls);
    json_object_put(calls);
    if (n < 1 || n > 2)
        fail_msg("create_game reached the game server %zu times", n);
    gs_fail("{\"op\":\"create_game\",\"mode\":\"ok\"}");
    assert_int_equal(mm_gs_create_game(f->gs, f->a, gs_url(), "g7", "u1", "alice", &token),
                     MM_GS_OK);
}

static void connection_refused_is_unavailable_fast(void **state)
{
    fixture *f = *state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
    const char *token = "sentinel";
    double t0 = now_s();
    assert_int_equal(mm_gs_create_game(f->gs, f->a, url, "g8", "u1", "alice", &token),
                     MM_GS_UNAVAILABLE);
    assert_int_equal(mm_gs_remove_game(f->gs, f->a, url, "g8"), MM_GS_UNAVAILABLE);
    double took = now_s() - t0;
    assert_null(token);
    if (took > 0.3)
        fail_msg("two refused connections took %.3f s (connect timeout is %ld ms)", took,
                 CONNECT_MS);
}

/* Other schemes are refused before any connection: a listener on their port must see none
 * (with dict:// or gopher:// allowed, libcurl would connect and write to it). */
static void only_http_urls_are_used(void **state)
{
    fixture *f = *state;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 16), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    static const char *const schemes[] = {"dict", "gopher", "ftp", "telnet", "smtp", "scp"};
    for (size_t i = 0; i < MM_ARRAY_LEN(schemes); i++) {
        char url[64];
        snprintf(url, sizeof(url), "%s://127.0.0.1:%d", schemes[i], ntohs(sa.sin_port));
        double t0 = now_s();
        mm_gs_result r = mm_gs_remove_game(f->gs, f->a, url, "g9");
        if (r != MM_GS_UNAVAILABLE)
            fail_msg("%s: got %s", url, mm_gs_result_name(r));
        assert_true(now_s() - t0 < 0.5);
        int fd = accept(lfd, NULL, NULL);
        if (fd >= 0) {
            close(fd);
            fail_msg("%s: the client connected", url);
        }
    }
    close(lfd);
    assert_int_equal(mm_gs_remove_game(f->gs, f->a, "file:///etc", "g9"), MM_GS_UNAVAILABLE);
    /* the client is still good for a real game server afterwards */
    assert_int_equal(mm_gs_remove_game(f->gs, f->a, gs_url(), "g9"), MM_GS_OK);
}

static void connection_is_reused_across_calls(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 5; i++) {
        const char *token = NULL;
        assert_int_equal(mm_gs_create_game(f->gs, f->a, gs_url(), "g10", "u1", "alice", &token),
                         MM_GS_OK);
        assert_int_equal(mm_gs_join_game(f->gs, f->a, gs_url(), "g10", "u2", "bob"), MM_GS_OK);
        assert_int_equal(mm_gs_remove_player(f->gs, f->a, gs_url(), "g10", "u2"), MM_GS_OK);
        assert_int_equal(mm_gs_remove_game(f->gs, f->a, gs_url(), "g10"), MM_GS_OK);
        mm_arena_reset(f->a);
    }
    assert_int_equal(mm_gs_client_connects(f->gs), 1);
    json_object *calls = gs_calls(NULL);
    assert_int_equal(json_object_array_length(calls), 20);
    json_object_put(calls);
}

static void odd_username_arrives_intact(void **state)
{
    fixture *f = *state;
    static const char name[] = "q\"uote back\\slash /slash \xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97 "
                               "\xf0\x9f\x98\x80 tab\t nl\n ctl\x01 {\"x\":1} end";
    static const char gid[] = "g\"11\\";
    const char *token = NULL;
    assert_int_equal(mm_gs_create_game(f->gs, f->a, gs_url(), gid, "u\xc3\xa9", name, &token),
                     MM_GS_OK);
    assert_int_equal(mm_gs_join_game(f->gs, f->a, gs_url(), gid, "u2", name), MM_GS_OK);
    json_object *calls = gs_calls(NULL);
    assert_int_equal(json_object_array_length(calls), 2);
    for (size_t i = 0; i < 2; i++) {
        json_object *body, *v;
        assert_true(json_object_object_get_ex(json_object_array_get_idx(calls, i), "body", &body));
        assert_true(json_object_object_get_ex(body, "username", &v));
        assert_int_equal(json_object_get_string_len(v), strlen(name));
        assert_string_equal(json_object_get_string(v), name);
        assert_true(json_object_object_get_ex(body, "gameId", &v));
        assert_string_equal(json_object_get_string(v), gid);
    }
    json_object *body, *v;
    assert_true(json_object_object_get_ex(json_object_array_get_idx(calls, 0), "body", &body));
    assert_true(json_object_object_get_ex(body, "userId", &v));
    assert_string_equal(json_object_get_string(v), "u\xc3\xa9");
    json_object_put(calls);
}

/* A 200 whose body is {"gameToken":"t"} padded with spaces to body_len bytes: cut short
 * anywhere past the object it would still be a valid answer, so only a real cap refuses it. */
static char *ok_answer_with_body(const char *extra_headers, size_t body_len, size_t *len)
{
    char head[256];
    int h = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n%s\r\n", extra_headers);
    assert_true(h > 0 && (size_t)h < sizeof(head));
    static const char start[] = "{\"gameToken\":\"t\"}";
    *len = (size_t)h + body_len;
    char *a = malloc(*len);
    assert_non_null(a);
    memcpy(a, head, (size_t)h);
    memset(a + h, ' ', body_len);
    memcpy(a + h, start, sizeof(start) - 1);
    return a;
}

static void answer_over_64k_is_unavailable_and_leaves_no_trace(void **state)
{
    fixture *f = *state;
    char hdr[128];
    /* with a Content-Length (curl can refuse up front) and without (the buffer cap must) */
    for (int framed = 0; framed <= 1; framed++) {
        size_t body_len = MM_GS_MAX_ANSWER + 1, len;
        if (framed)
            snprintf(hdr, sizeof(hdr), "Content-Length: %zu\r\nConnection: close\r\n", body_len);
        else
            snprintf(hdr, sizeof(hdr), "Connection: close\r\n");
        char *answer = ok_answer_with_body(hdr, body_len, &len);
        fake_server s;
        fake_start(&s, answer, len);
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
        const char *token = "sentinel";
        mm_gs_result r = mm_gs_create_game(f->gs, f->a, url, "g12", "u1", "alice", &token);
        fake_stop(&s);
        fake_free(&s);
        free(answer);
        if (r != MM_GS_UNAVAILABLE)
            fail_msg("answer of %zu bytes (framed %d): got %s", body_len, framed,
                     mm_gs_result_name(r));
        assert_null(token);
    }
    /* exactly 64 KiB is accepted, and nothing of the aborted answers is left over */
    size_t len;
    snprintf(hdr, sizeof(hdr), "Content-Length: %zu\r\nConnection: close\r\n", MM_GS_MAX_ANSWER);
    char *answer = ok_answer_with_body(hdr, MM_GS_MAX_ANSWER, &len);
    fake_server s;
    fake_start(&s, answer, len);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
    const char *token = NULL;
    assert_int_equal(mm_gs_create_game(f->gs, f->a, url, "g12", "u1", "alice", &token), MM_GS_OK);
    assert_string_equal(token, "t");
    fake_stop(&s);
    fake_free(&s);
    free(answer);
    assert_int_equal(mm_gs_create_game(f->gs, f->a, gs_url(), "g12", "u1", "alice", &token),
                     MM_GS_OK);
    assert_int_equal(strlen(token), 32);
}

static void redirect_is_not_followed(void **state)
{
    fixture *f = *state;
    char answer[512];
    int n = snprintf(answer, sizeof(answer),
                     "HTTP/1.1 307 Temporary Redirect\r\nLocation: %s/create_game\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n",
                     gs_url());
    fake_server s;
    fake_start(&s, answer, (size_t)n);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
    const char *token = "sentinel";
    mm_gs_result r = mm_gs_create_game(f->gs, f->a, url, "g13", "u1", "alice", &token);
    fake_stop(&s);
    fake_free(&s);
    assert_int_equal(r, MM_GS_REFUSED);
    assert_null(token);
    json_object *calls = gs_calls(NULL);
    assert_int_equal(json_object_array_length(calls), 0);
    json_object_put(calls);
}

static void request_is_a_plain_json_post(void **state)
{
    fixture *f = *state;
    /* a body over 1 MiB: where libcurl would add "Expect: 100-continue" unless told not to */
    size_t name_len = (size_t)1536 * 1024;
    char *name = malloc(name_len + 1);
    assert_non_null(name);
    memset(name, 'n', name_len);
    name[name_len] = '\0';
    static const char answer[] = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
    fake_server s;
    fake_start(&s, answer, sizeof(answer) - 1);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/prefix", s.port);
    mm_gs_result r = mm_gs_join_game(f->gs, f->a, url, "g14", "u1", name);
    fake_stop(&s);
    assert_int_equal(r, MM_GS_OK);

    s.request[s.request_len] = '\0';
    char *end = strstr(s.request, "\r\n\r\n");
    assert_non_null(end);
    *end = '\0';
    const char *head = s.request, *body = end + 4;
    assert_true(strncmp(head, "POST /prefix/join_game HTTP/1.1\r\n", 33) == 0);
    assert_non_null(strcasestr(head, "\r\nContent-Type: application/json\r\n"));
    assert_null(strcasestr(head, "\r\nExpect:"));
    assert_null(strcasestr(head, "\r\nTransfer-Encoding:"));
    char want_len[64];
    snprintf(want_len, sizeof(want_len), "\r\nContent-Length: %zu", strlen(body));
    assert_non_null(strcasestr(head, want_len));
    json_object *o = json_tokener_parse(body);
    assert_non_null(o);
    assert_int_equal(json_object_object_length(o), 3);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "username", &v));
    assert_int_equal(json_object_get_string_len(v), name_len);
    assert_true(json_object_object_get_ex(o, "gameId", &v));
    assert_string_equal(json_object_get_string(v), "g14");
    assert_true(json_object_object_get_ex(o, "userId", &v));
    assert_string_equal(json_object_get_string(v), "u1");
    json_object_put(o);
    fake_free(&s);
    free(name);
}

int main(void)
{
    mm_log_init("test_gameserver_client", MM_LOG_DEBUG);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(create_returns_token_and_sends_exact_body),
        T(join_and_removes_succeed_and_send_exact_bodies),
        T(injected_400_and_500_are_refused),
        T(hang_past_timeout_is_unavailable_in_time),
        T(garbage_answer_fails_create_but_not_join),
        T(answer_without_token_is_unavailable),
        T(closed_without_answer_is_unavailable),
        T(closed_on_a_kept_alive_connection_is_unavailable),
        T(connection_refused_is_unavailable_fast),
        T(only_http_urls_are_used),
        T(connection_is_reused_across_calls),
        T(odd_username_arrives_intact),
        T(answer_over_64k_is_unavailable_and_leaves_no_trace),
        T(redirect_is_not_followed),
        T(request_is_a_plain_json_post),
    };
#undef T
    return cmocka_run_group_tests_name("integration: game server client", tests, NULL, NULL);
}
