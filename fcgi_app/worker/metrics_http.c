/* The worker's /metrics endpoint, served by libmicrohttpd on its own thread.
 * The library does what a scrape endpoint must survive: many connections at
 * once (a slow or stalled client holds only its own connection), a per-
 * connection idle timeout, a cap on connections, bounded request heads. */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define IDLE_TIMEOUT_S 5    /* a connection that sends nothing for this long is closed */
#define CONNECTIONS_MAX 128 /* scrapers are few; the rest are refused at accept */

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

struct mm_metrics_server {
    struct MHD_Daemon *daemon;
    int port;
    mm_metrics_render_fn render;
    void *ctx;
};

static mhd_result queue(struct MHD_Connection *conn, unsigned int status, const char *type,
                        char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (r == NULL) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    mhd_result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static mhd_result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **con_cls)
{
    static const char text[] = "text/plain; charset=utf-8";
    static char not_found[] = "not found\n", not_allowed[] = "method not allowed\n";
    mm_metrics_server *s = cls;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) { /* the head only: a body, if any, is not waited for */
        *con_cls = s;
        return MHD_YES;
    }
    *upload_data_size = 0; /* a body is read and ignored */
    if (strcmp(url, "/metrics") != 0)
        return queue(conn, MHD_HTTP_NOT_FOUND, text, not_found, sizeof(not_found) - 1,
                     MHD_RESPMEM_PERSISTENT);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return queue(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, not_allowed, sizeof(not_allowed) - 1,
                     MHD_RESPMEM_PERSISTENT);
    size_t len;
    char *body = s->render(s->ctx, &len);
    if (body == NULL)
        return MHD_NO; /* out of memory: the connection is closed */
    return queue(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len,
                 MHD_RESPMEM_MUST_FREE);
}

mm_metrics_server *mm_metrics_server_start(const char *address, long port,
                                           mm_metrics_render_fn render, void *ctx, char *err,
                                           size_t errlen)
{
    struct sockaddr_storage sa;
    memset(&sa, 0, sizeof(sa));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sa;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (port < 0 || port > 65535) {
        snprintf(err, errlen, "port %ld is out of range", port);
        return NULL;
    }
    if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "%s is not an IP address", address);
        return NULL;
    }
    mm_metrics_server *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->render = render;
    s->ctx = ctx;
    /* The server's thread must not take the signals the worker stops on. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTIONS_MAX,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (s->daemon == NULL) {
        snprintf(err, errlen, "cannot listen on %s port %ld (in use?)", address, port);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : (int)port;
    return s;
}

int mm_metrics_server_port(const mm_metrics_server *s)
{
    return s->port;
}

void mm_metrics_server_stop(mm_metrics_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
