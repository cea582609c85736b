/* mm-test-gameserver: the test and demo game server (SPEC section 4) for the matchmaker.
 * A small HTTP/1.1 server, one thread per connection, whose control endpoints let tests inject
 * faults, read back the calls it received, and XADD game events to a Redis stream. */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "log.h"
#include "rconn.h"
#include "redis_url.h"
#include "sentinel.h"
#include "text.h"

#define GS_PROG "mm-test-gameserver"
#define GS_HEADER_MAX (16 * 1024)
#define GS_BODY_MAX ((long)1024 * 1024)
#define GS_IDLE_TIMEOUT_S 30
#define GS_LISTEN_BACKLOG 1024
#define GS_CONN_MAX 4096
#define GS_THREAD_STACK ((size_t)512 * 1024)
#define GS_JSON_DEPTH 32
#define GS_LINGER_MS 500
#define GS_LINGER_BYTES ((size_t)4 * 1024 * 1024)
#define GS_SHUTDOWN_WAIT_MS 150
#define GS_CALLS_MAX 100000
#define GS_CALLS_BYTES_MAX ((size_t)64 * 1024 * 1024)
#define GS_CALL_OVERHEAD 64 /* {"op":"remove_player","body":,"status":599}, */
#define GS_HANG_MS_MAX 3600000
#define GS_EMIT_FIELDS_MAX 16
#define GS_EMIT_STREAM "game_event_stream"
#define GS_REDIS_TIMEOUT_MS 1000
#define GS_SMALL_BODY 640
#define GS_TOKEN_BYTES 16

/* ---- logging ---------------------------------------------------------------------------- */

static int log_fd = STDERR_FILENO;
static int log_verbose;

static void gs_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line, one write(2), so lines from concurrent threads never interleave. The message is
 * scrubbed of quotes and control bytes because it may carry a client's path. */
static void gs_log(const char *level, const char *fmt, ...)
{
    char msg[1024];
    char line[1400];
    struct timeval tv;
    struct tm tm;

    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ level=%s prog=%s msg=\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)tv.tv_usec, level, GS_PROG);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    size_t len = (size_t)n;
    /* room for the closing quote and the newline */
    len += mm_log_clean(line + len, sizeof(line) - len - 1, msg, strlen(msg), true);
    line[len++] = '"';
    line[len++] = '\n';
    ssize_t w = write(log_fd, line, len);
    (void)w;
}

#define log_info(...) gs_log("info", __VA_ARGS__)
#define log_error(...) gs_log("error", __VA_ARGS__)

/* ---- shutdown and sleeping -------------------------------------------------------------- */

static atomic_int stopping;
static int signal_pipe[2] = {-1, -1};
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond; /* CLOCK_MONOTONIC, set up in main */

static void on_stop_signal(int sig)
{
    int saved = errno;
    char b = (char)sig;
    ssize_t w = write(signal_pipe[1], &b, 1);
    (void)w;
    errno = saved;
}

static void deadline_after_ms(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static long ms_until(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (deadline->tv_sec - now.tv_sec) * 1000L + (deadline->tv_nsec - now.tv_nsec) / 1000000L;
}

/* A sleep that shutdown can cut short (a "hang" fault must not delay exit). -1 if stopping. */
static int sleep_ms(long ms)
{
    struct timespec deadline;
    deadline_after_ms(&deadline, ms);
    pthread_mutex_lock(&stop_lock);
    while (!atomic_load(&stopping)) {
        if (pthread_cond_timedwait(&stop_cond, &stop_lock, &deadline) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&stop_lock);
    return atomic_load(&stopping) ? -1 : 0;
}

/* ---- small JSON output helpers ---------------------------------------------------------- */

/* A growable byte buffer with a hard maximum. */
typedef struct {
    char *p;
    size_t len, cap, max;
} gs_buf;

static int buf_append(gs_buf *b, const char *s, size_t n)
{
    if (n > b->max - b->len)
        return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        if (cap > b->max)
            cap = b->max;
        char *np = realloc(b->p, cap);
        if (np == NULL)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

static int buf_append_str(gs_buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

/* ---- HTTP request parsing (no I/O) ------------------------------------------------------- */

typedef struct {
    const char *method;
    size_t method_len;
    const char *path; /* target up to '?' */
    size_t path_len;
    const char *query; /* after '?', or NULL */
    size_t query_len;
    int http10;
    int keep_alive;
    int expect_continue;
    long content_length;
    size_t head_len; /* bytes of request line + headers + blank line */
    const char *body;
    size_t body_len;
    char *body_owned; /* set when the body did not fit in the connection buffer */
} gs_request;

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int span_eq_ci(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static int span_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Finds the end of the header block ("\n\n" or "\n\r\n"), scanning from *scan so that bytes
 * arriving in pieces are looked at once. Returns the block length, or 0 if not complete. */
static size_t http_head_end(const char *buf, size_t len, size_t *scan)
{
    size_t i = *scan;
    for (; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 >= len)
            break;
        if (buf[i + 1] == '\n')
            return i + 2;
        if (buf[i + 1] == '\r') {
            if (i + 2 >= len)
                break;
            if (buf[i + 2] == '\n')
                return i + 3;
        }
    }
    *scan = i;
    return 0;
}

static int parse_request_line(const char *s, size_t n, gs_request *req)
{
    const char *sp1 = memchr(s, ' ', n);
    if (sp1 == NULL || sp1 == s || sp1 - s > 16)
        return 400;
    req->method = s;
    req->method_len = (size_t)(sp1 - s);
    for (size_t i = 0; i < req->method_len; i++) {
        if (!is_tchar((unsigned char)s[i]))
            return 400;
    }
    const char *t = sp1 + 1;
    const char *end = s + n;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (sp2 == NULL || sp2 == t || *t != '/')
        return 400;
    for (const char *p = t; p < sp2; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 400;
    }
    const char *q = memchr(t, '?', (size_t)(sp2 - t));
    req->path = t;
    req->path_len = (size_t)((q ? q : sp2) - t);
    req->query = q ? q + 1 : NULL;
    req->query_len = q ? (size_t)(sp2 - q - 1) : 0;
    const char *v = sp2 + 1;
    size_t vlen = (size_t)(end - v);
    if (span_eq(v, vlen, "HTTP/1.1"))
        return 0;
    if (span_eq(v, vlen, "HTTP/1.0")) {
        req->http10 = 1;
        return 0;
    }
    if (vlen == 8 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
        v[7] >= '0' && v[7] <= '9')
        return 505;
    return 400;
}

/* Content-Length: digits only; anything over the body limit is just "too large". */
static int parse_content_length(const char *v, size_t n, long *out)
{
    long val = 0;
    if (n == 0)
        return 400;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 400;
        if (val <= GS_BODY_MAX)
            val = val * 10 + (v[i] - '0');
    }
    *out = val;
    return 0;
}

static void parse_connection(const char *v, size_t n, int *close, int *keep)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (span_eq_ci(v + start, end - start, "close"))
            *close = 1;
        else if (span_eq_ci(v + start, end - start, "keep-alive"))
            *keep = 1;
    }
}

/* Parses a complete header block of head_len bytes. Returns 0, or the HTTP status to answer
 * before closing: 400 malformed, 411 Transfer-Encoding, 413 body too large, 505 version. */
static int http_parse_head(const char *buf, size_t head_len, gs_request *req)
{
    int conn_close = 0, conn_keep = 0, has_te = 0, too_large = 0;
    long cl = -1;
    const char *p = buf;
    const char *end = buf + head_len;
    int first = 1;

    memset(req, 0, sizeof(*req));
    req->head_len = head_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            return 400;
        size_t n = (size_t)(nl - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        const char *line = p;
        p = nl + 1;
        if (n == 0)
            break; /* the blank line */
        if (memchr(line, '\r', n) != NULL || memchr(line, '\0', n) != NULL)
            return 400;
        if (first) {
            int st = parse_request_line(line, n, req);
            if (st != 0)
                return st;
            first = 0;
            continue;
        }
        const char *colon = memchr(line, ':', n);
        if (colon == NULL || colon == line)
            return 400; /* also rejects obsolete line folding */
        size_t nlen = (size_t)(colon - line);
        for (size_t i = 0; i < nlen; i++) {
            if (!is_tchar((unsigned char)line[i]))
                return 400;
        }
        const char *v = colon + 1;
        const char *vend = line + n;
        while (v < vend && (*v == ' ' || *v == '\t'))
            v++;
        while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;
        size_t vlen = (size_t)(vend - v);
        for (size_t i = 0; i < vlen; i++) {
            unsigned char c = (unsigned char)v[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return 400;
        }
        if (span_eq_ci(line, nlen, "content-length")) {
            long val;
            if (parse_content_length(v, vlen, &val) != 0 || (cl >= 0 && cl != val))
                return 400;
            cl = val;
        } else if (span_eq_ci(line, nlen, "transfer-encoding")) {
            has_te = 1;
        } else if (span_eq_ci(line, nlen, "connection")) {
            parse_connection(v, vlen, &conn_close, &conn_keep);
        } else if (span_eq_ci(line, nlen, "expect")) {
            req->expect_continue = span_eq_ci(v, vlen, "100-continue");
        }
    }
    if (first)
        return 400;
    if (has_te)
        return 411;
    if (cl > GS_BODY_MAX)
        too_large = 1;
    if (too_large)
        return 413;
    req->content_length = cl < 0 ? 0 : cl;
    req->keep_alive = req->http10 ? (conn_keep && !conn_close) : !conn_close;
    return 0;
}

/* ---- responses -------------------------------------------------------------------------- */

typedef struct {
    int status;
    const char *body;
    size_t len;
    char *owned;       /* freed after sending */
    const char *allow; /* Allow header for 405 */
    int drop;          /* close without answering */
    int close;         /* close after answering */
    long hang_ms;      /* wait this long before answering */
    char small[GS_SMALL_BODY];
} gs_response;

static void res_static(gs_response *res, int status, const char *body)
{
    res->status = status;
    res->body = body;
    res->len = strlen(body);
}

/* {"<key>":"<text>"} in the response's own small buffer; a text too long for it is cut
 * (where it is cut, ill-formed UTF-8 becomes U+FFFD: the body stays valid JSON). */
static void res_json_text(gs_response *res, int status, const char *key, const char *text)
{
    char *b = res->small;
    size_t cap = sizeof(res->small);
    int head = snprintf(b, cap, "{\"%s\":\"", key);
    size_t len = strlen(text);
    size_t room = cap - (size_t)head - 2; /* "} */
    if (mm_json_escape(NULL, 0, text, len) > room)
        len = room / 6; /* no byte escapes to more than 6 */
    size_t n = (size_t)head + mm_json_escape(b + head, room, text, len);
    b[n++] = '"';
    b[n++] = '}';
    res->status = status;
    res->body = b;
    res->len = n;
}

static void res_error(gs_response *res, int status, const char *msg)
{
    res_json_text(res, status, "error", msg);
}

static const char *reason_phrase(int status)
{
    static const struct {
        int code;
        const char *text;
    } table[] = {
        {100, "Continue"},
        {200, "OK"},
        {201, "Created"},
        {204, "No Content"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {411, "Length Required"},
        {413, "Content Too Large"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (table[i].code == status)
            return table[i].text;
    }
    return "Status";
}

static int send_all(int fd, struct iovec *iov, int iovcnt)
{
    while (iovcnt > 0) {
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        size_t left = (size_t)w;
        while (iovcnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

/* 1xx, 204 and 304 carry no body (RFC 9110); after a 1xx no final answer follows, so close. */
static int send_response(int fd, const gs_response *res, int keep_alive)
{
    char head[512];
    int bodyless = res->status < 200 || res->status == 204 || res->status == 304;
    char length[48] = "";
    char allow[64] = "";
    if (!bodyless || res->status == 304)
        snprintf(length, sizeof(length), "Content-Length: %zu\r\n", bodyless ? 0 : res->len);
    if (res->allow != NULL)
        snprintf(allow, sizeof(allow), "Allow: %s\r\n", res->allow);
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "%s%sConnection: %s\r\n\r\n",
                     res->status, reason_phrase(res->status), length, allow,
                     keep_alive && res->status >= 200 ? "keep-alive" : "close");
    if (n < 0 || (size_t)n >= sizeof(head))
        return -1;
    struct iovec iov[2] = {{head, (size_t)n}, {(void *)res->body, bodyless ? 0 : res->len}};
    return send_all(fd, iov, iov[1].iov_len > 0 ? 2 : 1);
}

/* ---- connections ------------------------------------------------------------------------ */

typedef struct gs_conn {
    int fd;
    struct gs_conn *prev, *next;
    json_tokener *tok; /* reused across this connection's requests */
    size_t used;       /* bytes in buf */
    char buf[GS_HEADER_MAX];
} gs_conn;

/* Every live connection, so that shutdown can wake threads blocked in recv(). */
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conns_cond; /* CLOCK_MONOTONIC, signalled when the list empties */
static gs_conn *conns;
static int conns_count;

/* Reads more bytes into the connection buffer: >0 read, 0 peer closed, -1 error or idle. */
static ssize_t conn_fill(gs_conn *c)
{
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + c->used, sizeof(c->buf) - c->used, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r > 0)
            c->used += (size_t)r;
        return r;
    }
}

static int recv_exact(int fd, char *dst, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, dst + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Drains what the client still sends after an early error answer, so that closing does not
 * reset the connection and destroy the answer before the client reads it. */
static void conn_linger(gs_conn *c)
{
    struct timespec deadline;
    size_t drained = 0;
    shutdown(c->fd, SHUT_WR);
    deadline_after_ms(&deadline, GS_LINGER_MS);
    while (drained < GS_LINGER_BYTES && !atomic_load(&stopping)) {
        long left = ms_until(&deadline);
        if (left <= 0)
            break;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), 0);
        if (r <= 0)
            break;
        drained += (size_t)r;
    }
}

/* Reads one request: 0 with req filled, -1 to close silently (EOF, idle timeout, error), or
 * an HTTP status to answer before closing. */
static int conn_read_request(gs_conn *c, gs_request *req)
{
    size_t scan = 0, head_len;

    for (;;) {
        /* Clients may send stray blank lines between requests (RFC 9112 2.2). */
        size_t skip = 0;
        while (skip < c->used && (c->buf[skip] == '\r' || c->buf[skip] == '\n'))
            skip++;
        if (skip > 0) {
            memmove(c->buf, c->buf + skip, c->used - skip);
            c->used -= skip;
            scan = scan > skip ? scan - skip : 0;
        }
        head_len = http_head_end(c->buf, c->used, &scan);
        if (head_len > 0)
            break;
        if (c->used == sizeof(c->buf))
            return 431;
        if (conn_fill(c) <= 0)
            return -1;
    }
    int st = http_parse_head(c->buf, head_len, req);
    if (st != 0)
        return st;
    size_t have = c->used - head_len;
    size_t want = (size_t)req->content_length;
    if (have >= want) {
        req->body = c->buf + head_len;
        req->body_len = want;
        return 0;
    }
    if (req->expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        struct iovec iov = {(void *)cont, sizeof(cont) - 1};
        if (send_all(c->fd, &iov, 1) != 0)
            return -1;
    }
    req->body_owned = malloc(want);
    if (req->body_owned == NULL)
        return -1;
    memcpy(req->body_owned, c->buf + head_len, have);
    if (recv_exact(c->fd, req->body_owned + have, want - have) != 0)
        return -1;
    req->body = req->body_owned;
    req->body_len = want;
    return 0;
}

/* Drops the request's bytes from the buffer, keeping any pipelined bytes that follow. */
static void conn_consume(gs_conn *c, gs_request *req)
{
    size_t n = req->head_len + (req->body_owned ? 0 : req->body_len);
    if (req->body_owned != NULL)
        n = c->used; /* everything buffered belonged to this request */
    memmove(c->buf, c->buf + n, c->used - n);
    c->used -= n;
    free(req->body_owned);
    req->body_owned = NULL;
}

/* ---- control state: fault rules and recorded calls -------------------------------------- */

typedef enum { OP_CREATE, OP_JOIN, OP_REMOVE_GAME, OP_REMOVE_PLAYER, OP_COUNT } gs_op;

static const char *const op_names[OP_COUNT] = {"create_game", "join_game", "remove_game",
                                               "remove_player"};

typedef enum {
    FAULT_NONE,
    FAULT_STATUS,
    FAULT_HANG,
    FAULT_GARBAGE,
    FAULT_NO_TOKEN,
    FAULT_CLOSE,
} gs_fault;

typedef struct {
    gs_fault mode;
    int status;
    long hang_ms;
    long remaining; /* calls left before the rule lapses; -1: until reset */
} gs_rule;

typedef struct {
    gs_op op;
    int status;
    char *body; /* compact JSON, or NULL for an unparsable body */
    size_t len;
} gs_call;

#define RULE_ANY OP_COUNT /* index of the "*" rule */

/* The recorded calls are a ring: when it holds GS_CALLS_MAX calls or GS_CALLS_BYTES_MAX bytes
 * of bodies, the OLDEST calls are dropped, so a long benchmark keeps the latest calls and
 * bounded memory. */
static struct {
    pthread_mutex_t lock;
    gs_rule rules[OP_COUNT + 1];
    gs_call *calls;
    size_t head, count, bytes;
} ctl = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int op_from_name(const char *s, size_t n, int *out)
{
    for (int i = 0; i < OP_COUNT; i++) {
        if (span_eq(s, n, op_names[i])) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

/* The rule that applies to this call (the op's own, else "*"), counting it against "count". */
static gs_rule rule_take(gs_op op)
{
    gs_rule taken;
    pthread_mutex_lock(&ctl.lock);
    gs_rule *r = ctl.rules[op].mode != FAULT_NONE ? &ctl.rules[op] : &ctl.rules[RULE_ANY];
    taken = *r;
    if (r->mode != FAULT_NONE && r->remaining > 0 && --r->remaining == 0)
        memset(r, 0, sizeof(*r));
    pthread_mutex_unlock(&ctl.lock);
    return taken;
}

static void rule_set(int idx, const gs_rule *rule)
{
    pthread_mutex_lock(&ctl.lock);
    ctl.rules[idx] = *rule;
    pthread_mutex_unlock(&ctl.lock);
}

static void call_drop_oldest(void)
{
    gs_call *old = &ctl.calls[ctl.head];
    ctl.bytes -= old->len;
    free(old->body);
    old->body = NULL;
    ctl.head = (ctl.head + 1) % GS_CALLS_MAX;
    ctl.count--;
}

static void calls_clear(void)
{
    while (ctl.count > 0)
        call_drop_oldest();
    ctl.head = 0;
}

static void calls_record(gs_op op, json_object *body, int status)
{
    char *copy = NULL;
    size_t len = 0;
    if (body != NULL) {
        const char *s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
        len = strlen(s);
        copy = malloc(len + 1);
        if (copy == NULL)
            return;
        memcpy(copy, s, len + 1);
    }
    pthread_mutex_lock(&ctl.lock);
    while (ctl.count > 0 && (ctl.count == GS_CALLS_MAX || ctl.bytes + len > GS_CALLS_BYTES_MAX))
        call_drop_oldest();
    gs_call *slot = &ctl.calls[(ctl.head + ctl.count) % GS_CALLS_MAX];
    slot->op = op;
    slot->status = status;
    slot->body = copy;
    slot->len = len;
    ctl.count++;
    ctl.bytes += len;
    pthread_mutex_unlock(&ctl.lock);
}

/* The recorded calls as a JSON array; filter < 0 means all ops. NULL if out of memory. */
static char *calls_render(int filter, size_t *out_len)
{
    gs_buf b = {.max = GS_CALLS_BYTES_MAX + (size_t)GS_CALLS_MAX * GS_CALL_OVERHEAD + 16};
    int failed = buf_append_str(&b, "[");
    pthread_mutex_lock(&ctl.lock);
    int first = 1;
    for (size_t i = 0; i < ctl.count && !failed; i++) {
        const gs_call *call = &ctl.calls[(ctl.head + i) % GS_CALLS_MAX];
        if (filter >= 0 && (int)call->op != filter)
            continue;
        char pre[64], post[32];
        snprintf(pre, sizeof(pre), "%s{\"op\":\"%s\",\"body\":", first ? "" : ",",
                 op_names[call->op]);
        snprintf(post, sizeof(post), ",\"status\":%d}", call->status);
        failed = buf_append_str(&b, pre) ||
                 buf_append(&b, call->body ? call->body : "null", call->body ? call->len : 4) ||
                 buf_append_str(&b, post);
        first = 0;
    }
    pthread_mutex_unlock(&ctl.lock);
    if (failed || buf_append_str(&b, "]") != 0) {
        free(b.p);
        return NULL;
    }
    *out_len = b.len;
    return b.p;
}

/* ---- JSON request bodies ---------------------------------------------------------------- */

/* The body as JSON (any type), or NULL if it is not exactly one JSON value. */
static json_object *parse_json_body(json_tokener *tok, const char *body, size_t len)
{
    if (len == 0 || len > GS_BODY_MAX || memchr(body, '\0', len) != NULL)
        return NULL;
    json_tokener_reset(tok);
    json_object *obj = json_tokener_parse_ex(tok, body, (int)len);
    if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(obj);
        return NULL;
    }
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (!strchr(" \t\r\n", body[i])) {
            json_object_put(obj);
            return NULL;
        }
    }
    return obj;
}

static const char *string_field(json_object *obj, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* ---- handlers --------------------------------------------------------------------------- */

typedef struct {
    gs_conn *conn;
    const gs_request *req;
    int op; /* the route's game-server op, or -1 */
} gs_ctx;

typedef void (*gs_handler)(const gs_ctx *x, gs_response *res);

static const char *const api_fields[OP_COUNT][4] = {
    [OP_CREATE] = {"gameId", "userId", "username", NULL},
    [OP_JOIN] = {"gameId", "userId", "username", NULL},
    [OP_REMOVE_GAME] = {"gameId", NULL},
    [OP_REMOVE_PLAYER] = {"gameId", "userId", NULL},
};

static void api_answer(gs_op op, json_object *body, int no_token, gs_response *res)
{
    if (body == NULL || !json_object_is_type(body, json_type_object)) {
        res_error(res, 400, "body must be a JSON object");
        return;
    }
    for (const char *const *f = api_fields[op]; *f != NULL; f++) {
        if (string_field(body, *f) == NULL) {
            char msg[64];
            snprintf(msg, sizeof(msg), "missing or non-string field: %s", *f);
            res_error(res, 400, msg);
            return;
        }
    }
    if (op != OP_CREATE || no_token) {
        res_static(res, 200, "{\"ok\":true}");
        return;
    }
    unsigned char raw[GS_TOKEN_BYTES];
    char hex[GS_TOKEN_BYTES * 2 + 1];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        res_error(res, 500, "no randomness for the token");
        return;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    int n = snprintf(res->small, sizeof(res->small), "{\"gameToken\":\"%s\"}", hex);
    res->status = 200;
    res->body = res->small;
    res->len = (size_t)n;
}

/* A fault of mode status, garbage or close replaces the answer whatever the body; hang and
 * no_token only change a normal answer, so a bad body still gets its 400. */
static void handle_api(const gs_ctx *x, gs_response *res)
{
    gs_op op = (gs_op)x->op;
    json_object *body = parse_json_body(x->conn->tok, x->req->body, x->req->body_len);
    gs_rule rule = rule_take(op);
    switch (rule.mode) {
    case FAULT_STATUS: res_error(res, rule.status, "injected"); break;
    case FAULT_GARBAGE: res_static(res, 200, "<html>oops"); break;
    case FAULT_CLOSE: res->drop = 1; break;
    default:
        api_answer(op, body, rule.mode == FAULT_NO_TOKEN, res);
        if (rule.mode == FAULT_HANG)
            res->hang_ms = rule.hang_ms;
        break;
    }
    calls_record(op, body, res->drop ? 0 : res->status);
    json_object_put(body);
}

static void handle_health(const gs_ctx *x, gs_response *res)
{
    (void)x;
    res_static(res, 200, "{\"status\":\"ok\"}");
}

static int int_field(json_object *v, long min, long max, long *out)
{
    if (!json_object_is_type(v, json_type_int))
        return -1;
    int64_t i = json_object_get_int64(v);
    if (i < min || i > max)
        return -1;
    *out = (long)i;
    return 0;
}

static const struct {
    const char *name;
    gs_fault mode;
} fault_modes[] = {
    {"ok", FAULT_NONE},         {"status", FAULT_STATUS},     {"hang", FAULT_HANG},
    {"garbage", FAULT_GARBAGE}, {"no_token", FAULT_NO_TOKEN}, {"close", FAULT_CLOSE},
};

/* Validates a /_control/fail body into a rule index and a rule; NULL or the error text. */
static const char *parse_fail_body(json_object *body, int *idx, gs_rule *rule)
{
    const char *op = NULL, *mode = NULL;
    long status = 500, hang_ms = 5000, count = -1;

    if (body == NULL || !json_object_is_type(body, json_type_object))
        return "body must be a JSON object";
    json_object_object_foreach (body, key, val) {
        if (strcmp(key, "op") == 0 && json_object_is_type(val, json_type_string))
            op = json_object_get_string(val);
        else if (strcmp(key, "mode") == 0 && json_object_is_type(val, json_type_string))
            mode = json_object_get_string(val);
        else if (strcmp(key, "status") == 0) {
            if (int_field(val, 100, 599, &status) != 0)
                return "status must be an integer 100..599";
        } else if (strcmp(key, "hang_ms") == 0) {
            if (int_field(val, 0, GS_HANG_MS_MAX, &hang_ms) != 0)
                return "hang_ms must be an integer 0..3600000";
        } else if (strcmp(key, "count") == 0) {
            if (int_field(val, 1, LONG_MAX, &count) != 0)
                return "count must be a positive integer";
        } else if (strcmp(key, "op") == 0 || strcmp(key, "mode") == 0) {
            return "op and mode must be strings";
        } else {
            return "unknown field (allowed: op, mode, status, hang_ms, count)";
        }
    }
    if (op == NULL)
        return "op is required";
    if (strcmp(op, "*") == 0)
        *idx = RULE_ANY;
    else if (op_from_name(op, strlen(op), idx) != 0)
        return "op must be create_game, join_game, remove_game, remove_player or *";
    if (mode == NULL)
        return "mode is required";
    memset(rule, 0, sizeof(*rule));
    for (size_t i = 0; i < sizeof(fault_modes) / sizeof(fault_modes[0]); i++) {
        if (strcmp(mode, fault_modes[i].name) == 0) {
            rule->mode = fault_modes[i].mode;
            if (rule->mode == FAULT_NONE)
                return NULL; /* "ok": the cleared rule */
            rule->status = (int)status;
            rule->hang_ms = hang_ms;
            rule->remaining = count;
            return NULL;
        }
    }
    return "mode must be status, hang, garbage, no_token, close or ok";
}

static void handle_fail(const gs_ctx *x, gs_response *res)
{
    json_object *body = parse_json_body(x->conn->tok, x->req->body, x->req->body_len);
    int idx;
    gs_rule rule;
    const char *err = parse_fail_body(body, &idx, &rule);
    if (err != NULL) {
        res_error(res, 400, err);
    } else {
        rule_set(idx, &rule);
        res_static(res, 200, "{\"ok\":true}");
    }
    json_object_put(body);
}

static void handle_reset(const gs_ctx *x, gs_response *res)
{
    (void)x;
    pthread_mutex_lock(&ctl.lock);
    memset(ctl.rules, 0, sizeof(ctl.rules));
    calls_clear();
    pthread_mutex_unlock(&ctl.lock);
    res_static(res, 200, "{\"ok\":true}");
}

/* ?op=NAME (other parameters are ignored); -1 for no filter, -2 for an unknown op. */
static int calls_filter(const char *q, size_t n)
{
    int filter = -1;
    size_t i = 0;
    while (q != NULL && i < n) {
        const char *amp = memchr(q + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - q) : n;
        if (end - i >= 3 && memcmp(q + i, "op=", 3) == 0 &&
            op_from_name(q + i + 3, end - i - 3, &filter) != 0)
            return -2;
        i = end + 1;
    }
    return filter;
}

static void handle_calls(const gs_ctx *x, gs_response *res)
{
    int filter = calls_filter(x->req->query, x->req->query_len);
    if (filter == -2) {
        res_error(res, 400, "op must be create_game, join_game, remove_game or remove_player");
        return;
    }
    size_t len;
    char *json = calls_render(filter, &len);
    if (json == NULL) {
        res_error(res, 500, "out of memory");
        return;
    }
    res->status = 200;
    res->owned = json;
    res->body = json;
    res->len = len;
}

/* ---- game events: XADD to Redis -------------------------------------------------------- */

/* One connection (core/rconn.c, as the matchmaker's: made on demand, dropped on any error so
 * the next call reconnects; through sentinels when given, so events follow a failover).
 * Its mutex is held across the Redis round trip: that is what serialises its use. */
static struct {
    pthread_mutex_t lock;
    int enabled;
    mm_redis_target target;
    mm_rconn *conn;
} rds = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* XADDs argv; 200 with the entry id in id, or 503 with a reason in err. */
static int redis_xadd(int argc, const char **argv, char *id, size_t idlen, char *err, size_t errlen)
{
    int status = 503;
    pthread_mutex_lock(&rds.lock);
    /* sent once: an XADD whose answer was lost may have been added */
    redisReply *r = mm_rconn_command_argv(rds.conn, MM_RCONN_ONCE, argc, argv, NULL);
    if (r == NULL)
        snprintf(err, errlen, "redis unavailable");
    else if (r->type != REDIS_REPLY_STRING)
        snprintf(err, errlen, "redis XADD: %s",
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    else {
        snprintf(id, idlen, "%s", r->str);
        status = 200;
    }
    pthread_mutex_unlock(&rds.lock);
    if (r != NULL)
        freeReplyObject(r);
    return status;
}

/* Builds the XADD arguments: product_id, game_id, type first, then the other fields in body
 * order. Returns argc, or -1 with the reason in *err. */
static int emit_args(json_object *body, const char **argv, const char **err)
{
    static const char *const fixed[] = {"product_id", "game_id", "type"};
    int argc = 0;

    if (body == NULL || !json_object_is_type(body, json_type_object)) {
        *err = "body must be a JSON object";
        return -1;
    }
    if (json_object_object_length(body) > GS_EMIT_FIELDS_MAX) {
        *err = "at most 16 fields";
        return -1;
    }
    argv[argc++] = "XADD";
    argv[argc++] = GS_EMIT_STREAM;
    argv[argc++] = "*";
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        const char *v = string_field(body, fixed[i]);
        if (v == NULL) {
            *err = "product_id, game_id and type are required strings";
            return -1;
        }
        argv[argc++] = fixed[i];
        argv[argc++] = v;
    }
    json_object_object_foreach (body, key, val) {
        if (!json_object_is_type(val, json_type_string)) {
            *err = "every field must be a string";
            return -1;
        }
        if (strcmp(key, "product_id") == 0 || strcmp(key, "game_id") == 0 ||
            strcmp(key, "type") == 0)
            continue;
        argv[argc++] = key;
        argv[argc++] = json_object_get_string(val);
    }
    return argc;
}

static void handle_emit(const gs_ctx *x, gs_response *res)
{
    const char *argv[3 + 2 * GS_EMIT_FIELDS_MAX];
    const char *bad = NULL;
    char id[128], err[256];

    if (!rds.enabled) {
        res_error(res, 501, "no --redis-url given");
        return;
    }
    json_object *body = parse_json_body(x->conn->tok, x->req->body, x->req->body_len);
    int argc = emit_args(body, argv, &bad);
    if (argc < 0) {
        res_error(res, 400, bad);
        goto out;
    }
    if (redis_xadd(argc, argv, id, sizeof(id), err, sizeof(err)) != 200) {
        log_error("emit failed: %s", err);
        res_error(res, 503, err);
        goto out;
    }
    res_json_text(res, 200, "id", id);
out:
    json_object_put(body);
}

/* ---- routing ---------------------------------------------------------------------------- */

static const struct {
    const char *path;
    const char *method;
    gs_handler handler;
    int op;
} routes[] = {
    {"/create_game", "POST", handle_api, OP_CREATE},
    {"/join_game", "POST", handle_api, OP_JOIN},
    {"/remove_game", "POST", handle_api, OP_REMOVE_GAME},
    {"/remove_player", "POST", handle_api, OP_REMOVE_PLAYER},
    {"/health", "GET", handle_health, -1},
    {"/_calls", "GET", handle_calls, -1},
    {"/_control/fail", "POST", handle_fail, -1},
    {"/_control/reset", "POST", handle_reset, -1},
    {"/_control/emit", "POST", handle_emit, -1},
};

static void route(gs_conn *c, const gs_request *req, gs_response *res)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!span_eq(req->path, req->path_len, routes[i].path))
            continue;
        if (!span_eq(req->method, req->method_len, routes[i].method)) {
            res_error(res, 405, "method not allowed");
            res->allow = routes[i].method;
            return;
        }
        gs_ctx x = {.conn = c, .req = req, .op = routes[i].op};
        routes[i].handler(&x, res);
        return;
    }
    res_error(res, 404, "not found");
}

static void log_request(const gs_request *req, const gs_response *res)
{
    int mlen = (int)(req->method_len < 16 ? req->method_len : 16);
    int plen = (int)(req->path_len < 200 ? req->path_len : 200);
    log_info("request method=%.*s path=%.*s status=%d", mlen, req->method, plen, req->path,
             res->drop ? 0 : res->status);
}

/* Answers one parsed request; returns nonzero if the connection must close afterwards. */
static int conn_serve(gs_conn *c, const gs_request *req)
{
    gs_response res;
    memset(&res, 0, sizeof(res));
    route(c, req, &res);
    if (log_verbose)
        log_request(req, &res);
    if (res.hang_ms > 0 && sleep_ms(res.hang_ms) != 0)
        res.drop = 1;
    int keep = req->keep_alive && !res.close && !res.drop && !atomic_load(&stopping);
    int failed = res.drop || send_response(c->fd, &res, keep) != 0;
    free(res.owned);
    return failed || !keep || res.status < 200;
}

static void conn_unregister(gs_conn *c)
{
    pthread_mutex_lock(&conns_lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (--conns_count == 0)
        pthread_cond_broadcast(&conns_cond);
    /* Closed under the lock so shutdown never touches a reused descriptor. */
    close(c->fd);
    pthread_mutex_unlock(&conns_lock);
}

static void conn_free(gs_conn *c)
{
    if (c->tok != NULL)
        json_tokener_free(c->tok);
    free(c);
}

static void *conn_main(void *arg)
{
    gs_conn *c = arg;
    for (;;) {
        gs_request req;
        memset(&req, 0, sizeof(req));
        int st = conn_read_request(c, &req);
        if (st < 0) {
            free(req.body_owned);
            break;
        }
        if (st > 0) {
            gs_response res;
            memset(&res, 0, sizeof(res));
            res_error(&res, st,
                      st == 431   ? "header block too large"
                      : st == 413 ? "body too large"
                      : st == 411 ? "length required"
                      : st == 505 ? "HTTP version not supported"
                                  : "bad request");
            if (send_response(c->fd, &res, 0) == 0)
                conn_linger(c);
            break;
        }
        int done = conn_serve(c, &req);
        conn_consume(c, &req);
        if (done || atomic_load(&stopping))
            break;
    }
    conn_unregister(c);
    conn_free(c);
    return NULL;
}

static void conn_set_options(int fd)
{
    int one = 1;
    struct timeval tv = {GS_IDLE_TIMEOUT_S, 0};
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Starts a detached thread for fd; on any failure the connection is just closed. */
static void conn_start(int fd, pthread_attr_t *attr)
{
    gs_conn *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->tok = json_tokener_new_ex(GS_JSON_DEPTH)) == NULL) {
        log_error("out of memory for a connection");
        goto out;
    }
    /* Recorded bodies are echoed by /_calls, which must stay valid JSON. */
    json_tokener_set_flags(c->tok, JSON_TOKENER_VALIDATE_UTF8);
    c->fd = fd;
    pthread_mutex_lock(&conns_lock);
    if (conns_count >= GS_CONN_MAX) {
        pthread_mutex_unlock(&conns_lock);
        log_error("too many connections (max %d)", GS_CONN_MAX);
        goto out;
    }
    c->next = conns;
    if (conns != NULL)
        conns->prev = c;
    conns = c;
    conns_count++;
    pthread_mutex_unlock(&conns_lock);
    conn_set_options(fd);

    /* Threads start with the stop signals blocked so that only the main thread sees them. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_t tid;
    int rc = pthread_create(&tid, attr, conn_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        return;
    log_error("pthread_create: %s", strerror(rc));
    conn_unregister(c); /* closes fd */
    conn_free(c);
    return;
out:
    if (c != NULL)
        conn_free(c);
    close(fd);
}

/* Wakes every connection thread and waits briefly for them to finish. Returns 0 if they all
 * did (the shared state may then be freed). */
static int conns_shutdown(void)
{
    struct timespec deadline;
    pthread_mutex_lock(&stop_lock);
    pthread_cond_broadcast(&stop_cond);
    pthread_mutex_unlock(&stop_lock);
    deadline_after_ms(&deadline, GS_SHUTDOWN_WAIT_MS);
    pthread_mutex_lock(&conns_lock);
    for (gs_conn *c = conns; c != NULL; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    while (conns_count > 0) {
        if (pthread_cond_timedwait(&conns_cond, &conns_lock, &deadline) == ETIMEDOUT)
            break;
    }
    int left = conns_count;
    pthread_mutex_unlock(&conns_lock);
    return left == 0 ? 0 : -1;
}

/* ---- start-up --------------------------------------------------------------------------- */

typedef struct {
    const char *bind;
    const char *port;
    const char *port_file;
    const char *redis_url;
    const char *log_file;
    mm_sentinel_set sentinels;
} gs_options;

static void usage(FILE *f)
{
    fprintf(f, "usage: " GS_PROG " [-b ADDR] [-p PORT] [--port-file FILE] [--redis-url URL]"
               " [--sentinel HOST:PORT ... --master-name NAME] [--log FILE] [-v]\n"
               "  -b, --bind ADDR      address to listen on (default 127.0.0.1)\n"
               "  -p, --port PORT      port, 0 for an ephemeral one (default 0)\n"
               "      --port-file FILE write the bound port there once listening\n"
               "      --redis-url URL  redis://... or unix://... for POST /_control/emit\n"
               "      --sentinel HOST:PORT  find that Redis's primary through this sentinel\n"
               "                       (repeat for each; the URL then gives only the\n"
               "                       password and database)\n"
               "      --master-name NAME  the master the sentinels monitor (default mymaster)\n"
               "      --log FILE       append log lines to FILE instead of stderr\n"
               "  -v, --verbose        log one line per request\n");
}

/* Returns 0 to run, or the exit code. */
static int parse_args(int argc, char **argv, gs_options *o)
{
    enum { OPT_PORT_FILE = 256, OPT_REDIS_URL, OPT_LOG, OPT_SENTINEL, OPT_MASTER_NAME };
    static const struct option longopts[] = {
        {"bind", required_argument, NULL, 'b'},
        {"port", required_argument, NULL, 'p'},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"redis-url", required_argument, NULL, OPT_REDIS_URL},
        {"sentinel", required_argument, NULL, OPT_SENTINEL},
        {"master-name", required_argument, NULL, OPT_MASTER_NAME},
        {"log", required_argument, NULL, OPT_LOG},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    char why[128];
    o->bind = "127.0.0.1";
    o->port = "0";
    snprintf(o->sentinels.master_name, sizeof(o->sentinels.master_name), "mymaster");
    while ((ch = getopt_long(argc, argv, "b:p:vh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b': o->bind = optarg; break;
        case 'p': o->port = optarg; break;
        case OPT_PORT_FILE: o->port_file = optarg; break;
        case OPT_REDIS_URL: o->redis_url = optarg; break;
        case OPT_SENTINEL:
            if (o->sentinels.n == MM_SENTINELS_MAX ||
                mm_redis_addr_parse(optarg, strlen(optarg), &o->sentinels.addrs[o->sentinels.n],
                                    why, sizeof(why)) != MM_OK) {
                fprintf(stderr, GS_PROG ": --sentinel %s: %s\n", optarg,
                        o->sentinels.n == MM_SENTINELS_MAX ? "at most 16" : why);
                return 2;
            }
            o->sentinels.n++;
            break;
        case OPT_MASTER_NAME:
            if (!mm_sentinel_name_valid(optarg, strlen(optarg))) {
                fprintf(stderr, GS_PROG ": --master-name wants 1..64 of [A-Za-z0-9_.-]\n");
                return 2;
            }
            snprintf(o->sentinels.master_name, sizeof(o->sentinels.master_name), "%s", optarg);
            break;
        case OPT_LOG: o->log_file = optarg; break;
        case 'v': log_verbose = 1; break;
        case 'h': usage(stdout); return 100;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    char *end;
    errno = 0;
    long port = strtol(o->port, &end, 10);
    if (errno != 0 || end == o->port || *end != '\0' || port < 0 || port > 65535) {
        fprintf(stderr, GS_PROG ": invalid port: %s\n", o->port);
        return 2;
    }
    return 0;
}

static int open_listener(const gs_options *o, char *addr, size_t addrlen, int *port)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                             .ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int fd = -1, one = 1;
    int rc = getaddrinfo(o->bind, o->port, &hints, &res);
    if (rc != 0) {
        log_error("cannot resolve %s: %s", o->bind, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, GS_LISTEN_BACKLOG) == 0)
            break;
        log_error("cannot listen on %s:%s: %s", o->bind, o->port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return -1;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        log_error("getsockname: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        *port = ntohs(s6->sin6_port);
        snprintf(addr, addrlen, "[%s]:%d", host, *port);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        *port = ntohs(s4->sin_port);
        snprintf(addr, addrlen, "%s:%d", host, *port);
    }
    return fd;
}

/* Written to FILE.tmp then renamed, so a harness polling FILE never reads half a number. */
static int write_port_file(const char *path, int port)
{
    char tmp[PATH_MAX], text[16];
    int rc = -1, fd = -1;
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int tn = snprintf(text, sizeof(text), "%d\n", port);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        log_error("port file path too long");
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, (size_t)tn) != tn) {
        log_error("cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        fd = -1;
        log_error("cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

static int setup_signals(void)
{
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void init_monotonic_cond(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}

/* Accepts until a stop signal arrives. */
static void accept_loop(int lfd)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, GS_THREAD_STACK);
    for (;;) {
        struct pollfd p[2] = {{.fd = lfd, .events = POLLIN},
                              {.fd = signal_pipe[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll: %s", strerror(errno));
            break;
        }
        if (p[1].revents != 0)
            break;
        if ((p[0].revents & POLLIN) == 0)
            continue;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_start(fd, &attr);
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
            log_error("accept: %s", strerror(errno));
            struct pollfd sp = {.fd = signal_pipe[0], .events = POLLIN};
            poll(&sp, 1, 50); /* back off; the backlog keeps the client */
        }
    }
    pthread_attr_destroy(&attr);
}

int main(int argc, char **argv)
{
    gs_options o;
    char addr[INET6_ADDRSTRLEN + 16], err[256];
    int lfd = -1, port = 0, rc = 1;

    memset(&o, 0, sizeof(o));
    int prc = parse_args(argc, argv, &o);
    if (prc != 0)
        return prc == 100 ? 0 : prc;
    if (o.log_file != NULL) {
        log_fd = open(o.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd < 0) {
            fprintf(stderr, GS_PROG ": cannot open log %s: %s\n", o.log_file, strerror(errno));
            return 2;
        }
    }
    /* rconn's own lines (Redis lost, found again, a new primary) go to the same log */
    mm_log_init(GS_PROG, MM_LOG_INFO);
    if (o.log_file != NULL)
        mm_log_open(o.log_file);
    if (o.redis_url != NULL) {
        if (mm_redis_target_make(o.redis_url, &o.sentinels, &rds.target, err, sizeof(err)) !=
            MM_OK) {
            log_error("invalid --redis-url: %s", err);
            rc = 2;
            goto out;
        }
        rds.conn = mm_rconn_new_target(&rds.target, GS_REDIS_TIMEOUT_MS);
        if (rds.conn == NULL) {
            log_error("out of memory");
            goto out;
        }
        rds.enabled = 1;
    }
    init_monotonic_cond(&stop_cond);
    init_monotonic_cond(&conns_cond);
    ctl.calls = calloc(GS_CALLS_MAX, sizeof(gs_call));
    if (ctl.calls == NULL || setup_signals() != 0) {
        log_error("start-up failed: %s", strerror(errno));
        goto out;
    }
    lfd = open_listener(&o, addr, sizeof(addr), &port);
    if (lfd < 0)
        goto out;
    if (o.port_file != NULL && write_port_file(o.port_file, port) != 0)
        goto out;
    log_info("gameserver listening on %s", addr);

    accept_loop(lfd);
    atomic_store(&stopping, 1);
    close(lfd);
    lfd = -1;
    if (conns_shutdown() != 0) {
        /* A thread is still in a Redis call; its state must outlive it, so just exit. */
        log_info("stopping with connections still open");
        return 0;
    }
    log_info("stopped");
    rc = 0;
out:
    if (lfd >= 0)
        close(lfd);
    if (ctl.calls != NULL) {
        calls_clear();
        free(ctl.calls);
    }
    mm_rconn_free(rds.conn);
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    return rc;
}
