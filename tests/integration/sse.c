#include "sse.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define STREAM_MAX ((size_t)4 << 20) /* more than any test publishes */

struct sse_sub {
    CURLM *multi;
    CURL *easy;
    struct curl_slist *headers;
    char *buf; /* received, not yet cut into events */
    size_t len;
    char *head; /* the answer's header lines */
    size_t head_len;
    char *event; /* the data of the last event handed out */
    int running;
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int append(char **buf, size_t *len, const char *p, size_t n)
{
    if (*len + n > STREAM_MAX)
        return -1;
    char *b = realloc(*buf, *len + n + 1);
    if (b == NULL)
        return -1;
    memcpy(b + *len, p, n);
    *len += n;
    b[*len] = '\0';
    *buf = b;
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    sse_sub *s = ud;
    return append(&s->buf, &s->len, p, size * n) == 0 ? size * n : 0;
}

static size_t on_head(char *p, size_t size, size_t n, void *ud)
{
    sse_sub *s = ud;
    return append(&s->head, &s->head_len, p, size * n) == 0 ? size * n : 0;
}

sse_sub *sse_open(const char *sock, const char *url, const char *last_event_id)
{
    sse_sub *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->multi = curl_multi_init();
    s->easy = curl_easy_init();
    s->headers = curl_slist_append(NULL, "Accept: text/event-stream");
    /* as a browser's EventSource on another origin: nchan answers CORS to an Origin */
    s->headers = curl_slist_append(s->headers, "Origin: http://lobby.example");
    if (last_event_id != NULL) {
        char h[160];
        snprintf(h, sizeof(h), "Last-Event-ID: %s", last_event_id);
        s->headers = curl_slist_append(s->headers, h);
    }
    if (s->multi == NULL || s->easy == NULL || s->headers == NULL) {
        sse_close(s);
        return NULL;
    }
    if (sock != NULL)
        curl_easy_setopt(s->easy, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(s->easy, CURLOPT_URL, url);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, 120000L); /* no test holds one longer */
    curl_multi_add_handle(s->multi, s->easy);
    s->running = 1;
    return s;
}

/* Moves the transfer on for at most ms. */
static void pump(sse_sub *s, long ms)
{
    if (s->running) {
        curl_multi_poll(s->multi, NULL, 0, (int)(ms > 0 ? ms : 0), NULL);
        curl_multi_perform(s->multi, &s->running);
    }
}

long sse_status(sse_sub *s, long timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    long status = 0;
    do {
        pump(s, 20);
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    } while (status == 0 && s->running && now_ms() < deadline);
    return status;
}

int sse_has_header(const sse_sub *s, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = s->head; line != NULL && *line != '\0';) {
        if (strncasecmp(line, prefix, n) == 0)
            return 1;
        const char *eol = strchr(line, '\n');
        line = eol ? eol + 1 : NULL;
    }
    return 0;
}

/* Cuts the first complete event out of the buffer: 1 and *ev, or 0. */
static int take_event(sse_sub *s, sse_event *ev)
{
    if (s->buf == NULL)
        return 0;
    for (;;) {
        char *end = strstr(s->buf, "\n\n");
        if (end == NULL)
            return 0;
        *end = '\0';
        ev->id[0] = '\0';
        free(s->event);
        s->event = NULL;
        size_t data_len = 0;
        for (char *line = s->buf; line != NULL && *line != '\0';) {
            char *eol = strchr(line, '\n');
            if (eol != NULL)
                *eol = '\0';
            if (strncmp(line, "id: ", 4) == 0) {
                snprintf(ev->id, sizeof(ev->id), "%s", line + 4);
            } else if (strncmp(line, "data: ", 6) == 0) {
                if (s->event != NULL)
                    append(&s->event, &data_len, "\n", 1);
                append(&s->event, &data_len, line + 6, strlen(line + 6));
            }
            line = eol ? eol + 1 : NULL;
        }
        size_t used = (size_t)(end + 2 - s->buf);
        memmove(s->buf, s->buf + used, s->len - used + 1);
        s->len -= used;
        if (s->event != NULL) { /* a comment alone (": hi", pings) is no event */
            ev->data = s->event;
            return 1;
        }
    }
}

int sse_next(sse_sub *s, long timeout_ms, sse_event *ev)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (take_event(s, ev))
            return 0;
        long left = deadline - now_ms();
        if (left <= 0 || !s->running)
            return -1;
        pump(s, left < 50 ? left : 50);
    }
}

void sse_close(sse_sub *s)
{
    if (s == NULL)
        return;
    if (s->multi != NULL && s->easy != NULL)
        curl_multi_remove_handle(s->multi, s->easy);
    if (s->easy != NULL)
        curl_easy_cleanup(s->easy);
    if (s->multi != NULL)
        curl_multi_cleanup(s->multi);
    curl_slist_free_all(s->headers);
    free(s->buf);
    free(s->head);
    free(s->event);
    free(s);
}

/* ---- WebSocket ---------------------------------------------------------------------- */

struct ws_sub {
    int fd;
    unsigned char *buf; /* received bytes not yet taken as frames */
    size_t len;
    char *msg;
};

static int ws_fill(ws_sub *w, long deadline)
{
    long left = deadline - now_ms();
    if (left <= 0)
        return -1;
    struct pollfd p = {.fd = w->fd, .events = POLLIN};
    if (poll(&p, 1, (int)left) <= 0)
        return -1;
    unsigned char tmp[65536];
    ssize_t n = recv(w->fd, tmp, sizeof(tmp), 0);
    if (n <= 0)
        return -1;
    unsigned char *b = realloc(w->buf, w->len + (size_t)n);
    if (b == NULL)
        return -1;
    memcpy(b + w->len, tmp, (size_t)n);
    w->buf = b;
    w->len += (size_t)n;
    return 0;
}

ws_sub *ws_open(const char *sock, const char *path)
{
    ws_sub *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                     path);
    if (w->fd < 0 || connect(w->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        send(w->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        ws_close(w);
        return NULL;
    }
    long deadline = now_ms() + 5000;
    unsigned char *end = NULL;
    while (end == NULL) {
        if (ws_fill(w, deadline) != 0) {
            ws_close(w);
            return NULL;
        }
        for (size_t i = 0; end == NULL && i + 4 <= w->len; i++)
            if (memcmp(w->buf + i, "\r\n\r\n", 4) == 0)
                end = w->buf + i;
    }
    if (w->len < 12 || memcmp(w->buf, "HTTP/1.1 101", 12) != 0) {
        ws_close(w);
        return NULL;
    }
    size_t used = (size_t)(end + 4 - w->buf);
    memmove(w->buf, w->buf + used, w->len - used);
    w->len -= used;
    return w;
}

const char *ws_next(ws_sub *w, long timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        /* a server's frame: FIN+opcode, length (7 bits, or 16 or 64 after), unmasked */
        if (w->len >= 2) {
            int opcode = w->buf[0] & 0x0f;
            uint64_t plen = w->buf[1] & 0x7f;
            size_t hlen = 2;
            if (plen == 126 && w->len >= 4) {
                plen = ((uint64_t)w->buf[2] << 8) | w->buf[3];
                hlen = 4;
            } else if (plen == 127 && w->len >= 10) {
                plen = 0;
                for (int i = 0; i < 8; i++)
                    plen = (plen << 8) | w->buf[2 + i];
                hlen = 10;
            }
            if ((w->buf[1] & 0x7f) < 126 || hlen > 2) {
                if (w->len >= hlen + plen) {
                    free(w->msg);
                    w->msg = malloc((size_t)plen + 1);
                    if (w->msg == NULL)
                        return NULL;
                    memcpy(w->msg, w->buf + hlen, (size_t)plen);
                    w->msg[plen] = '\0';
                    size_t used = hlen + (size_t)plen;
                    memmove(w->buf, w->buf + used, w->len - used);
                    w->len -= used;
                    if (opcode == 1)
                        return w->msg;
                    continue; /* control frames: pings */
                }
            }
        }
        if (ws_fill(w, deadline) != 0)
            return NULL;
    }
}

void ws_close(ws_sub *w)
{
    if (w == NULL)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->buf);
    free(w->msg);
    free(w);
}
