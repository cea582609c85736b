/* The worker's HTTP endpoint: GET /metrics answers what a render callback
 * produces, served by libmicrohttpd on its own thread (many connections at
 * once, each with an idle timeout; see docs/DEPLOYMENT.md for why a library
 * and not the pool's shared file). The render callback runs on that thread.
 * mm_metrics_server_start has one matching mm_metrics_server_stop. */
#ifndef MM_METRICS_HTTP_H
#define MM_METRICS_HTTP_H

#include <stddef.h>

/* Returns malloc'ed text (freed by the server) or NULL when out of memory. */
typedef char *(*mm_metrics_render_fn)(void *ctx, size_t *len);

typedef struct mm_metrics_server mm_metrics_server;

/* Listens on address (an IPv4 or IPv6 literal) and port; port 0 picks a free
 * one (see mm_metrics_server_port). NULL with a reason in err on failure. */
mm_metrics_server *mm_metrics_server_start(const char *address, long port,
                                           mm_metrics_render_fn render, void *ctx, char *err,
                                           size_t errlen);
int mm_metrics_server_port(const mm_metrics_server *s);
/* Stops the thread and closes the socket; NULL is accepted. */
void mm_metrics_server_stop(mm_metrics_server *s);

#endif
