#include "curation.h"

#include <string.h>

#include "log.h"

/* The shortest expiry of the states a game in that set can be in: nothing in
 * the set entered more recently than that can have expired. */
static long min_expiry(const mm_config *cfg, mm_game_set set)
{
    switch (set) {
    case MM_SET_PENDING: return cfg->expiry_seconds[MM_STATE_CREATED];
    case MM_SET_LOBBY: return cfg->expiry_seconds[MM_STATE_CREATOR_JOINED];
    default: {
        long m = cfg->expiry_seconds[MM_STATE_CREATOR_JOINED]; /* full, not yet connected */
        for (int s = MM_STATE_ALL_PLAYERS_JOINED; s < MM_STATE_COUNT; s++)
            if (cfg->expiry_seconds[s] < m)
                m = cfg->expiry_seconds[s];
        return m;
    }
    }
}

/* A set entry without a usable document. An entry whose document is gone is
 * removed while it is still gone; a document this program cannot decode is
 * deleted only if it is still exactly the bytes read (never a document that
 * changed meanwhile), and the product's game server is told to remove the
 * game, since nothing else ever will. */
static mm_curate_outcome clean(mm_store *store, mm_gs_client *gs, const mm_config *cfg, mm_arena *a,
                               const char *product_id, const mm_candidate *c)
{
    mm_store_result r =
        c->raw == NULL ? mm_store_delete_orphan(store, product_id, c->game_id)
                       : mm_store_delete_exact(store, product_id, c->game_id, c->raw, c->raw_len);
    if (r == MM_STORE_CHANGED)
        return MM_CURATE_CHANGED;
    if (r != MM_STORE_OK && r != MM_STORE_NOT_FOUND)
        return MM_CURATE_FAILED;
    if (c->raw == NULL) {
        mm_log_warn("msg=\"removed set entries of a game without a document\" product=%s "
                    "game_id=%s",
                    product_id, c->game_id);
        return MM_CURATE_CLEANED;
    }
    if (r == MM_STORE_NOT_FOUND)
        return MM_CURATE_CHANGED;
    mm_log_warn("msg=\"deleted a game whose document does not decode\" product=%s game_id=%s "
                "bytes=%zu",
                product_id, c->game_id, c->raw_len);
    const mm_product *p = mm_config_product(cfg, product_id, strlen(product_id));
    if (p != NULL) {
        mm_gs_result gr = mm_gs_remove_game(gs, a, p->game_server_url, c->game_id);
        if (gr != MM_GS_OK)
            mm_log_warn("msg=\"remove_game not accepted\" game_id=%s result=%s", c->game_id,
                        mm_gs_result_name(gr));
    }
    return MM_CURATE_CLEANED;
}

mm_curate_outcome mm_curate_one(mm_store *store, mm_gs_client *gs, const mm_config *cfg,
                                mm_arena *a, const char *product_id, const mm_candidate *c,
                                int64_t now_us)
{
    const mm_game *g = &c->stored.game;
    if (c->stored.doc == NULL)
        return clean(store, gs, cfg, a, product_id, c);
    if (!mm_game_expired(g, cfg->expiry_seconds, now_us))
        return MM_CURATE_KEPT;
    if (g->state == MM_STATE_CREATOR_JOINED && mm_game_is_full(g)) {
        /* the last joiner never connected: free the seat, list the game again */
        mm_stored after;
        const char *removed = NULL;
        mm_store_result r =
            mm_store_reset(store, a, product_id, c->game_id, NULL, c->stored.doc, &after, &removed);
        if (r == MM_STORE_CHANGED || r == MM_STORE_NOT_FOUND)
            return MM_CURATE_CHANGED;
        if (r != MM_STORE_OK || removed == NULL) {
            mm_log_error("msg=\"curation reset failed\" game_id=%s result=%s", c->game_id,
                         mm_store_result_name(r));
            return MM_CURATE_FAILED;
        }
        mm_log_info("msg=\"expired seat reset\" product=%s game_id=%s player=%s", product_id,
                    c->game_id, removed);
        mm_gs_result gr = mm_gs_remove_player(gs, a, g->game_server_url, c->game_id, removed);
        if (gr != MM_GS_OK)
            mm_log_warn("msg=\"remove_player not accepted\" game_id=%s result=%s", c->game_id,
                        mm_gs_result_name(gr));
        return MM_CURATE_RESET;
    }
    mm_store_result r =
        mm_store_delete_exact(store, product_id, c->game_id, c->stored.doc, c->stored.doc_len);
    if (r == MM_STORE_CHANGED || r == MM_STORE_NOT_FOUND)
        return MM_CURATE_CHANGED;
    if (r != MM_STORE_OK) {
        mm_log_error("msg=\"curation delete failed\" game_id=%s result=%s", c->game_id,
                     mm_store_result_name(r));
        return MM_CURATE_FAILED;
    }
    mm_log_info("msg=\"expired game deleted\" product=%s game_id=%s state=%s", product_id,
                c->game_id, mm_game_state_name(g->state));
    mm_gs_result gr = mm_gs_remove_game(gs, a, g->game_server_url, c->game_id);
    if (gr != MM_GS_OK)
        mm_log_warn("msg=\"remove_game not accepted\" game_id=%s result=%s", c->game_id,
                    mm_gs_result_name(gr));
    return MM_CURATE_DELETED;
}

mm_status mm_curate_pass(mm_store *store, mm_gs_client *gs, const mm_config *cfg,
                         mm_curation_cursor *cursor, int64_t now_us, mm_curation_stats *stats)
{
    mm_arena *a = mm_arena_new(0);
    if (a == NULL)
        return MM_ERR_NOMEM;
    mm_status st = MM_OK;
    for (size_t p = 0; p < cfg->nproducts && st == MM_OK; p++) {
        const char *product_id = cfg->products[p].product_id;
        for (int set = 0; set < MM_SET_COUNT && st == MM_OK; set++) {
            int64_t cutoff_ms = now_us / 1000 - (int64_t)min_expiry(cfg, set) * 1000;
            long *offset = &cursor->offset[p][set];
            mm_candidate *c;
            size_t n;
            mm_store_result r =
                mm_store_candidates(store, a, product_id, (mm_game_set)set, cutoff_ms, *offset,
                                    cfg->curation_batch_size, &c, &n);
            if (r != MM_STORE_OK) {
                st = MM_ERR_UNAVAILABLE;
                break;
            }
            long kept = 0; /* still in the set: the next page starts after them */
            for (size_t i = 0; i < n; i++) {
                stats->seen++;
                mm_curate_outcome o = mm_curate_one(store, gs, cfg, a, product_id, &c[i], now_us);
                kept += o == MM_CURATE_KEPT || o == MM_CURATE_CHANGED;
                switch (o) {
                case MM_CURATE_KEPT: break;
                case MM_CURATE_CHANGED: stats->changed++; break;
                case MM_CURATE_DELETED: stats->deleted++; break;
                case MM_CURATE_RESET: stats->reset++; break;
                case MM_CURATE_CLEANED: stats->cleaned++; break;
                case MM_CURATE_FAILED:
                    stats->failed++;
                    st = MM_ERR_UNAVAILABLE;
                    break;
                }
                if (st != MM_OK)
                    break;
            }
            *offset = (long)n < cfg->curation_batch_size ? 0 : *offset + kept;
            mm_arena_reset(a);
        }
    }
    mm_arena_free(a);
    return st;
}
