/* Curation (SPEC section 6): finds games that may have expired, oldest
 * first, and deletes or resets them -- each act conditional on the game
 * being unchanged since it was read -- then tells the game server. */
#ifndef MM_CURATION_H
#define MM_CURATION_H

#include "config.h"
#include "gameserver.h"
#include "store.h"

typedef enum {
    MM_CURATE_KEPT,    /* not expired */
    MM_CURATE_DELETED, /* expired: deleted, remove_game sent */
    MM_CURATE_RESET,   /* full creator_joined game expired: last player dropped, relisted */
    MM_CURATE_CLEANED, /* a game without a usable document was removed */
    MM_CURATE_CHANGED, /* the game changed since it was read: left alone */
    MM_CURATE_FAILED   /* Redis failed (logged) */
} mm_curate_outcome;

typedef struct {
    long seen, deleted, reset, cleaned, changed, failed;
} mm_curation_stats;

/* Acts on one candidate read at now_us. */
mm_curate_outcome mm_curate_one(mm_store *store, mm_gs_client *gs, const mm_config *cfg,
                                mm_arena *a, const char *product_id, const mm_candidate *c,
                                int64_t now_us);

/* Where each set's scan resumes. A pass reads one page (curation_batch_size)
 * of each set, starting after the games the previous pass kept, and starts
 * over when a page comes back short: expired games behind a long run of live
 * ones are reached a few passes later instead of never. Zeroed: from the
 * start. */
typedef struct {
    long offset[MM_CONFIG_MAX_PRODUCTS][MM_SET_COUNT];
} mm_curation_cursor;

/* One pass over every product and set. MM_ERR_UNAVAILABLE when Redis did not
 * answer (the pass stops there). */
mm_status mm_curate_pass(mm_store *store, mm_gs_client *gs, const mm_config *cfg,
                         mm_curation_cursor *cursor, int64_t now_us, mm_curation_stats *stats);

#endif
