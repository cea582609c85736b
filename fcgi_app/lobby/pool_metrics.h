/* Pool-wide metrics of matchmaker-fcgi: counters in one file-backed shared
 * mapping that every process of the pool on a host maps and updates with
 * atomic adds, so any process can answer GET /metrics for the whole pool.
 * Label values come only from fixed names and the configured products.
 * mm_metrics_open has one matching mm_metrics_close. */
#ifndef MM_POOL_METRICS_H
#define MM_POOL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "game_server_client.h"

typedef enum {
    MM_EP_HEALTH,
    MM_EP_CREATE_GAME,
    MM_EP_JOIN_GAME,
    MM_EP_OPEN_GAMES,
    MM_EP_METRICS,
    MM_EP_PREFLIGHT,
    MM_EP_QUICK_MATCH,
    MM_EP_JOIN_BY_CODE,
    MM_EP_LEAVE_GAME,
    MM_EP_LOBBY_EVENTS, /* nginx asking whether a subscription's product exists */
    MM_EP_BENCH,        /* the benchmark's no-op route, when enabled */
    MM_EP_OTHER,        /* 404, 405, and answers given before routing (413) */
    MM_EP_COUNT
} mm_endpoint;

typedef enum {
    MM_GS_OP_CREATE_GAME,
    MM_GS_OP_JOIN_GAME,
    MM_GS_OP_REMOVE_GAME,
    MM_GS_OP_REMOVE_PLAYER,
    MM_GS_OP_COUNT
} mm_gs_op;

/* What a request was, for its metrics: filled in by the dispatcher. */
typedef struct {
    mm_endpoint endpoint;
    const mm_product *product; /* the registered product the path names, or NULL */
    bool unknown_product;      /* the path names a product that is not registered */
} mm_request_kind;

typedef struct mm_metrics mm_metrics;

/* Maps path (created 0600 when missing) and registers cfg's products in it;
 * cfg must outlive the metrics. When the file cannot be used, the counters
 * live in this process only: *warning then says why (for one log line) and
 * mm_metrics_shared is false. NULL only when out of memory. */
mm_metrics *mm_metrics_open(const char *path, const mm_config *cfg, char *warning, size_t warnlen);
void mm_metrics_close(mm_metrics *m);
bool mm_metrics_shared(const mm_metrics *m);

void mm_metrics_request(mm_metrics *m, const mm_request_kind *k, int status, int64_t duration_us);
void mm_metrics_gs_call(mm_metrics *m, const mm_product *p, mm_gs_op op, mm_gs_result r);
void mm_metrics_redis_errors(mm_metrics *m, uint64_t n);
/* Live lobby changes this process published, failed to publish, and published unconfirmed
 * (mm_publish_counts), since it last said. */
void mm_metrics_lobby_published(mm_metrics *m, uint64_t published, uint64_t failed,
                                uint64_t unconfirmed);
void mm_metrics_game_created(mm_metrics *m, const mm_product *p);
void mm_metrics_game_joined(mm_metrics *m, const mm_product *p);
/* A request refused by a per-user limit (SPEC 11). */
typedef enum { MM_LIMIT_RATE, MM_LIMIT_GAMES, MM_LIMIT_SEATS, MM_LIMIT_COUNT } mm_limit_kind;
void mm_metrics_limited(mm_metrics *m, const mm_product *p, mm_limit_kind kind);

/* The whole pool's counters in the Prometheus text format, malloc'ed
 * (caller frees). NULL when out of memory. */
char *mm_metrics_render(const mm_metrics *m, size_t *len);

#endif
