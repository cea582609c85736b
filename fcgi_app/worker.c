#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define BATCH_TEXT "64" /* entries per read or claim */

struct mm_worker {
    const mm_config *cfg;
    mm_rconn *stream;
    mm_store *store;
    char consumer[160];
    char block[16];
    char idle[16];
    int group_ready;
    int pending_first; /* after a failure: re-read our own pending entries first */
    mm_arena *arena;
    mm_worker_stats stats;
    mm_worker_metrics *metrics;
};

mm_worker *mm_worker_new(const mm_config *cfg, mm_rconn *stream, mm_store *store,
                         const char *consumer, long block_ms)
{
    mm_worker *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->cfg = cfg;
    w->stream = stream;
    w->store = store;
    snprintf(w->consumer, sizeof(w->consumer), "%s", consumer);
    snprintf(w->block, sizeof(w->block), "%ld", block_ms);
    snprintf(w->idle, sizeof(w->idle), "%ld", cfg->event_claim_idle_ms);
    w->pending_first = 1; /* a restart under the same name resumes its own entries */
    w->arena = mm_arena_new(0);
    if (w->arena == NULL) {
        free(w);
        return NULL;
    }
    return w;
}

void mm_worker_free(mm_worker *w)
{
    if (w == NULL)
        return;
    mm_arena_free(w->arena);
    free(w);
}

void mm_worker_set_metrics(mm_worker *w, mm_worker_metrics *m)
{
    w->metrics = m;
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

mm_store_result mm_worker_apply(mm_store *store, mm_arena *a, const mm_event *ev)
{
    mm_stored after;
    switch (ev->type) {
    case MM_EVENT_STATE_CHANGE:
        return mm_store_advance(store, a, ev->product_id, ev->game_id, ev->new_state, &after);
    case MM_EVENT_PLAYER_DISCONNECT:
        return mm_store_reset(store, a, ev->product_id, ev->game_id, ev->player_id, NULL, &after,
                              NULL);
    case MM_EVENT_GAME_REMOVED: return mm_store_delete(store, ev->product_id, ev->game_id);
    case MM_EVENT_OTHER: break;
    }
    return MM_STORE_OK;
}

static mm_status ack(mm_worker *w, const redisReply *id)
{
    redisReply *r = mm_rconn_command(w->stream, "XACK %s %s %b", MM_EVENT_STREAM,
                                     w->cfg->event_group, id->str, id->len);
    if (r == NULL)
        return MM_ERR_UNAVAILABLE;
    freeReplyObject(r);
    w->stats.handled++;
    return MM_OK;
}

/* Handles one entry [id, [field, value, ...]]; acknowledges it unless Redis
 * failed, in which case it stays pending for a retry. */
static mm_status handle_entry(mm_worker *w, const redisReply *entry)
{
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
        return ack(w, id);
    }
    if (ev.type != MM_EVENT_OTHER &&
        mm_config_product(w->cfg, ev.product_id, strlen(ev.product_id)) == NULL) {
        mm_log_warn("msg=\"event for an unknown product skipped\" id=%s product=%s", id->str,
                    ev.product_id);
        w->stats.ignored++;
        mm_worker_metrics_event(w->metrics, (int)ev.type, MM_EVENT_IGNORED);
        return ack(w, id);
    }
    mm_store_result r = mm_worker_apply(w->store, w->arena, &ev);
    if (r == MM_STORE_UNAVAILABLE || r == MM_STORE_ERROR) {
        mm_log_error("msg=\"event not applied; will retry\" id=%s result=%s", id->str,
                     mm_store_result_name(r));
        mm_worker_metrics_event(w->metrics, (int)ev.type, MM_EVENT_FAILED);
        return MM_ERR_UNAVAILABLE;
    }
    int applied = r == MM_STORE_OK && ev.type != MM_EVENT_OTHER;
    if (applied)
        w->stats.applied++;
    else
        w->stats.ignored++;
    mm_worker_metrics_event(w->metrics, (int)ev.type,
                            applied ? MM_EVENT_APPLIED : MM_EVENT_IGNORED);
    mm_log_info("msg=event id=%s type=%s product=%s game_id=%s result=%s", id->str, ev.type_name,
                ev.product_id, ev.game_id, mm_store_result_name(r));
    return ack(w, id);
}

static mm_status handle_entries(mm_worker *w, const redisReply *entries, volatile const int *stop)
{
    if (entries->type != REDIS_REPLY_ARRAY)
        return MM_OK;
    for (size_t i = 0; i < entries->elements; i++) {
        if (i > 0 && *stop)
            return MM_OK; /* the rest stays pending; another consumer will claim it */
        if (handle_entry(w, entries->element[i]) != MM_OK) {
            w->pending_first = 1;
            return MM_ERR_UNAVAILABLE;
        }
    }
    return MM_OK;
}

static int is_nogroup(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0;
}

mm_status mm_worker_poll(mm_worker *w, volatile const int *stop)
{
    if (ensure_group(w) != MM_OK)
        return MM_ERR_UNAVAILABLE;
    /* "0" lists this consumer's own pending entries (no blocking), ">" new ones */
    const char *from = w->pending_first ? "0" : ">";
    const char *argv[] = {
        "XREADGROUP", "GROUP",  w->cfg->event_group, w->consumer,     "COUNT", BATCH_TEXT,
        "BLOCK",      w->block, "STREAMS",           MM_EVENT_STREAM, from};
    int argc = (int)MM_ARRAY_LEN(argv);
    if (w->pending_first) { /* drop BLOCK for the history read */
        argv[6] = "STREAMS";
        argv[7] = MM_EVENT_STREAM;
        argv[8] = from;
        argc = 9;
    }
    /* Entries delivered by a read whose answer was lost are pending for this
     * consumer: the next read starts with them. */
    redisReply *r = mm_rconn_command_argv(w->stream, MM_RCONN_ONCE, argc, argv, NULL);
    if (r == NULL) {
        w->pending_first = 1;
        return MM_ERR_UNAVAILABLE;
    }
    mm_status st = MM_OK;
    if (is_nogroup(r)) {
        mm_log_warn("msg=\"consumer group missing (stream or group deleted); recreating\"");
        w->group_ready = 0;
    } else if (r->type == REDIS_REPLY_ERROR) {
        mm_log_error("msg=\"XREADGROUP failed\" err=\"%.200s\"", r->str);
        st = MM_ERR_UNAVAILABLE;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
               r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
        const redisReply *entries = r->element[0]->element[1];
        if (w->pending_first && entries->type == REDIS_REPLY_ARRAY && entries->elements == 0)
            w->pending_first = 0; /* history done */
        st = handle_entries(w, entries, stop);
    } else if (w->pending_first) {
        w->pending_first = 0;
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
            w->pending_first = 1; /* what a lost answer claimed is now ours */
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

/* A field of one group in an XINFO GROUPS reply (a flat name/value list). */
static const redisReply *group_field(const redisReply *g, const char *name)
{
    for (size_t i = 0; i + 1 < g->elements; i += 2)
        if (g->element[i]->type == REDIS_REPLY_STRING && strcmp(g->element[i]->str, name) == 0)
            return g->element[i + 1];
    return NULL;
}

mm_status mm_worker_backlog(mm_worker *w, int64_t *pending, int64_t *lag)
{
    *pending = 0;
    *lag = -1;
    redisReply *r = mm_rconn_command(w->stream, "XINFO GROUPS %s", MM_EVENT_STREAM);
    if (r == NULL)
        return MM_ERR_UNAVAILABLE;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *g = r->element[i];
        if (g->type != REDIS_REPLY_ARRAY)
            continue;
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
    return MM_OK;
}
