/* The worker's metrics: counters its loop adds to (events by type and
 * outcome, claims, curation passes, stream backlog), safe to read from the
 * thread that serves them, rendered in the Prometheus text format.
 * mm_worker_metrics_new has one matching mm_worker_metrics_free. */
#ifndef MM_WORKER_METRICS_H
#define MM_WORKER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "curation.h"
#include "event.h"

typedef enum {
    MM_EVENT_APPLIED,       /* changed a game */
    MM_EVENT_IGNORED,       /* valid, changed nothing (wrong state, unknown game or product) */
    MM_EVENT_MALFORMED,     /* could not be decoded; acknowledged and skipped */
    MM_EVENT_FAILED,        /* not applied (Redis failed, or the step failed): pending, retried */
    MM_EVENT_STALE,         /* older than the last event applied to its game: ignored */
    MM_EVENT_DEAD_LETTERED, /* could not be applied in event_max_deliveries: dead-lettered */
    MM_EVENT_OUTCOMES
} mm_event_outcome;

#define MM_EVENT_TYPE_UNKNOWN (-1) /* for malformed entries */

typedef struct mm_worker_metrics mm_worker_metrics;

mm_worker_metrics *mm_worker_metrics_new(void);
void mm_worker_metrics_free(mm_worker_metrics *m);

/* type: an mm_event_type or MM_EVENT_TYPE_UNKNOWN. */
void mm_worker_metrics_event(mm_worker_metrics *m, int type, mm_event_outcome outcome);
void mm_worker_metrics_claimed(mm_worker_metrics *m, uint64_t n);
/* The group's backlog: entries delivered but not acknowledged, and entries
 * not yet delivered (-1 when Redis cannot tell). */
void mm_worker_metrics_stream(mm_worker_metrics *m, int64_t pending, int64_t lag);
void mm_worker_metrics_pass(mm_worker_metrics *m, const mm_curation_stats *cs, int64_t duration_us);
/* Housekeeping: stream entries trimmed, idle consumers removed. */
void mm_worker_metrics_tidy(mm_worker_metrics *m, uint64_t trimmed, uint64_t consumers_removed);

/* How cleanup calls (remove_game, remove_player) ended. */
typedef enum {
    MM_CLEANUP_DONE,    /* the game server took it (or refused it: nothing to retry) */
    MM_CLEANUP_RETRIED, /* no answer: queued again, with a back-off */
    MM_CLEANUP_DROPPED, /* no answer after the last attempt, or not a job: given up */
    MM_CLEANUP_OUTCOMES
} mm_cleanup_outcome;
void mm_worker_metrics_cleanup(mm_worker_metrics *m, mm_cleanup_outcome outcome);

/* The live lobby's changes the worker has published, failed to publish and published
 * unconfirmed so far (totals, mm_publish_counts). */
void mm_worker_metrics_lobby(mm_worker_metrics *m, uint64_t published, uint64_t failed,
                             uint64_t unconfirmed);

/* malloc'ed text (caller frees), NULL when out of memory. ctx is the
 * mm_worker_metrics (the signature of a metrics server's render callback). */
char *mm_worker_metrics_render(void *ctx, size_t *len);

#endif
