#define _GNU_SOURCE /* accept4, pipe2 */
#include "metrics_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define REQUEST_MAX 4096
#define IO_TIMEOUT_MS 1000

struct mm_metrics_server {
    int fd;
    int wake[2]; /* written to by stop */
    int port;
    pthread_t thread;
    mm_metrics_render_fn render;
    void *ctx;
};

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the scraper went away or stalled past the timeout */
        p += n;
        len -= (size_t)n;
    }
}

static void answer(int fd, int status, const char *reason, const char *type, const char *body,
                   size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason, type, len);
    write_all(fd, head, (size_t)n);
    write_all(fd, body, len);
}

/* Reads the request head (up to REQUEST_MAX bytes, within the timeout) and
 * answers from its first line. */
static void serve(mm_metrics_server *s, int fd)
{
    struct timeval tv = {IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000L};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char req[REQUEST_MAX + 1];
    size_t got = 0;
    while (got < REQUEST_MAX) {
        ssize_t n = recv(fd, req + got, REQUEST_MAX - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL)
            break;
    }
    req[got] = '\0';
    static const char text[] = "text/plain; charset=utf-8";
    if (strncmp(req, "GET /metrics ", 13) == 0 || strncmp(req, "GET /metrics?", 13) == 0) {
        size_t len;
        char *body = s->render(s->ctx, &len);
        if (body == NULL) {
            answer(fd, 500, "Internal Server Error", text, "out of memory\n", 14);
            return;
        }
        answer(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len);
        free(body);
    } else if (strncmp(req, "GET ", 4) == 0) {
        answer(fd, 404, "Not Found", text, "not found; try /metrics\n", 24);
    } else if (got > 0) {
        answer(fd, 405, "Method Not Allowed", text, "only GET\n", 9);
    }
}

static void *loop(void *arg)
{
    mm_metrics_server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN},
                              {.fd = s->wake[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            mm_log_error("msg=\"metrics server stopped\" err=\"%s\"", strerror(errno));
            return NULL;
        }
        if (p[1].revents != 0)
            return NULL;
        int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue; /* the client left first, or too many files: try again */
        serve(s, fd);
        close(fd);
    }
}

static int listen_on(const char *address, long port, int *bound_port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)&ss;
    if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        sl = sizeof(*v4);
    } else if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        sl = sizeof(*v6);
    } else {
        snprintf(err, errlen, "not an IP address: %s", address);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(err, errlen, "cannot listen on %s port %ld: %s", address, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *bound_port = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
    return fd;
}

mm_metrics_server *mm_metrics_server_start(const char *address, long port,
                                           mm_metrics_render_fn render, void *ctx, char *err,
                                           size_t errlen)
{
    if (port < 0 || port > 65535) {
        snprintf(err, errlen, "bad port %ld", port);
        return NULL;
    }
    mm_metrics_server *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->render = render;
    s->ctx = ctx;
    s->wake[0] = s->wake[1] = -1;
    s->fd = listen_on(address, port, &s->port, err, errlen);
    if (s->fd < 0)
        goto fail;
    if (pipe2(s->wake, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    /* Signals are for the main loop: the thread starts with them blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, loop, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
        goto fail;
    }
    return s;
fail:
    if (s->fd >= 0)
        close(s->fd);
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    free(s);
    return NULL;
}

int mm_metrics_server_port(const mm_metrics_server *s)
{
    return s->port;
}

void mm_metrics_server_stop(mm_metrics_server *s)
{
    if (s == NULL)
        return;
    ssize_t n;
    do
        n = write(s->wake[1], "x", 1);
    while (n < 0 && errno == EINTR);
    pthread_join(s->thread, NULL);
    close(s->fd);
    close(s->wake[0]);
    close(s->wake[1]);
    free(s);
}
