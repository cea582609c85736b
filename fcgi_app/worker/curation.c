#include "curation.h"

#include <string.h>

#include "cleanup_job.h"

#include "log.h"

/* The shortest expiry of the states a game in that set can be in: nothing in
 * the set entered more recently than that can have expired. */
static long min_expiry(const mm_config *cfg, mm_game_set set)
{
    switch (set) {
    case MM_SET_PENDING: return cfg->expiry_seconds[MM_STATE_CREATED];
    case MM_SET_LOBBY:
    case MM_SET_PRIVATE: return cfg->expiry_seconds[MM_STATE_CREATOR_JOINED];
    default: {
        long m = cfg->expiry_seconds[MM_STATE_CREATOR_JOINED]; /* full, not yet connected */
        for (int s = MM_STATE_ALL_PLAYERS_JOINED; s < MM_STATE_COUNT; s++)
            if (cfg->expiry_seconds[s] < m)
                m = cfg->expiry_seconds[s];
        return m;
    }
    }
}

/* The job text for a game-server call curation queues with its change (in a), NULL when
 * memory is short (the change is then made without it: logged). */
static const char *job_for(mm_arena *a, mm_cleanup_op op, const char *url, const char *game_id,
                           const char *user_id)
{
    mm_cleanup_job job = {.op = op, .game_server_url = url, .game_id = game_id, .user_id = user_id};
    const char *text = mm_cleanup_job_encode(a, &job);
    if (text == NULL)
        mm_log_error("msg=\"cleanup call not queued: out of memory\" op=%s game_id=%s",
                     mm_cleanup_op_name(op), game_id);
    return text;
}

/* A store result curation cannot act on: Redis unreachable stops the pass, anything else
 * (a script that failed on this game's document, say) skips this game only. */
static mm_curate_outcome failed(mm_store_result r, const char *what, const char *product_id,
                                const char *game_id)
{
    if (r == MM_STORE_UNAVAILABLE)
        return MM_CURATE_FAILED;
    mm_log_error("msg=\"curation skipped a game it cannot handle\" action=%s product=%s "
                 "game_id=%s result=%s",
                 what, product_id, game_id, mm_store_result_name(r));
    return MM_CURATE_SKIPPED;
}

/* A set entry without a usable document. An entry whose document is gone is
 * removed while it is still gone; a document this program cannot decode is
 * deleted only if it is still exactly the bytes read (never a document that
 * changed meanwhile), and the product's game server is told to remove the
 * game, since nothing else ever will. */
static mm_curate_outcome clean(mm_store *store, const mm_config *cfg, mm_arena *a,
                               const char *product_id, const mm_candidate *c)
{
    mm_store_result r;
    if (c->raw == NULL) {
        r = mm_store_delete_orphan(store, product_id, c->game_id);
    } else {
        const mm_product *p = mm_config_product(cfg, product_id, strlen(product_id));
        mm_store_via via = {.cleanup_job = p ? job_for(a, MM_CLEANUP_REMOVE_GAME,
                                                       p->game_server_url, c->game_id, NULL)
                                             : NULL};
        r = mm_store_delete_via(store, product_id, c->game_id, c->raw, c->raw_len, &via);
    }
    if (r == MM_STORE_CHANGED || (r == MM_STORE_NOT_FOUND && c->raw != NULL))
        return MM_CURATE_CHANGED;
    if (r != MM_STORE_OK && r != MM_STORE_NOT_FOUND)
        return failed(r, "clean", product_id, c->game_id);
    if (c->raw == NULL)
        mm_log_warn("msg=\"removed set entries of a game without a document\" product=%s "
                    "game_id=%s",
                    product_id, c->game_id);
    else
        mm_log_warn("msg=\"deleted a game whose document does not decode\" product=%s "
                    "game_id=%s bytes=%zu",
                    product_id, c->game_id, c->raw_len);
    return MM_CURATE_CLEANED;
}

mm_curate_outcome mm_curate_one(mm_store *store, const mm_config *cfg, mm_arena *a,
                                const char *product_id, const mm_candidate *c, int64_t now_us)
{
    const mm_game *g = &c->stored.game;
    if (c->stored.doc == NULL)
        return clean(store, cfg, a, product_id, c);
    if (!mm_game_expired(g, cfg->expiry_seconds, now_us))
        return MM_CURATE_KEPT;
    if (g->state == MM_STATE_CREATOR_JOINED && mm_game_is_full(g)) {
        /* the last joiner never connected: free the seat, list the game again; the reset
         * acts only on the document read, so the player it drops is that one's last */
        const char *last = g->players[g->nplayers - 1];
        mm_store_via via = {.cleanup_job = job_for(a, MM_CLEANUP_REMOVE_PLAYER, g->game_server_url,
                                                   c->game_id, last)};
        mm_stored after;
        const char *removed = NULL;
        mm_store_result r = mm_store_reset(store, a, product_id, c->game_id, last, c->stored.doc,
                                           &via, &after, &removed);
        if (r == MM_STORE_CHANGED || r == MM_STORE_NOT_FOUND)
            return MM_CURATE_CHANGED;
        if (r == MM_STORE_CORRUPT) /* the scripts cannot read it: nor can anyone join it */
            return clean(store, cfg, a, product_id, c);
        if (r != MM_STORE_OK)
            return failed(r, "reset", product_id, c->game_id);
        mm_log_info("msg=\"expired seat reset\" product=%s game_id=%s player=%s", product_id,
                    c->game_id, last);
        return MM_CURATE_RESET;
    }
    mm_store_via via = {
        .cleanup_job = job_for(a, MM_CLEANUP_REMOVE_GAME, g->game_server_url, c->game_id, NULL)};
    mm_store_result r =
        mm_store_delete_via(store, product_id, c->game_id, c->stored.doc, c->stored.doc_len, &via);
    if (r == MM_STORE_CHANGED || r == MM_STORE_NOT_FOUND)
        return MM_CURATE_CHANGED;
    if (r != MM_STORE_OK)
        return failed(r, "delete", product_id, c->game_id);
    mm_log_info("msg=\"expired game deleted\" product=%s game_id=%s state=%s", product_id,
                c->game_id, mm_game_state_name(g->state));
    return MM_CURATE_DELETED;
}

static void count(mm_curation_stats *stats, mm_curate_outcome o)
{
    stats->seen++;
    switch (o) {
    case MM_CURATE_KEPT: break;
    case MM_CURATE_CHANGED: stats->changed++; break;
    case MM_CURATE_DELETED: stats->deleted++; break;
    case MM_CURATE_RESET: stats->reset++; break;
    case MM_CURATE_CLEANED: stats->cleaned++; break;
    case MM_CURATE_SKIPPED: stats->skipped++; break;
    case MM_CURATE_FAILED: stats->failed++; break;
    }
}

mm_status mm_curate_step(mm_store_set *stores, const mm_config *cfg, mm_curation_cursor *cursor,
                         int64_t now_us, int64_t (*clock_ms)(void), int64_t until_ms,
                         mm_curation_stats *stats, bool *pass_done)
{
    *pass_done = false;
    mm_arena *a = mm_arena_new(0);
    if (a == NULL)
        return MM_ERR_NOMEM;
    while (cursor->product < cfg->nproducts) {
        if (clock_ms != NULL && clock_ms() >= until_ms)
            goto out; /* the budget is spent: the next step goes on from here */
        size_t p = cursor->product;
        int set = cursor->set;
        const char *product_id = cfg->products[p].product_id;
        mm_store *store = mm_store_set_for(stores, &cfg->products[p]);
        int64_t cutoff_ms = now_us / 1000 - (int64_t)min_expiry(cfg, (mm_game_set)set) * 1000;
        long *offset = &cursor->offset[p][set];
        mm_candidate *c;
        size_t n;
        mm_store_result r = mm_store_candidates(store, a, product_id, (mm_game_set)set, cutoff_ms,
                                                *offset, cfg->curation_batch_size, &c, &n);
        bool unanswered = r != MM_STORE_OK;
        if (unanswered)
            stats->failed++;
        long kept = 0; /* still in the set: the next page starts after them */
        size_t i = 0;
        for (; !unanswered && i < n; i++) {
            /* the budget is checked between games, not pages: a page of resets can take
             * far longer than a turn's share when the machine is busy */
            if (i > 0 && clock_ms != NULL && clock_ms() >= until_ms)
                break;
            mm_curate_outcome o = mm_curate_one(store, cfg, a, product_id, &c[i], now_us);
            count(stats, o);
            kept += o == MM_CURATE_KEPT || o == MM_CURATE_CHANGED || o == MM_CURATE_SKIPPED;
            unanswered = o == MM_CURATE_FAILED;
        }
        if (unanswered) {
            /* SPEC 10: the product's Redis did not answer; the pass goes on with the next
             * product (one deployment's outage holds up no other's curation), and this one
             * is tried again, from where it was, in the next pass */
            mm_log_warn("msg=\"curation passed over a product: its Redis did not answer\" "
                        "product=%s",
                        product_id);
            mm_arena_reset(a);
            cursor->set = 0;
            cursor->product++;
            continue;
        }
        if (i < n) {
            /* stopped inside the page: what it handled and kept stays in front, what it
             * removed is gone, so the next step reads on after the kept ones */
            *offset += kept;
            goto out;
        }
        *offset = (long)n < cfg->curation_batch_size ? 0 : *offset + kept;
        mm_arena_reset(a);
        if (++cursor->set == MM_SET_COUNT) {
            cursor->set = 0;
            cursor->product++;
        }
    }
    cursor->product = 0;
    cursor->set = 0;
    *pass_done = true;
out:
    mm_arena_free(a);
    return MM_OK;
}
