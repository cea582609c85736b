#include "lobby_publisher.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "game.h"
#include "ids.h"
#include "log.h"
#include "text.h"
#include "ws_frame.h"

/* While publishing fails, one line says so at once and then at most one every this long,
 * with the count since the last line: a host whose nginx is down must not fill its log. */
#define FAILURE_LOG_INTERVAL_US ((int64_t)10 * 1000 * 1000)
#define ARENA_MAX ((size_t)256 * 1024) /* a message of the largest document, with room */

static const char *const effect_names[] = {"listed", "updated", "unlisted"};

const char *mm_lobby_effect_name(mm_lobby_effect effect)
{
    if ((size_t)effect >= MM_ARRAY_LEN(effect_names))
        return "unknown";
    return effect_names[effect];
}

/* ---- the message (no I/O) ------------------------------------------------------------ */

/* s as a JSON string, quotes included, in a. */
static char *json_string(mm_arena *a, const char *s)
{
    size_t n = strlen(s);
    size_t inner = mm_json_escape(NULL, 0, s, n);
    char *out = mm_arena_alloc(a, inner + 3);
    if (out == NULL)
        return NULL;
    out[0] = '"';
    mm_json_escape(out + 1, inner, s, n);
    out[inner + 1] = '"';
    out[inner + 2] = '\0';
    return out;
}

mm_status mm_lobby_message(mm_arena *a, const char *product_id, const char *game_id,
                           mm_lobby_effect effect, const char *doc, size_t doc_len,
                           const char **msg, size_t *len)
{
    *msg = NULL;
    *len = 0;
    const char *type = mm_lobby_effect_name(effect);
    const char *game = NULL;
    if (effect != MM_LOBBY_UNLISTED) {
        mm_game g;
        if (doc == NULL || (unsigned)effect >= MM_ARRAY_LEN(effect_names) ||
            mm_game_decode(a, doc, doc_len, &g) != MM_OK)
            return MM_ERR_INVALID;
        if (g.private_game)
            return MM_OK; /* the store never lists one; this is the second lock on that door */
        size_t glen;
        game = mm_game_encode(a, &g, MM_GAME_PARTIAL, NULL, &glen);
        if (game == NULL)
            return MM_ERR_NOMEM;
    }
    const char *pid = json_string(a, product_id);
    const char *gid = json_string(a, game_id);
    if (pid == NULL || gid == NULL)
        return MM_ERR_NOMEM;
    char *out;
    if (game != NULL)
        out = mm_arena_printf(a,
                              "{\"type\": \"%s\", \"product_id\": %s, \"game_id\": %s, "
                              "\"game\": %s}",
                              type, pid, gid, game);
    else
        out = mm_arena_printf(a, "{\"type\": \"%s\", \"product_id\": %s, \"game_id\": %s}", type,
                              pid, gid);
    if (out == NULL)
        return MM_ERR_NOMEM;
    *msg = out;
    *len = strlen(out);
    return MM_OK;
}

/* ---- publishing: one WebSocket per product's channel ---------------------------------
 * nchan publishes each message written to a publisher WebSocket, and answers each with a
 * text frame of the channel's state. Over one kept-alive socket a message costs a frame
 * written and one read of answers now and then: on this project's benchmark machine about
 * a quarter of the CPU of one HTTP POST through libcurl, nginx's share included
 * (BENCHMARKS.md, "Live lobby"). A message counts as published once written; answers are
 * read as they come, without waiting, and messages written on a connection that closes
 * before their answer came count as unconfirmed. */

#define WINDOW 256         /* messages written and not yet answered, per connection */
#define HANDSHAKE_MAX 4096 /* bytes of nginx's 101 answer */
#define READ_CHUNK 4096

typedef struct {
    char product[MM_ID_MAX + 1];
    int fd; /* -1: not connected */
    uint64_t unanswered;
    mm_ws_reader reader;
} channel;

struct mm_lobby_publisher {
    bool on;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host[300]; /* the Host header */
    long timeout_ms;
    channel *channels;
    size_t nchannels, cap;
    mm_arena *arena; /* one message at a time */
    uint64_t mask_state;
    mm_publish_counts counts;
    bool failing;             /* the last publish failed */
    uint64_t unreported;      /* failures not yet in a log line */
    int64_t next_failure_log; /* clock (us) from which the next failure line may be written */
};

/* "unix:/path" or "http://host[:port]" into a socket address. */
static mm_status parse_address(mm_lobby_publisher *p, const char *address)
{
    if (strncmp(address, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)&p->addr;
        size_t n = strlen(address + 5);
        if (n == 0 || n >= sizeof(un->sun_path))
            return MM_ERR_INVALID;
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, address + 5, n + 1);
        p->addr_len = (socklen_t)sizeof(*un);
        snprintf(p->host, sizeof(p->host), "localhost");
        return MM_OK;
    }
    if (strncmp(address, "http://", 7) != 0)
        return MM_ERR_INVALID;
    char host[256], port[16] = "80";
    const char *h = address + 7, *end = h + strcspn(h, "/");
    const char *colon = NULL;
    if (*h == '[') { /* [v6]:port */
        const char *close = memchr(h, ']', (size_t)(end - h));
        if (close == NULL)
            return MM_ERR_INVALID;
        colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
        if ((size_t)(close - h - 1) >= sizeof(host))
            return MM_ERR_INVALID;
        memcpy(host, h + 1, (size_t)(close - h - 1));
        host[close - h - 1] = '\0';
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        const char *host_end = colon ? colon : end;
        if (host_end == h || (size_t)(host_end - h) >= sizeof(host))
            return MM_ERR_INVALID;
        memcpy(host, h, (size_t)(host_end - h));
        host[host_end - h] = '\0';
    }
    if (colon != NULL) {
        size_t n = (size_t)(end - colon - 1);
        if (n == 0 || n >= sizeof(port))
            return MM_ERR_INVALID;
        memcpy(port, colon + 1, n);
        port[n] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
        return MM_ERR_INVALID;
    memcpy(&p->addr, ai->ai_addr, ai->ai_addrlen);
    p->addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    snprintf(p->host, sizeof(p->host), "%.*s", (int)(end - h), h);
    return MM_OK;
}

mm_lobby_publisher *mm_lobby_publisher_new(const char *address, long timeout_ms)
{
    if (timeout_ms <= 0)
        return NULL;
    mm_lobby_publisher *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->timeout_ms = timeout_ms;
    if (address == NULL || address[0] == '\0')
        return p; /* off */
    p->arena = mm_arena_new(ARENA_MAX);
    if (p->arena == NULL || parse_address(p, address) != MM_OK) {
        mm_log_error("msg=\"lobby publisher could not start\" address=\"%s\"", address);
        mm_lobby_publisher_free(p);
        return NULL;
    }
    p->mask_state = (uint64_t)mm_clock_us() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15u;
    p->on = true;
    return p;
}

/* Frame masks need not be secret here (the peer is the host's own nginx, no proxy
 * between): a xorshift keeps them varied. */
static void next_mask(mm_lobby_publisher *p, unsigned char key[4])
{
    uint64_t x = p->mask_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p->mask_state = x;
    memcpy(key, &x, 4);
}

/* Adds n to a failure counter and says so, at once and then at most once every
 * FAILURE_LOG_INTERVAL_US (with the count since the last line). */
static void note_failure(mm_lobby_publisher *p, uint64_t *counter, uint64_t n,
                         const char *product_id, const char *game_id, const char *type,
                         const char *why)
{
    *counter += n;
    p->unreported += n;
    p->failing = true;
    int64_t now = mm_clock_us();
    if (now < p->next_failure_log)
        return;
    p->next_failure_log = now + FAILURE_LOG_INTERVAL_US;
    char clean[160];
    mm_log_clean(clean, sizeof(clean), why, strlen(why), true);
    mm_log_warn("msg=\"lobby change not published\" product=%s game_id=%s type=%s reason=\"%s\" "
                "failed_since_last_line=%llu",
                product_id, game_id ? game_id : "-", type, clean,
                (unsigned long long)p->unreported);
    p->unreported = 0;
}

static void log_failure(mm_lobby_publisher *p, uint64_t n, const char *product_id,
                        const char *game_id, const char *type, const char *why)
{
    note_failure(p, &p->counts.failed, n, product_id, game_id, type, why);
}

/* The connection is gone: what was written on it and not answered may or may not have been
 * published. */
static void lose(mm_lobby_publisher *p, channel *c, const char *why)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    memset(&c->reader, 0, sizeof(c->reader));
    if (c->unanswered > 0)
        note_failure(p, &p->counts.unconfirmed, c->unanswered, c->product, NULL, "unanswered", why);
    c->unanswered = 0;
}

static void answered(channel *c, uint64_t n)
{
    c->unanswered -= n < c->unanswered ? n : c->unanswered; /* nchan answers what it got */
}

/* A message written: nginx has it. */
static void published(mm_lobby_publisher *p, channel *c)
{
    c->unanswered++;
    p->counts.published++;
    if (p->failing) {
        p->failing = false;
        p->next_failure_log = 0;
        mm_log_info("msg=\"lobby changes published again\" not_reported=%llu",
                    (unsigned long long)p->unreported);
        p->unreported = 0;
    }
}

static int64_t deadline_of(const mm_lobby_publisher *p)
{
    return mm_clock_us() + (int64_t)p->timeout_ms * 1000;
}

/* Waits until fd is ready for events, or the deadline: 1, 0 on time out, -1 on error. */
static int wait_for(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = (deadline - mm_clock_us()) / 1000;
        if (left < 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, (int)left + 1);
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

static mm_status send_all(int fd, const unsigned char *buf, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (wait_for(fd, POLLOUT, deadline) != 1)
                return MM_ERR_UNAVAILABLE;
        } else {
            return MM_ERR_IO;
        }
    }
    return MM_OK;
}

/* Takes in what nginx has sent so far, without waiting: answers, pings, a close. */
static void take_answers(mm_lobby_publisher *p, channel *c)
{
    unsigned char buf[READ_CHUNK];
    while (c->fd >= 0) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            lose(p, c, n == 0 ? "nginx closed the publisher connection" : strerror(errno));
            return;
        }
        mm_ws_seen seen = {0};
        if (mm_ws_read(&c->reader, buf, (size_t)n, &seen) != MM_OK) {
            lose(p, c, "the publisher's answer is not WebSocket frames");
            return;
        }
        answered(c, seen.messages);
        if (seen.closed) {
            lose(p, c, "nginx closed the publisher connection");
            return;
        }
        for (uint64_t i = 0; i < seen.pings; i++) { /* an empty pong: nchan sends none */
            unsigned char pong[MM_WS_HEADER_MAX], key[4];
            next_mask(p, key);
            size_t hl = mm_ws_client_header(pong, MM_WS_PONG, 0, key);
            if (send_all(c->fd, pong, hl, deadline_of(p)) != MM_OK) {
                lose(p, c, "cannot answer a ping");
                return;
            }
        }
    }
}

/* A WebSocket to the product's channel on the publisher: connected, upgraded. */
static mm_status open_channel(mm_lobby_publisher *p, channel *c, const char **why)
{
    int64_t deadline = deadline_of(p);
    int fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *why = strerror(errno);
        return MM_ERR_IO;
    }
    if (connect(fd, (const struct sockaddr *)&p->addr, p->addr_len) != 0) {
        int err = errno;
        int ready = err == EINPROGRESS ? wait_for(fd, POLLOUT, deadline) : -1;
        socklen_t len = sizeof(err);
        if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
            /* connected */
        } else {
            *why = ready == 0 ? "connecting timed out" : strerror(err);
            close(fd);
            return MM_ERR_UNAVAILABLE;
        }
    }
    /* The key needs no randomness: the peer is the host's own nginx. */
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET /lobby/%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: bW0tbG9iYnktcHVibGlzaA==\r\n\r\n",
                     c->product, p->host);
    char head[HANDSHAKE_MAX + 1];
    size_t got = 0;
    const char *end = NULL;
    if (n <= 0 || (size_t)n >= sizeof(req) ||
        send_all(fd, (const unsigned char *)req, (size_t)n, deadline) != MM_OK) {
        *why = "cannot send the WebSocket request";
        close(fd);
        return MM_ERR_UNAVAILABLE;
    }
    while (end == NULL) {
        if (got == HANDSHAKE_MAX || wait_for(fd, POLLIN, deadline) != 1) {
            *why = got == HANDSHAKE_MAX ? "the publisher's answer is too long"
                                        : "no answer to the WebSocket request";
            close(fd);
            return MM_ERR_UNAVAILABLE;
        }
        ssize_t r = recv(fd, head + got, HANDSHAKE_MAX - got, 0);
        if (r <= 0) {
            *why = "the publisher closed the connection";
            close(fd);
            return MM_ERR_UNAVAILABLE;
        }
        got += (size_t)r;
        head[got] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    if (strncmp(head, "HTTP/1.1 101 ", 13) != 0) {
        *why = "the publisher did not switch to a WebSocket";
        close(fd);
        return MM_ERR_UNAVAILABLE;
    }
    c->fd = fd;
    c->unanswered = 0;
    memset(&c->reader, 0, sizeof(c->reader));
    size_t used = (size_t)(end + 4 - head);
    mm_ws_seen seen = {0};
    if (got > used &&
        (mm_ws_read(&c->reader, (const unsigned char *)head + used, got - used, &seen) != MM_OK ||
         seen.closed)) {
        lose(p, c, "the publisher's first frames are not usable");
        *why = "the publisher's first frames are not usable";
        return MM_ERR_UNAVAILABLE;
    }
    return MM_OK;
}

static channel *channel_of(mm_lobby_publisher *p, const char *product_id)
{
    for (size_t i = 0; i < p->nchannels; i++)
        if (strcmp(p->channels[i].product, product_id) == 0)
            return &p->channels[i];
    if (strlen(product_id) > MM_ID_MAX)
        return NULL;
    if (p->nchannels == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        channel *grown = realloc(p->channels, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        p->channels = grown;
        p->cap = cap;
    }
    channel *c = &p->channels[p->nchannels++];
    memset(c, 0, sizeof(*c));
    snprintf(c->product, sizeof(c->product), "%s", product_id);
    c->fd = -1;
    return c;
}

void mm_lobby_publisher_free(mm_lobby_publisher *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nchannels; i++) {
        channel *c = &p->channels[i];
        /* answers to the last messages, briefly: the counts stay right to the end */
        int64_t deadline = mm_clock_us() + (int64_t)50 * 1000;
        while (c->fd >= 0 && c->unanswered > 0 && wait_for(c->fd, POLLIN, deadline) == 1)
            take_answers(p, c);
        if (c->fd >= 0)
            close(c->fd);
    }
    free(p->channels);
    mm_arena_free(p->arena);
    free(p);
}

void mm_lobby_publisher_counts(mm_lobby_publisher *p, mm_publish_counts *out)
{
    if (p == NULL) {
        *out = (mm_publish_counts){0, 0, 0};
        return;
    }
    for (size_t i = 0; i < p->nchannels; i++)
        if (p->channels[i].unanswered > 0)
            take_answers(p, &p->channels[i]);
    *out = p->counts;
}

void mm_lobby_publisher_observe(void *ctx, const char *product_id, const char *game_id,
                                mm_lobby_effect effect, const char *doc, size_t doc_len)
{
    mm_lobby_publisher *p = ctx;
    if (p == NULL || !p->on)
        return;
    const char *type = mm_lobby_effect_name(effect);
    mm_arena_reset(p->arena);
    const char *msg;
    size_t len;
    mm_status st =
        mm_lobby_message(p->arena, product_id, game_id, effect, doc, doc_len, &msg, &len);
    if (st != MM_OK) {
        log_failure(p, 1, product_id, game_id, type,
                    st == MM_ERR_NOMEM ? "out of memory" : "no usable document");
        return;
    }
    if (msg == NULL)
        return; /* a private game */
    channel *c = channel_of(p, product_id);
    if (c == NULL) {
        log_failure(p, 1, product_id, game_id, type, "out of memory");
        return;
    }
    take_answers(p, c);
    const char *why = NULL;
    if (c->fd < 0 && open_channel(p, c, &why) != MM_OK) {
        log_failure(p, 1, product_id, game_id, type, why);
        return;
    }
    int64_t deadline = deadline_of(p);
    while (c->fd >= 0 && c->unanswered >= WINDOW && wait_for(c->fd, POLLIN, deadline) == 1)
        take_answers(p, c);
    if (c->fd < 0 || c->unanswered >= WINDOW) {
        lose(p, c, "nginx does not answer");
        log_failure(p, 1, product_id, game_id, type, "nginx does not answer");
        return;
    }
    unsigned char *frame = mm_arena_alloc(p->arena, MM_WS_HEADER_MAX + len);
    if (frame == NULL) {
        log_failure(p, 1, product_id, game_id, type, "out of memory");
        return;
    }
    unsigned char key[4];
    next_mask(p, key);
    size_t hl = mm_ws_client_header(frame, MM_WS_TEXT, len, key);
    memcpy(frame + hl, msg, len);
    mm_ws_mask(frame + hl, len, key, 0);
    mm_status sent = send_all(c->fd, frame, hl + len, deadline);
    if (sent != MM_OK) {
        lose(p, c, sent == MM_ERR_IO ? strerror(errno) : "writing timed out");
        log_failure(p, 1, product_id, game_id, type, "the publisher connection failed");
        return;
    }
    published(p, c);
}
