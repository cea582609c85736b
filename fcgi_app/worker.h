/* The worker's stream side (SPEC section 6): a consumer in a Redis consumer
 * group on "game_event_stream". It creates the group when missing (after
 * the legacy index key when there is one), reads in batches, applies each
 * event as one atomic store step, acknowledges it, and claims entries left
 * pending by consumers that died. mm_worker_free releases what it owns; the
 * store and game-server client are borrowed. */
#ifndef MM_WORKER_H
#define MM_WORKER_H

#include "config.h"
#include "event.h"
#include "gameserver.h"
#include "rconn.h"
#include "store.h"
#include "worker_metrics.h"

#define MM_EVENT_STREAM "game_event_stream"
#define MM_LEGACY_INDEX_KEY "__game_event_stream_index"

typedef struct mm_worker mm_worker;

typedef struct {
    long handled; /* entries acknowledged */
    long applied; /* events that changed a game */
    long ignored; /* valid events that changed nothing (wrong state, unknown game, other type) */
    long malformed;
    long claimed; /* entries taken over from dead consumers */
} mm_worker_stats;

/* stream: the connection to event_stream_url (its timeout must exceed
 * block_ms); consumer: this process's unique name. */
mm_worker *mm_worker_new(const mm_config *cfg, mm_rconn *stream, mm_store *store,
                         const char *consumer, long block_ms);
void mm_worker_free(mm_worker *w);

/* Counts events in m from now on (borrowed; NULL stops counting). */
void mm_worker_set_metrics(mm_worker *w, mm_worker_metrics *m);

/* The group's backlog from XINFO GROUPS: *pending entries delivered and not
 * acknowledged, *lag entries not yet delivered (-1 when Redis cannot tell). */
mm_status mm_worker_backlog(mm_worker *w, int64_t *pending, int64_t *lag);

/* Reads and handles one batch, blocking up to block_ms when the stream is idle.
 * MM_ERR_UNAVAILABLE when Redis (stream or games) failed: nothing unhandled
 * was acknowledged, and the next call starts with this consumer's pending
 * entries. *stop is checked between entries. */
mm_status mm_worker_poll(mm_worker *w, volatile const int *stop);

/* Takes over entries idle for longer than event_claim_idle_ms and handles them. */
mm_status mm_worker_claim(mm_worker *w, volatile const int *stop);

/* Applies one decoded event to the store; exposed for tests. */
mm_store_result mm_worker_apply(mm_store *store, mm_arena *a, const mm_event *ev);

const mm_worker_stats *mm_worker_stats_get(const mm_worker *w);

#endif
