/* Curation (SPEC section 6): finds games that may have expired, oldest
 * first, and deletes or resets them -- each act conditional on the game
 * being unchanged since it was read. The game server is told through the
 * cleanup queue, in the same atomic step (cleanup.h): curation itself makes no
 * game-server call, so a hanging game server never slows it down. It runs in
 * steps bounded in time, so it never holds up the worker's events for long. */
#ifndef MM_CURATION_H
#define MM_CURATION_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "store.h"
#include "store_set.h"

typedef enum {
    MM_CURATE_KEPT,    /* not expired */
    MM_CURATE_DELETED, /* expired: deleted, remove_game sent */
    MM_CURATE_RESET,   /* full creator_joined game expired: last player dropped, relisted */
    MM_CURATE_CLEANED, /* a game without a usable document was removed */
    MM_CURATE_CHANGED, /* the game changed since it was read: left alone */
    MM_CURATE_SKIPPED, /* its change failed for this game alone (logged): left for now */
    MM_CURATE_FAILED   /* Redis unreachable (logged) */
} mm_curate_outcome;

typedef struct {
    long seen, deleted, reset, cleaned, changed, skipped, failed;
} mm_curation_stats;

/* Acts on one candidate read at now_us. */
mm_curate_outcome mm_curate_one(mm_store *store, const mm_config *cfg, mm_arena *a,
                                const char *product_id, const mm_candidate *c, int64_t now_us);

/* Where each set's scan resumes. A pass reads one page (curation_batch_size)
 * of each set, starting after the games the previous pass kept, and starts
 * over when a page comes back short: expired games behind a long run of live
 * ones are reached a few passes later instead of never. Zeroed: from the
 * start. */
typedef struct {
    long offset[MM_CONFIG_MAX_PRODUCTS][MM_SET_COUNT];
    size_t product; /* where the pass in progress goes on: this product ... */
    int set;        /* ... and set */
} mm_curation_cursor;

/* Goes on with the pass in progress, a page of one set read at a time and its games handled
 * one by one, until it is complete (*pass_done; the next step starts a new pass) or
 * clock_ms() reaches until_ms, checked between games (NULL clock: no limit). A product
 * whose Redis does not answer is logged, counted (failed) and passed over: the pass goes on
 * with the next product, and the next pass tries that one again. A game whose change fails
 * for itself alone is logged, counted (skipped) and left: it never stops the pass. MM_OK,
 * or MM_ERR_NOMEM. */
mm_status mm_curate_step(mm_store_set *stores, const mm_config *cfg, mm_curation_cursor *cursor,
                         int64_t now_us, int64_t (*clock_ms)(void), int64_t until_ms,
                         mm_curation_stats *stats, bool *pass_done);

#endif
