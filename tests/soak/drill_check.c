/* mm-drill-check: what a Redis failover cost, checked against the new primary
 * (scripts/failover-drill.sh).
 *   mm-drill-check HOST:PORT RECORD_DIR WORKER_LOG KILL_MS [strict]
 * RECORD_DIR holds the load's record (mm-soak load ... RECORD_DIR), WORKER_LOG the
 * worker's log, KILL_MS the Unix time in ms at which the old primary was killed. It
 * prints the time without service, the answers given meanwhile, the games and seats
 * answered 200 that the new primary does not hold, the stored-state invariants
 * (tests/integration/consistency.h), and how the worker's consumer group came through:
 * events reported to the game server as added but missing from the new primary's
 * stream, entries left unhandled, applied twice on one primary, or applied on the old
 * primary only (their effect lost with it). Exit 1 when a check that must hold does not
 * (with "strict", also when an answered game or seat is missing), 2 when it cannot check. */
#define _GNU_SOURCE /* timegm */
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consistency.h"

typedef struct {
    long long start, end; /* Unix ms */
    char op[16];
    long status;
    char product[64], game[64], user[64];
} answer;

typedef struct {
    long long start, end;
    long status;
    char product[64], game[64], entry[64];
} emit;

/* An entry id "ms-seq" as numbers, for ordering and lookup. */
typedef struct {
    unsigned long long ms, seq;
} entry_id;

/* What the worker's log says of one entry: handled (any result), applied (OK) before and
 * after the worker found the new primary. */
typedef struct {
    entry_id id;
    int handled, applied_before, applied_after;
} handling;

typedef struct {
    void *items;
    size_t n, cap, size;
} vec;

static void *vec_push(vec *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 1024;
        void *items = realloc(v->items, cap * v->size);
        if (items == NULL) {
            fprintf(stderr, "mm-drill-check: out of memory\n");
            exit(2);
        }
        v->items = items;
        v->cap = cap;
    }
    void *slot = (char *)v->items + v->n * v->size;
    memset(slot, 0, v->size);
    v->n++;
    return slot;
}

static int parse_id(const char *s, entry_id *out)
{
    char tail;
    return sscanf(s, "%llu-%llu%c", &out->ms, &out->seq, &tail) == 2 ? 0 : -1;
}

static int cmp_id(const void *a, const void *b)
{
    const entry_id *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_handling(const void *a, const void *b)
{
    return cmp_id(&((const handling *)a)->id, &((const handling *)b)->id);
}

/* Whether id is among the n sorted ids. */
static int has_id(const entry_id *ids, size_t n, const entry_id *id)
{
    return n > 0 && bsearch(id, ids, n, sizeof(entry_id), cmp_id) != NULL;
}

/* Whether the log handled id (hs: n rows sorted by id). */
static int was_handled(const handling *hs, size_t n, const entry_id *id)
{
    handling key = {.id = *id};
    return n > 0 && bsearch(&key, hs, n, sizeof(handling), cmp_handling) != NULL;
}

/* The log line's time (ts=2026-12-01T23:32:40.049817Z) in Unix ms, or -1. */
static long long line_ms(const char *line)
{
    struct tm tm;
    int usec;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(line, "ts=%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &usec) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm) * 1000 + usec / 1000;
}

/* The value of key= in line, up to the next space, into out; 0 when found. */
static int value_of(const char *line, const char *key, char *out, size_t cap)
{
    const char *p = strstr(line, key);
    if (p == NULL)
        return -1;
    p += strlen(key);
    size_t n = strcspn(p, " \n");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static void read_answers(const char *dir, vec *out)
{
    char path[4096], line[1024];
    snprintf(path, sizeof(path), "%s/answers.tsv", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "mm-drill-check: cannot read %s\n", path);
        exit(2);
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        answer *a = vec_push(out);
        if (sscanf(line, "%lld\t%lld\t%15s\t%ld\t%63s\t%63s\t%63s", &a->start, &a->end, a->op,
                   &a->status, a->product, a->game, a->user) != 7)
            out->n--;
    }
    fclose(f);
}

static void read_emits(const char *dir, vec *out)
{
    char path[4096], line[1024];
    snprintf(path, sizeof(path), "%s/emits.tsv", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "mm-drill-check: cannot read %s\n", path);
        exit(2);
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        emit *e = vec_push(out);
        if (sscanf(line, "%lld\t%lld\t%ld\t%63s\t%63s\t%63s", &e->start, &e->end, &e->status,
                   e->product, e->game, e->entry) != 6)
            out->n--;
    }
    fclose(f);
}

static redisReply *must(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "mm-drill-check: the new primary answered %s\n", r ? r->str : c->errstr);
        exit(2);
    }
    return r;
}

/* The stored game (HGET __games:product game), parsed, or NULL. */
static json_object *stored_game(redisContext *c, const char *product, const char *game)
{
    redisReply *r = must(c, "HGET __games:%s %s", product, game);
    json_object *g = r->type == REDIS_REPLY_STRING ? json_tokener_parse(r->str) : NULL;
    freeReplyObject(r);
    return g;
}

static const char *game_state(json_object *g)
{
    json_object *s;
    return g != NULL && json_object_object_get_ex(g, "state", &s) ? json_object_get_string(s) : "";
}

static int has_player(json_object *g, const char *user)
{
    json_object *players;
    if (g == NULL || !json_object_object_get_ex(g, "players", &players) ||
        !json_object_is_type(players, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(players); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(players, i)), user) == 0)
            return 1;
    return 0;
}

/* The outage: from the kill to the end of the last answer 503 (or 0 if none). */
static void report_outage(const vec *answers, long long kill_ms)
{
    long long last = 0;
    const answer *as = answers->items;
    for (size_t i = 0; i < answers->n; i++)
        if (as[i].status == 503 && as[i].end >= kill_ms && as[i].end > last)
            last = as[i].end;
    double secs = last ? (double)(last - kill_ms) / 1000.0 : 0.0;
    printf("unavailable: %.2f s (from the kill to the end of the last 503)\n", secs);
    /* every answer that ended in that window, by status */
    long by[600] = {0}, other = 0, n = 0;
    for (size_t i = 0; i < answers->n; i++) {
        if (as[i].end < kill_ms || as[i].start > (last ? last : kill_ms))
            continue;
        n++;
        if (as[i].status >= 0 && as[i].status < 600)
            by[as[i].status]++;
        else
            other++;
    }
    printf("answers during it: %ld:", n);
    for (int s = 0; s < 600; s++)
        if (by[s] > 0)
            printf(" %s%d: %ld", s == 0 ? "transport error " : "", s, by[s]);
    if (other > 0)
        printf(" other: %ld", other);
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: mm-drill-check HOST:PORT RECORD_DIR WORKER_LOG KILL_MS [strict]\n");
        return 2;
    }
    char host[256];
    int port;
    if (sscanf(argv[1], "%255[^:]:%d", host, &port) != 2) {
        fprintf(stderr, "mm-drill-check: HOST:PORT expected\n");
        return 2;
    }
    long long kill_ms = strtoll(argv[4], NULL, 10);
    int strict = argc == 6 && strcmp(argv[5], "strict") == 0;
    vec answers = {.size = sizeof(answer)}, emits = {.size = sizeof(emit)};
    read_answers(argv[2], &answers);
    read_emits(argv[2], &emits);
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "mm-drill-check: cannot reach %s\n", argv[1]);
        return 2;
    }
    redisSetTimeout(c, tv);
    int bad = 0;

    report_outage(&answers, kill_ms);

    /* games and seats answered 200, looked for on the new primary */
    long creates = 0, games_missing = 0, joins = 0, seats_missing = 0;
    const answer *as = answers.items;
    for (size_t i = 0; i < answers.n; i++) {
        if (as[i].status != 200 || strcmp(as[i].op, "open_games") == 0)
            continue;
        json_object *g = stored_game(c, as[i].product, as[i].game);
        if (strcmp(as[i].op, "create") == 0) {
            creates++;
            if (g == NULL && games_missing++ == 0)
                printf("  first missing game: %s/%s (answered at %lld, %+lld ms from the kill)\n",
                       as[i].product, as[i].game, as[i].end, as[i].end - kill_ms);
        } else {
            joins++;
            if (!has_player(g, as[i].user) && seats_missing++ == 0)
                printf("  first missing seat: %s in %s/%s (answered at %lld, %+lld ms from the "
                       "kill)\n",
                       as[i].user, as[i].product, as[i].game, as[i].end, as[i].end - kill_ms);
        }
        json_object_put(g);
    }
    printf("games answered 200: %ld, missing on the new primary: %ld\n", creates, games_missing);
    printf("seats answered 200: %ld, missing on the new primary: %ld\n", joins, seats_missing);
    if (strict && (games_missing > 0 || seats_missing > 0))
        bad = 1;

    static const char *const products[] = {"exrps", "exrps3", "exrps4", NULL};
    mm_consistency cons;
    if (mm_consistency_check(c, products, &cons) != 0) {
        fprintf(stderr, "mm-drill-check: the consistency check could not read Redis\n");
        return 2;
    }
    printf("consistency: %ld games, %ld violations%s%s\n", cons.games, cons.violations,
           cons.violations ? ", first: " : "", cons.first);
    if (cons.violations > 0)
        bad = 1;

    /* the event stream on the new primary (db 1) */
    freeReplyObject(must(c, "SELECT 1"));
    vec stream = {.size = sizeof(entry_id)};
    char from[64] = "-";
    for (;;) {
        redisReply *r = must(c, "XRANGE game_event_stream %s + COUNT 1000", from);
        size_t got = r->elements;
        for (size_t i = 0; i < got; i++) {
            entry_id *e = vec_push(&stream);
            if (parse_id(r->element[i]->element[0]->str, e) != 0)
                stream.n--;
        }
        if (got > 0)
            snprintf(from, sizeof(from), "(%s", r->element[got - 1]->element[0]->str);
        freeReplyObject(r);
        if (got < 1000)
            break;
    }
    entry_id *ids = stream.items;
    if (stream.n > 0)
        qsort(ids, stream.n, sizeof(entry_id), cmp_id);

    /* the worker's log: each entry it handled, and when it found the new primary */
    FILE *log = fopen(argv[3], "r");
    if (log == NULL) {
        fprintf(stderr, "mm-drill-check: cannot read %s\n", argv[3]);
        return 2;
    }
    vec handled = {.size = sizeof(handling)};
    long long switched = 0;
    long recreated = 0;
    char line[2048], idtext[64], result[32], before[128];
    while (fgets(line, sizeof(line), log) != NULL) {
        long long t = line_ms(line);
        if (strstr(line, "msg=\"redis primary found\"") != NULL &&
            value_of(line, " before=", before, sizeof(before)) == 0 &&
            strcmp(before, "none") != 0 && switched == 0)
            switched = t;
        if (t >= kill_ms && (strstr(line, "msg=\"consumer group created\"") != NULL ||
                             strstr(line, "msg=\"consumer group missing") != NULL))
            recreated++;
        if (strstr(line, " msg=event id=") == NULL ||
            value_of(line, " msg=event id=", idtext, sizeof(idtext)) != 0 ||
            value_of(line, " result=", result, sizeof(result)) != 0)
            continue;
        handling *h = vec_push(&handled);
        if (parse_id(idtext, &h->id) != 0) {
            handled.n--;
            continue;
        }
        h->handled = 1;
        if (strcmp(result, "OK") == 0) {
            if (switched != 0 && t >= switched)
                h->applied_after = 1;
            else
                h->applied_before = 1;
        }
    }
    fclose(log);
    /* one row per entry id */
    handling *hs = handled.items;
    if (handled.n > 0)
        qsort(hs, handled.n, sizeof(handling), cmp_handling);
    size_t m = 0;
    for (size_t i = 0; i < handled.n; i++) {
        if (m > 0 && cmp_id(&hs[m - 1].id, &hs[i].id) == 0) {
            hs[m - 1].handled += hs[i].handled;
            hs[m - 1].applied_before += hs[i].applied_before;
            hs[m - 1].applied_after += hs[i].applied_after;
        } else {
            hs[m++] = hs[i];
        }
    }
    handled.n = m;

    long reported = 0, not_on_stream = 0;
    const emit *es = emits.items;
    for (size_t i = 0; i < emits.n; i++) {
        entry_id e;
        if (es[i].status != 200 || parse_id(es[i].entry, &e) != 0)
            continue;
        reported++;
        if (!has_id(ids, stream.n, &e))
            not_on_stream++;
    }
    printf("events reported added (200): %ld, missing from the new primary's stream: %ld\n",
           reported, not_on_stream);

    long unhandled = 0, twice = 0, again = 0, gone = 0, redone = 0, applied_after = 0;
    for (size_t i = 0; i < stream.n; i++) {
        if (!was_handled(hs, handled.n, &ids[i]))
            unhandled++;
    }
    for (size_t i = 0; i < handled.n; i++) {
        const handling *h = &hs[i];
        if (!has_id(ids, stream.n, &h->id))
            gone++;
        if (h->applied_before > 1 || h->applied_after > 1)
            twice++;
        else if (h->applied_before == 1 && h->applied_after == 1)
            redone++;
        else if (h->handled > 1)
            again++;
        applied_after += h->applied_after;
    }
    printf("worker: %zu entries on the new primary's stream; not handled: %ld; applied twice on "
           "one primary: %ld; applied again on the new primary (the old one's write lost): %ld; "
           "delivered again and not applied: %ld; handled on the old primary only (gone from "
           "the stream): %ld\n",
           stream.n, unhandled, twice, redone, again, gone);

    /* the group as the new primary holds it */
    long long pending = -1, lag = -1;
    redisReply *g = must(c, "XINFO GROUPS game_event_stream");
    for (size_t i = 0; i < g->elements; i++) {
        const redisReply *grp = g->element[i];
        for (size_t k = 0; k + 1 < grp->elements; k += 2) {
            const char *name = grp->element[k]->str;
            const redisReply *v = grp->element[k + 1];
            if (strcmp(name, "pending") == 0 && v->type == REDIS_REPLY_INTEGER)
                pending = v->integer;
            else if (strcmp(name, "lag") == 0 && v->type == REDIS_REPLY_INTEGER)
                lag = v->integer;
        }
    }
    freeReplyObject(g);
    printf("worker: found the new primary %s; its group: pending %lld, lag %lld; group created "
           "again after the kill: %s; events applied on the new primary: %ld\n",
           switched ? "yes" : "NO", pending, lag, recreated ? "YES" : "no", applied_after);

    /* each reported event on the new stream must have taken effect there */
    long effect_lost = 0;
    freeReplyObject(must(c, "SELECT 0"));
    for (size_t i = 0; i < emits.n; i++) {
        entry_id e;
        if (es[i].status != 200 || parse_id(es[i].entry, &e) != 0 || !has_id(ids, stream.n, &e))
            continue;
        json_object *gm = stored_game(c, es[i].product, es[i].game);
        if (gm != NULL && strcmp(game_state(gm), "created") == 0 && effect_lost++ == 0)
            printf("  first event without effect: %s for %s/%s\n", es[i].entry, es[i].product,
                   es[i].game);
        json_object_put(gm);
    }
    printf("events on the new primary's stream whose game is still \"created\": %ld\n",
           effect_lost);
    if (unhandled > 0 || twice > 0 || effect_lost > 0 || recreated > 0 || switched == 0 ||
        applied_after == 0 || pending != 0 || lag > 0)
        bad = 1;
    printf("drill check: %s\n", bad ? "FAIL" : "PASS");
    free(answers.items);
    free(emits.items);
    free(stream.items);
    free(handled.items);
    redisFree(c);
    return bad;
}
