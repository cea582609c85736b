/* worker/ -- matchmaker-worker; uses core and store, never lobby (fcgi_app/README.md).
 * The worker's stream side (SPEC section 6): a consumer in a Redis consumer
 * group on "game_event_stream". It creates the group when missing (after
 * the legacy index key when there is one), reads in batches, applies each
 * event as one atomic store step (refused when the game has had a newer
 * event applied: events of a game apply in stream order), acknowledges it,
 * dead-letters what cannot be applied, claims entries left pending by
 * consumers that died, and keeps the stream and the group tidy.
 * mm_worker_free releases what it owns; the stores are borrowed. */
#ifndef MM_CONSUMER_H
#define MM_CONSUMER_H

#include <stdbool.h>

#include "config.h"
#include "event.h"
#include "game_server_client.h"
#include "rconn.h"
#include "store.h"
#include "store_set.h"
#include "worker_metrics.h"

#define MM_EVENT_STREAM "game_event_stream"
#define MM_DEAD_LETTER "game_event_dead_letter"
#define MM_LEGACY_INDEX_KEY "__game_event_stream_index"

typedef struct mm_worker mm_worker;

typedef struct {
    long handled; /* entries acknowledged */
    long applied; /* events that changed a game */
    long ignored; /* valid events that changed nothing (wrong state, unknown game, other type) */
    long malformed;
    long stale;         /* events older than the last one applied to their game */
    long dead_lettered; /* entries that could not be applied, moved to MM_DEAD_LETTER */
    long claimed;       /* entries taken over from dead consumers */
} mm_worker_stats;

/* stream: the connection to event_stream_url (its timeout must exceed the longest block
 * of mm_worker_poll); consumer: this process's unique name. */
mm_worker *mm_worker_new(const mm_config *cfg, mm_rconn *stream, mm_store_set *stores,
                         const char *consumer);
void mm_worker_free(mm_worker *w);

/* Counts events in m from now on (borrowed; NULL stops counting). */
void mm_worker_set_metrics(mm_worker *w, mm_worker_metrics *m);

/* Reads and handles one batch, blocking up to block_ms when the stream is idle (0: not at
 * all). MM_ERR_UNAVAILABLE when Redis (stream or games) failed: nothing unhandled was
 * acknowledged, and the next call starts with this consumer's pending entries. An entry
 * whose event cannot be applied stays pending and is read again after a back-off (100 ms,
 * doubling to 5 s), until event_max_deliveries; then it goes to MM_DEAD_LETTER. *stop is
 * checked between entries. */
mm_status mm_worker_poll(mm_worker *w, long block_ms, volatile const int *stop);

/* Takes over entries idle for longer than event_claim_idle_ms and handles them. */
mm_status mm_worker_claim(mm_worker *w, volatile const int *stop);

/* Housekeeping: the group's backlog from XINFO GROUPS (*pending entries delivered and not
 * acknowledged, *lag entries not yet delivered, -1 when Redis cannot tell); the stream
 * trimmed towards event_stream_max_len, never past an entry some group has not
 * acknowledged (*trimmed); consumers of the group idle for longer than
 * event_consumer_max_idle_ms with nothing pending removed (*consumers_removed). */
mm_status mm_worker_tidy(mm_worker *w, int64_t *pending, int64_t *lag, long long *trimmed,
                         int *consumers_removed);

/* Applies one decoded event (entry_id: its stream id) to the store; exposed for tests. */
mm_store_result mm_worker_apply(mm_store *store, mm_arena *a, const mm_event *ev,
                                const char *entry_id);

/* Whether the last mm_worker_poll read a full batch: more entries are waiting, and the
 * caller's other work (curation) can wait a turn. */
bool mm_worker_backlogged(const mm_worker *w);

const mm_worker_stats *mm_worker_stats_get(const mm_worker *w);

#endif
