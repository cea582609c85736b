#include "itest.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <strings.h>
#include <time.h>

#include "jwt.h"
#include "redis_url.h"

typedef struct {
    char *data;
    size_t len;
} growbuf;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    growbuf *b = userdata;
    size_t n = size * nmemb;
    char *p = realloc(b->data, b->len + n + 1);
    if (p == NULL)
        return 0;
    memcpy(p + b->len, ptr, n);
    b->len += n;
    p[b->len] = '\0';
    b->data = p;
    return n;
}

const char *itest_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        fail_msg("environment variable %s is not set (run through with_stack.sh)", name);
    return v;
}

/* Ends the test. cmocka's fail_msg() leaves it by a longjmp but is not declared noreturn: said
 * here, so that the analyzer, too, knows nothing after a failed transfer runs. */
static _Noreturn void transfer_failed(const char *method, const char *path, CURLcode rc)
{
    fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    abort(); /* not reached */
}

static void exchange(CURL *curl, const char *base, const char *sock, const char *method,
                     const char *path, const char *const *headers, const char *body,
                     size_t body_len, itest_response *out)
{
    assert_non_null(curl);
    curl_easy_reset(curl);
    char url[16384];
    snprintf(url, sizeof(url), "%s%s", base, path);
    growbuf b = {0}, h = {0};
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hl = curl_slist_append(hl, headers[i]);
    if (sock != NULL)
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(hl);
    if (rc != CURLE_OK) {
        free(b.data);
        free(h.data);
        transfer_failed(method, path, rc);
    }
    memset(out, 0, sizeof(*out));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &out->seconds);
    out->body = b.data ? b.data : calloc(1, 1);
    out->body_len = b.len;
    out->headers = h.data ? h.data : calloc(1, 1);
}

void itest_request(const char *method, const char *path, const char *const *headers,
                   const char *body, size_t body_len, itest_response *out)
{
    static CURL *curl; /* reused: keep-alive to nginx like a real client */
    if (curl == NULL)
        curl = curl_easy_init();
    exchange(curl, "http://localhost", itest_env("MM_TEST_NGINX_SOCK"), method, path, headers, body,
             body_len, out);
}

void itest_gs(const char *method, const char *path, const char *body, itest_response *out)
{
    static CURL *curl;
    if (curl == NULL)
        curl = curl_easy_init();
    exchange(curl, itest_env("MM_TEST_GS_URL"), NULL, method, path, NULL, body,
             body ? strlen(body) : 0, out);
}

void itest_gs2(const char *method, const char *path, const char *body, itest_response *out)
{
    static CURL *curl;
    if (curl == NULL)
        curl = curl_easy_init();
    exchange(curl, itest_env("MM_TEST_GS2_URL"), NULL, method, path, NULL, body,
             body ? strlen(body) : 0, out);
}

int itest_nginx_connect(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *sock = itest_env("MM_TEST_NGINX_SOCK");
    assert_true(strlen(sock) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        fail_msg("connect to nginx: %s", strerror(errno));
    return fd;
}

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void itest_raw(const char *request, size_t len, itest_response *out)
{
    double t0 = monotonic_s();
    int fd = itest_nginx_connect();
    for (size_t done = 0; done < len;) {
        /* nginx may answer and close before it has read everything (a long URI, a body
         * over the limit): no SIGPIPE, the answer is read all the same */
        ssize_t w = send(fd, request + done, len - done, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    size_t cap = 1 << 20, got = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t n;
    while (got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    memset(out, 0, sizeof(*out));
    out->seconds = monotonic_s() - t0;
    /* the header block stays in buf (status line cut off), the body is copied out of it;
     * an answer that is not HTTP/1.1 has status 0, its bytes as headers and no body */
    char *sep = strstr(buf, "\r\n\r\n");
    const char *eol = strchr(buf, '\n');
    if (sep != NULL && eol != NULL && eol < sep && sscanf(buf, "HTTP/1.1 %ld", &out->status) == 1) {
        sep[2] = '\0';
        out->body = strdup(sep + 4);
        memmove(buf, eol + 1, strlen(eol + 1) + 1);
    } else {
        out->status = 0;
        out->body = strdup("");
    }
    out->headers = buf;
    assert_non_null(out->body);
    out->body_len = strlen(out->body);
}

void itest_gs_fail(const char *op, const char *mode, const char *extra)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"op\": \"%s\", \"mode\": \"%s\"%s%s}", op, mode,
             extra ? ", " : "", extra ? extra : "");
    itest_response r;
    itest_gs("POST", "/_control/fail", body, &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
}

void itest_gs_reset(void)
{
    itest_response r;
    itest_gs("POST", "/_control/reset", "{}", &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
}

void itest_response_free(itest_response *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

int itest_header(const itest_response *r, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    for (const char *line = r->headers; line != NULL && *line != '\0';) {
        const char *eol = strstr(line, "\r\n");
        size_t llen = eol ? (size_t)(eol - line) : strlen(line);
        if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            size_t vlen = (size_t)(line + llen - v);
            if (vlen >= outlen)
                vlen = outlen - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 0;
        }
        line = eol ? eol + 2 : NULL;
    }
    return -1;
}

void itest_stack(const char *action)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "'%s' %s", itest_env("MM_TEST_STACK"), action);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("stack.sh %s failed (%d)", action, rc);
}

redisContext *itest_redis(int db)
{
    redisContext *c = redisConnectUnix(itest_env("MM_TEST_REDIS_SOCK"));
    assert_true(c != NULL && c->err == 0);
    if (db != 0)
        freeReplyObject(redisCommand(c, "SELECT %d", db));
    return c;
}

mm_store *itest_store_open(mm_rconn **conn)
{
    mm_redis_url u;
    char err[128], url[256];
    snprintf(url, sizeof(url), "unix://%s", itest_env("MM_TEST_REDIS_SOCK"));
    assert_int_equal(mm_redis_url_parse(url, &u, err, sizeof(err)), MM_OK);
    *conn = mm_rconn_new(&u, 500);
    assert_non_null(*conn);
    mm_store *s = mm_store_new(*conn);
    assert_non_null(s);
    return s;
}

double itest_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void itest_sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

int itest_fixture_open(redisContext **raw, mm_rconn **conn, mm_store **store, mm_arena **arena)
{
    *raw = itest_redis(0);
    *store = itest_store_open(conn);
    *arena = mm_arena_new(0);
    return *raw == NULL || *store == NULL || *arena == NULL ? -1 : 0;
}

void itest_fixture_close(redisContext *raw, mm_rconn *conn, mm_store *store, mm_arena *arena)
{
    mm_store_free(store);
    mm_rconn_free(conn);
    mm_arena_free(arena);
    if (raw != NULL)
        redisFree(raw);
}

void itest_fixture_fresh(redisContext *raw, mm_arena *arena)
{
    freeReplyObject(redisCommand(raw, "FLUSHALL"));
    mm_arena_reset(arena);
}

const char *itest_auth(mm_arena *a, const char *user_id, const char *username)
{
    char payload[512];
    long now = (long)time(NULL);
    snprintf(payload, sizeof(payload),
             "{\"user_id\": \"%s\", \"username\": \"%s\", \"token_type\": \"access\", "
             "\"iat\": %ld, \"exp\": %ld, \"jti\": \"j1\"}",
             user_id, username, now, now + 3600);
    char *t = mm_jwt_sign(a, payload, (const unsigned char *)ITEST_SECRET, strlen(ITEST_SECRET));
    assert_non_null(t);
    return mm_arena_printf(a, "Authorization: Bearer %s", t);
}

int itest_gs_calls(const char *op, const char *needle)
{
    char path[64];
    snprintf(path, sizeof(path), "/_calls?op=%s", op);
    itest_response r;
    itest_gs("GET", path, NULL, &r);
    assert_int_equal(r.status, 200);
    int n = 0;
    if (needle == NULL) {
        json_object *j = json_tokener_parse(r.body);
        assert_true(json_object_is_type(j, json_type_array));
        n = (int)json_object_array_length(j);
        json_object_put(j);
    } else {
        for (const char *p = r.body; (p = strstr(p, needle)) != NULL; p++)
            n++;
    }
    itest_response_free(&r);
    return n;
}

int itest_log_line(const char *needle, char *line, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/fcgi.log", itest_env("MM_TEST_RUN_DIR"));
    for (int attempt = 0; attempt < 20; attempt++) {
        FILE *f = fopen(path, "r");
        if (f == NULL)
            return -1;
        int found = 0;
        while (!found && fgets(line, (int)cap, f) != NULL)
            found = strstr(line, needle) != NULL;
        fclose(f);
        if (found)
            return 0;
        usleep(50000);
    }
    return -1;
}

const char *itest_create_game(mm_arena *a, const char *product, const char *user)
{
    const char *h[] = {itest_auth(a, user, user), NULL};
    itest_response r;
    itest_request("POST", mm_arena_printf(a, "/game_lobby/%s/create_game", product), h, "{}", 2,
                  &r);
    if (r.status != 200)
        fail_msg("create_game on %s as %s: %ld %s", product, user, r.status, r.body);
    json_object *j = json_tokener_parse(r.body), *id = NULL;
    assert_true(j != NULL && json_object_object_get_ex(j, "game_id", &id));
    const char *game = mm_arena_strdup(a, json_object_get_string(id));
    json_object_put(j);
    itest_response_free(&r);
    return game;
}

void itest_creator_joined(const char *product, const char *game_id)
{
    redisContext *c = itest_redis(1);
    redisReply *r = redisCommand(c,
                                 "XADD game_event_stream * product_id %s game_id %s type "
                                 "state_change new_state creator_joined",
                                 product, game_id);
    assert_true(r != NULL && r->type == REDIS_REPLY_STRING);
    freeReplyObject(r);
    redisFree(c);
}

void itest_stop_stack_worker(void)
{
    char pidfile[512];
    snprintf(pidfile, sizeof(pidfile), "%s/worker.pid", itest_env("MM_TEST_RUN_DIR"));
    FILE *f = fopen(pidfile, "r");
    long pid = 0;
    if (f != NULL && fscanf(f, "%ld", &pid) == 1 && pid > 0)
        kill((pid_t)pid, SIGTERM);
    if (f != NULL)
        fclose(f);
}
