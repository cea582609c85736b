#include "consumer.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define BATCH 64           /* entries per read or claim, */
#define BATCH_TEXT "64"    /* the same as text */
#define RETRY_FIRST_MS 100 /* entries that failed are read again after this, */
#define RETRY_MAX_MS 5000  /* doubling up to this while they keep failing */
#define DOWN_MAX 16        /* deployments whose events wait at once (more: all wait) */

struct mm_worker {
    const mm_config *cfg;
    mm_rconn *stream;
    mm_store_set *stores;   /* the games, each product's on its deployment */
    mm_store *stream_steps; /* the stream's own scripts, run over the stream connection */
    char consumer[160];
    char idle[16];
    int group_ready;
    int pending_first;     /* re-read our own pending entries first, */
    char history_from[48]; /* those after this id */
    int64_t retry_at;      /* when entries that failed are read again (monotonic ms; 0: none) */
    bool backlogged;       /* the last read was a full batch: more are waiting */
    long retry_backoff;    /* ms, doubling while entries keep failing */
    /* The stores (deployments) that did not answer since the entries were last read again:
     * their events wait, in stream order, for the next reading; the others' go on. */
    const mm_store *down[DOWN_MAX];
    size_t ndown;
    mm_arena *arena;
    mm_worker_stats stats;
    mm_worker_metrics *metrics;
};

/* The next read starts with this consumer's pending entries, from the oldest. */
static void read_history_again(mm_worker *w)
{
    w->pending_first = 1;
    snprintf(w->history_from, sizeof(w->history_from), "0");
}

mm_worker *mm_worker_new(const mm_config *cfg, mm_rconn *stream, mm_store_set *stores,
                         const char *consumer)
{
    mm_worker *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->cfg = cfg;
    w->stream = stream;
    w->stores = stores;
    snprintf(w->consumer, sizeof(w->consumer), "%s", consumer);
    snprintf(w->idle, sizeof(w->idle), "%ld", cfg->event_claim_idle_ms);
    read_history_again(w); /* a restart under the same name resumes its own entries */
    w->retry_backoff = RETRY_FIRST_MS;
    w->arena = mm_arena_new(0);
    w->stream_steps = mm_store_new(stream);
    if (w->arena == NULL || w->stream_steps == NULL) {
        mm_worker_free(w);
        return NULL;
    }
    return w;
}

void mm_worker_free(mm_worker *w)
{
    if (w == NULL)
        return;
    mm_store_free(w->stream_steps);
    mm_arena_free(w->arena);
    free(w);
}

void mm_worker_set_metrics(mm_worker *w, mm_worker_metrics *m)
{
    w->metrics = m;
}

bool mm_worker_backlogged(const mm_worker *w)
{
    return w->backlogged;
}

const mm_worker_stats *mm_worker_stats_get(const mm_worker *w)
{
    return &w->stats;
}

/* A stream entry id: digits, '-', digits. */
static int valid_id(const char *s, size_t len)
{
    size_t dash = 0, i;
    for (i = 0; i < len; i++) {
        if (s[i] == '-' && dash == 0 && i > 0)
            dash = i;
        else if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return len > 0 && len < 48 && dash > 0 && dash < len - 1;
}

/* Creates the group if it does not exist. A legacy deployment kept the id
 * of the last handled entry in MM_LEGACY_INDEX_KEY: start right after it so
 * a switch-over neither loses nor repeats an event. */
static mm_status ensure_group(mm_worker *w)
{
    if (w->group_ready)
        return MM_OK;
    char start[48] = "0";
    redisReply *r = mm_rconn_command(w->stream, "GET %s", MM_LEGACY_INDEX_KEY);
    if (r == NULL)
        return MM_ERR_UNAVAILABLE;
    if (r->type == REDIS_REPLY_STRING && valid_id(r->str, r->len))
        snprintf(start, sizeof(start), "%s", r->str);
    freeReplyObject(r);
    r = mm_rconn_command(w->stream, "XGROUP CREATE %s %s %s MKSTREAM", MM_EVENT_STREAM,
                         w->cfg->event_group, start);
    if (r == NULL)
        return MM_ERR_UNAVAILABLE;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
        mm_log_error("msg=\"cannot create the consumer group\" err=\"%.200s\"", r->str);
        freeReplyObject(r);
        return MM_ERR_UNAVAILABLE;
    }
    if (r->type != REDIS_REPLY_ERROR)
        mm_log_info("msg=\"consumer group created\" group=%s start=%s", w->cfg->event_group, start);
    freeReplyObject(r);
    w->group_ready = 1;
    return MM_OK;
}

mm_store_result mm_worker_apply(mm_store *store, mm_arena *a, const mm_event *ev,
                                const char *entry_id)
{
    mm_stored after;
    mm_store_via via = {.event_id = entry_id};
    switch (ev->type) {
    case MM_EVENT_STATE_CHANGE:
        return mm_store_advance(store, a, ev->product_id, ev->game_id, ev->new_state, &via, &after);
    case MM_EVENT_PLAYER_DISCONNECT:
        return mm_store_reset(store, a, ev->product_id, ev->game_id, ev->player_id, NULL, &via,
                              &after, NULL);
    case MM_EVENT_GAME_REMOVED:
        return mm_store_delete_via(store, ev->product_id, ev->game_id, NULL, 0, &via);
    case MM_EVENT_OTHER: break;
    }
    return MM_STORE_OK;
}

/* Acknowledges the n entries ids[] in one XACK (a batch's handled entries: one round trip
 * for the batch, not one per entry). An entry applied and not acknowledged, because Redis
 * or the worker went away first, is delivered again and found already applied (its game's
 * last applied id, SPEC 10): acknowledging late does no harm. */
static mm_status ack_all(mm_worker *w, const redisReply *const *ids, size_t n)
{
    if (n == 0)
        return MM_OK;
    const char *argv[3 + BATCH];
    size_t lens[3 + BATCH];
    argv[0] = "XACK";
    argv[1] = MM_EVENT_STREAM;
    argv[2] = w->cfg->event_group;
    for (size_t i = 0; i < 3; i++)
        lens[i] = strlen(argv[i]);
    for (size_t i = 0; i < n; i++) {
        argv[3 + i] = ids[i]->str;
        lens[3 + i] = ids[i]->len;
    }
    redisReply *r = mm_rconn_command_argv(w->stream, MM_RCONN_REPEATABLE, (int)(3 + n), argv, lens);
    if (r == NULL)
        return MM_ERR_UNAVAILABLE;
    freeReplyObject(r);
    w->stats.handled += (long long)n;
    return MM_OK;
}

/* How many times the group has delivered entry id (XPENDING's counter); -1 when Redis
 * cannot tell. */
static long long deliveries(mm_worker *w, const redisReply *id)
{
    redisReply *r = mm_rconn_command(w->stream, "XPENDING %s %s %b %b 1", MM_EVENT_STREAM,
                                     w->cfg->event_group, id->str, id->len, id->str, id->len);
    long long n = -1;
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 4 &&
        r->element[0]->element[3]->type == REDIS_REPLY_INTEGER)
        n = r->element[0]->element[3]->integer;
    if (r != NULL)
        freeReplyObject(r);
    return n;
}

/* An entry left pending is read again after the back-off. */
static void defer(mm_worker *w)
{
    int64_t at = mm_clock_ms() + w->retry_backoff;
    if (w->retry_at == 0 || at < w->retry_at)
        w->retry_at = at;
}

static bool is_down(const mm_worker *w, const mm_store *store)
{
    for (size_t i = 0; i < w->ndown; i++)
        if (w->down[i] == store)
            return true;
    return false;
}

/* An entry whose event cannot be applied (its script failed, its game's document cannot be
 * decoded): left pending and read again after a back-off, until it has been delivered
 * event_max_deliveries times; then moved to the dead-letter stream with the reason, and
 * acknowledged (SPEC 10). The entries after it go on meanwhile. */
static mm_status entry_failed(mm_worker *w, const redisReply *id, const mm_event *ev,
                              mm_store_result r)
{
    long long n = deliveries(w, id);
    if (n < 0)
        return MM_ERR_UNAVAILABLE;
    char reason[160];
    snprintf(reason, sizeof(reason), "%s: %s", ev->type_name,
             r == MM_STORE_CORRUPT ? "the game's document cannot be decoded"
                                   : "the store step failed");
    if (n < w->cfg->event_max_deliveries) {
        mm_log_warn("msg=\"event not applied; will retry\" id=%s game_id=%s deliveries=%lld "
                    "reason=\"%s\"",
                    id->str, ev->game_id, n, reason);
        defer(w);
        mm_worker_metrics_event(w->metrics, (int)ev->type, MM_EVENT_FAILED);
        return MM_OK;
    }
    mm_store_result dr =
        mm_store_dead_letter(w->stream_steps, MM_EVENT_STREAM, MM_DEAD_LETTER, w->cfg->event_group,
                             id->str, reason, w->cfg->event_stream_max_len);
    if (dr != MM_STORE_OK)
        return MM_ERR_UNAVAILABLE;
    mm_log_error("msg=\"event moved to the dead-letter stream\" id=%s product=%s game_id=%s "
                 "deliveries=%lld reason=\"%s\"",
                 id->str, ev->product_id, ev->game_id, n, reason);
    w->stats.handled++;
    w->stats.dead_lettered++;
    mm_worker_metrics_event(w->metrics, (int)ev->type, MM_EVENT_DEAD_LETTERED);
    return MM_OK;
}

/* Handles one entry [id, [field, value, ...]]: *done is set to its id when it is to be
 * acknowledged, NULL when it stays pending (Redis failed: a retry; a failed step: read again
 * after a back-off) or needs nothing (not an entry; moved to the dead-letter stream, which
 * acknowledges it). */
static mm_status handle_entry(mm_worker *w, const redisReply *entry, const redisReply **done)
{
    *done = NULL;
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING)
        return MM_OK; /* not an entry: nothing to acknowledge */
    const redisReply *id = entry->element[0], *fl = entry->element[1];
    mm_arena_reset(w->arena);
    const char *fields[2 * MM_EVENT_MAX_FIELDS];
    size_t lens[2 * MM_EVENT_MAX_FIELDS];
    size_t n = 0;
    int shape_ok = fl->type == REDIS_REPLY_ARRAY && fl->elements <= (size_t)2 * MM_EVENT_MAX_FIELDS;
    for (size_t i = 0; shape_ok && i < fl->elements; i++) {
        if (fl->element[i]->type != REDIS_REPLY_STRING) {
            shape_ok = 0;
            break;
        }
        fields[n] = fl->element[i]->str;
        lens[n++] = fl->element[i]->len;
    }
    mm_event ev;
    const char *why = "entry deleted or not a field list";
    if (!shape_ok || mm_event_decode(w->arena, n, fields, lens, &ev, &why) != MM_OK) {
        mm_log_warn("msg=\"malformed event skipped\" id=%s reason=\"%s\"", id->str, why);
        w->stats.malformed++;
        mm_worker_metrics_event(w->metrics, MM_EVENT_TYPE_UNKNOWN, MM_EVENT_MALFORMED);
        *done = id;
        return MM_OK;
    }
    if (ev.type != MM_EVENT_OTHER &&
        mm_config_product(w->cfg, ev.product_id, strlen(ev.product_id)) == NULL) {
        mm_log_warn("msg=\"event for an unknown product skipped\" id=%s product=%s", id->str,
                    ev.product_id);
        w->stats.ignored++;
        mm_worker_metrics_event(w->metrics, (int)ev.type, MM_EVENT_IGNORED);
        *done = id;
        return MM_OK;
    }
    const mm_product *prod = mm_config_product(w->cfg, ev.product_id, strlen(ev.product_id));
    mm_store *store = mm_store_set_for(w->stores, prod);
    if (ev.type != MM_EVENT_OTHER && is_down(w, store)) {
        /* after an earlier event of that deployment: waits behind it, in order */
        defer(w);
        mm_worker_metrics_event(w->metrics, (int)ev.type, MM_EVENT_FAILED);
        return MM_OK;
    }
    mm_store_result r = mm_worker_apply(store, w->arena, &ev, id->str);
    if (r == MM_STORE_UNAVAILABLE) {
        mm_worker_metrics_event(w->metrics, (int)ev.type, MM_EVENT_FAILED);
        if (w->ndown == DOWN_MAX) {
            mm_log_error("msg=\"event not applied: redis unavailable; will retry\" id=%s",
                         id->str);
            return MM_ERR_UNAVAILABLE;
        }
        /* SPEC 10: one deployment's outage holds up no other product's events. This
         * entry and the later ones of its deployment stay pending and are read again,
         * in order, after the back-off. */
        w->down[w->ndown++] = store;
        mm_log_error("msg=\"event not applied: the product's Redis did not answer; its "
                     "events wait\" id=%s product=%s",
                     id->str, ev.product_id);
        defer(w);
        return MM_OK;
    }
    if (r == MM_STORE_NO_MEMORY) {
        /* Redis is full: nothing was written, and the event is not at fault. It stays
         * pending and is read again after a back-off, never dead-lettered for this; the
         * entries after it, curation (whose deletions free memory) and the stream's
         * trimming go on meanwhile. */
        mm_log_warn("msg=\"event not applied: Redis is at maxmemory; will retry\" id=%s "
                    "game_id=%s",
                    id->str, ev.game_id);
        defer(w);
        mm_worker_metrics_event(w->metrics, (int)ev.type, MM_EVENT_FAILED);
        return MM_OK;
    }
    if (r == MM_STORE_ERROR || r == MM_STORE_CORRUPT)
        return entry_failed(w, id, &ev, r);
    int applied = r == MM_STORE_OK && ev.type != MM_EVENT_OTHER;
    if (r == MM_STORE_STALE) {
        w->stats.stale++;
        mm_worker_metrics_event(w->metrics, (int)ev.type, MM_EVENT_STALE);
    } else if (applied) {
        w->stats.applied++;
        mm_worker_metrics_event(w->metrics, (int)ev.type, MM_EVENT_APPLIED);
    } else {
        w->stats.ignored++;
        mm_worker_metrics_event(w->metrics, (int)ev.type, MM_EVENT_IGNORED);
    }
    mm_log_info("msg=event id=%s type=%s product=%s game_id=%s result=%s", id->str, ev.type_name,
                ev.product_id, ev.game_id, mm_store_result_name(r));
    *done = id;
    return MM_OK;
}

static mm_status handle_entries(mm_worker *w, const redisReply *entries, volatile const int *stop)
{
    if (entries->type != REDIS_REPLY_ARRAY)
        return MM_OK;
    const redisReply *done[BATCH] = {NULL};
    size_t ndone = 0;
    mm_status st = MM_OK;
    for (size_t i = 0; i < entries->elements; i++) {
        if (i > 0 && *stop)
            break; /* the rest stays pending; another consumer will claim it */
        if (ndone == BATCH) { /* a read never holds more than BATCH: never, but bounded */
            if ((st = ack_all(w, done, ndone)) != MM_OK)
                break;
            ndone = 0;
        }
        const redisReply *id;
        if ((st = handle_entry(w, entries->element[i], &id)) != MM_OK)
            break;
        if (id != NULL)
            done[ndone++] = id;
    }
    /* what was handled is acknowledged, even when a later entry found Redis gone (the
     * stream's connection may still work) */
    mm_status acked = ack_all(w, done, ndone);
    if (st == MM_OK)
        st = acked;
    if (st != MM_OK)
        read_history_again(w);
    return st;
}

static int is_nogroup(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0;
}

mm_status mm_worker_poll(mm_worker *w, long block_ms, volatile const int *stop)
{
    if (ensure_group(w) != MM_OK)
        return MM_ERR_UNAVAILABLE;
    if (w->retry_at != 0 && mm_clock_ms() >= w->retry_at) {
        /* entries that failed are due again: read our pending entries, oldest first */
        w->retry_at = 0;
        w->ndown = 0;
        read_history_again(w);
        w->retry_backoff =
            w->retry_backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : w->retry_backoff * 2;
    }
    /* "0" lists this consumer's own pending entries (no blocking), ">" new ones */
    char block[24];
    snprintf(block, sizeof(block), "%ld", block_ms);
    const char *from = w->pending_first ? w->history_from : ">";
    const char *argv[] = {
        "XREADGROUP", "GROUP", w->cfg->event_group, w->consumer,     "COUNT", BATCH_TEXT,
        "BLOCK",      block,   "STREAMS",           MM_EVENT_STREAM, from};
    int argc = (int)MM_ARRAY_LEN(argv);
    if (w->pending_first || block_ms <= 0) { /* no BLOCK */
        argv[6] = "STREAMS";
        argv[7] = MM_EVENT_STREAM;
        argv[8] = from;
        argc = 9;
    }
    /* Entries delivered by a read whose answer was lost are pending for this
     * consumer: the next read starts with them. */
    redisReply *r = mm_rconn_command_argv(w->stream, MM_RCONN_ONCE, argc, argv, NULL);
    w->backlogged = false;
    if (r == NULL) {
        read_history_again(w);
        return MM_ERR_UNAVAILABLE;
    }
    mm_status st = MM_OK;
    int history = w->pending_first;
    if (is_nogroup(r)) {
        mm_log_warn("msg=\"consumer group missing (stream or group deleted); recreating\"");
        w->group_ready = 0;
    } else if (r->type == REDIS_REPLY_ERROR) {
        mm_log_error("msg=\"XREADGROUP failed\" err=\"%.200s\"", r->str);
        st = MM_ERR_UNAVAILABLE;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
               r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
        const redisReply *entries = r->element[0]->element[1];
        /* The history is read once, page after page: what fails again waits for its
         * back-off (retry_at) instead of being read again at once. */
        size_t got = entries->type == REDIS_REPLY_ARRAY ? entries->elements : 0;
        w->backlogged = got == BATCH;
        if (history && got == BATCH) {
            const redisReply *last = entries->element[got - 1];
            if (last->type == REDIS_REPLY_ARRAY && last->elements == 2 &&
                last->element[0]->type == REDIS_REPLY_STRING)
                snprintf(w->history_from, sizeof(w->history_from), "%s", last->element[0]->str);
        } else {
            w->pending_first = 0;
            snprintf(w->history_from, sizeof(w->history_from), "0");
        }
        int64_t retry_before = w->retry_at;
        st = handle_entries(w, entries, stop);
        if (history && st == MM_OK && w->retry_at == retry_before)
            w->retry_backoff = RETRY_FIRST_MS; /* nothing failed again */
    } else {
        w->pending_first = 0;
        snprintf(w->history_from, sizeof(w->history_from), "0");
    }
    freeReplyObject(r);
    return st;
}

mm_status mm_worker_claim(mm_worker *w, volatile const int *stop)
{
    if (ensure_group(w) != MM_OK)
        return MM_ERR_UNAVAILABLE;
    char start[48] = "0-0";
    for (int round = 0; round < 16 && !*stop; round++) {
        const char *argv[] = {"XAUTOCLAIM", MM_EVENT_STREAM, w->cfg->event_group,
                              w->consumer,  w->idle,         start,
                              "COUNT",      BATCH_TEXT};
        redisReply *r =
            mm_rconn_command_argv(w->stream, MM_RCONN_ONCE, (int)MM_ARRAY_LEN(argv), argv, NULL);
        if (r == NULL) {
            read_history_again(w); /* what a lost answer claimed is now ours */
            return MM_ERR_UNAVAILABLE;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
            r->element[0]->type != REDIS_REPLY_STRING) {
            if (is_nogroup(r))
                w->group_ready = 0;
            freeReplyObject(r);
            return MM_OK;
        }
        const redisReply *entries = r->element[1];
        if (entries->type == REDIS_REPLY_ARRAY && entries->elements > 0) {
            w->stats.claimed += (long)entries->elements;
            mm_worker_metrics_claimed(w->metrics, entries->elements);
            mm_log_info("msg=\"claimed pending entries of a dead consumer\" count=%zu",
                        entries->elements);
        }
        snprintf(start, sizeof(start), "%s", r->element[0]->str);
        mm_status st = handle_entries(w, entries, stop);
        freeReplyObject(r);
        if (st != MM_OK)
            return st;
        if (strcmp(start, "0-0") == 0)
            break;
    }
    return MM_OK;
}

/* The id right after id ("ms-seq" -> "ms-(seq+1)"), for an exclusive bound. */
static void id_after(const char *id, char *out, size_t cap)
{
    unsigned long long ms = 0, seq = 0;
    if (sscanf(id, "%llu-%llu", &ms, &seq) == 2)
        snprintf(out, cap, "%llu-%llu", ms, seq + 1);
    else
        snprintf(out, cap, "0-1");
}

/* The smaller of two stream ids (either may be empty: none). */
static void keep_older(char *floor, size_t cap, const char *id)
{
    unsigned long long a_ms, a_seq, b_ms, b_seq;
    if (floor[0] == '\0' || (sscanf(id, "%llu-%llu", &b_ms, &b_seq) == 2 &&
                             sscanf(floor, "%llu-%llu", &a_ms, &a_seq) == 2 &&
                             (b_ms < a_ms || (b_ms == a_ms && b_seq < a_seq))))
        snprintf(floor, cap, "%s", id);
}

/* A field of one group in an XINFO GROUPS reply (a flat name/value list). */
static const redisReply *group_field(const redisReply *g, const char *name)
{
    for (size_t i = 0; i + 1 < g->elements; i += 2)
        if (g->element[i]->type == REDIS_REPLY_STRING && strcmp(g->element[i]->str, name) == 0)
            return g->element[i + 1];
    return NULL;
}

/* The oldest entry group has not acknowledged: its oldest pending entry, or else the
 * first it has not been given (after last-delivered-id). Written to floor when older. */
static mm_status group_floor(mm_worker *w, const redisReply *g, char *floor, size_t cap)
{
    const redisReply *name = group_field(g, "name"), *p = group_field(g, "pending"),
                     *last = group_field(g, "last-delivered-id");
    if (name == NULL || name->type != REDIS_REPLY_STRING || last == NULL ||
        last->type != REDIS_REPLY_STRING)
        return MM_OK;
    char after[64];
    id_after(last->str, after, sizeof(after));
    if (p != NULL && p->type == REDIS_REPLY_INTEGER && p->integer > 0) {
        redisReply *r = mm_rconn_command(w->stream, "XPENDING %s %s", MM_EVENT_STREAM, name->str);
        if (r == NULL)
            return MM_ERR_UNAVAILABLE;
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
            r->element[1]->type == REDIS_REPLY_STRING)
            keep_older(floor, cap, r->element[1]->str);
        freeReplyObject(r);
    }
    keep_older(floor, cap, after);
    return MM_OK;
}

mm_status mm_worker_tidy(mm_worker *w, int64_t *pending, int64_t *lag, long long *trimmed,
                         int *consumers_removed)
{
    *pending = 0;
    *lag = -1;
    *trimmed = 0;
    *consumers_removed = 0;
    redisReply *r = mm_rconn_command(w->stream, "XINFO GROUPS %s", MM_EVENT_STREAM);
    if (r == NULL)
        return MM_ERR_UNAVAILABLE;
    char floor[64] = "";
    mm_status st = MM_OK;
    int groups = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && st == MM_OK; i++) {
        const redisReply *g = r->element[i];
        if (g->type != REDIS_REPLY_ARRAY)
            continue;
        groups++;
        st = group_floor(w, g, floor, sizeof(floor));
        const redisReply *name = group_field(g, "name");
        if (name == NULL || name->type != REDIS_REPLY_STRING ||
            strcmp(name->str, w->cfg->event_group) != 0)
            continue;
        const redisReply *p = group_field(g, "pending"), *l = group_field(g, "lag");
        if (p != NULL && p->type == REDIS_REPLY_INTEGER)
            *pending = p->integer;
        if (l != NULL && l->type == REDIS_REPLY_INTEGER)
            *lag = l->integer;
    }
    freeReplyObject(r);
    if (st != MM_OK || groups == 0)
        return st; /* no group (yet): nothing may be trimmed */
    mm_store_result tr = mm_store_stream_trim(w->stream_steps, MM_EVENT_STREAM,
                                              w->cfg->event_stream_max_len, floor, trimmed);
    if (tr == MM_STORE_UNAVAILABLE)
        return MM_ERR_UNAVAILABLE;
    if (*trimmed > 0)
        mm_log_info("msg=\"event stream trimmed\" entries=%lld kept_from=%s", *trimmed, floor);

    /* consumers of our group gone quiet for long, with nothing pending */
    r = mm_rconn_command(w->stream, "XINFO CONSUMERS %s %s", MM_EVENT_STREAM, w->cfg->event_group);
    if (r == NULL)
        return MM_ERR_UNAVAILABLE;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *c = r->element[i];
        if (c->type != REDIS_REPLY_ARRAY)
            continue;
        const redisReply *name = group_field(c, "name"), *p = group_field(c, "pending"),
                         *idle = group_field(c, "idle");
        if (name == NULL || name->type != REDIS_REPLY_STRING || p == NULL ||
            p->type != REDIS_REPLY_INTEGER || idle == NULL || idle->type != REDIS_REPLY_INTEGER ||
            p->integer != 0 || idle->integer <= w->cfg->event_consumer_max_idle_ms ||
            strcmp(name->str, w->consumer) == 0)
            continue;
        /* DELCONSUMER drops a consumer's pending entries too: only one with none */
        redisReply *d = mm_rconn_command(w->stream, "XGROUP DELCONSUMER %s %s %s", MM_EVENT_STREAM,
                                         w->cfg->event_group, name->str);
        if (d != NULL && d->type == REDIS_REPLY_INTEGER && d->integer == 0) {
            (*consumers_removed)++;
            mm_log_info("msg=\"idle consumer removed from the group\" consumer=%s idle_ms=%lld",
                        name->str, idle->integer);
        }
        if (d != NULL)
            freeReplyObject(d);
    }
    freeReplyObject(r);
    return MM_OK;
}
