#include "breaker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shared_file.h"

/* ---- the word: state (2 bits), failures in a row (16 bits), a time in ms (46 bits) ---- */

#define STATE_SHIFT 62
#define FAILURES_SHIFT 46
#define FAILURES_MAX 0xffffULL
#define TIME_MAX ((1ULL << FAILURES_SHIFT) - 1) /* ms: more than 2,000 years of uptime */

static uint64_t word_of(mm_breaker_state st, uint64_t failures, int64_t t_ms)
{
    uint64_t t = t_ms < 0 ? 0 : (uint64_t)t_ms > TIME_MAX ? TIME_MAX : (uint64_t)t_ms;
    if (failures > FAILURES_MAX)
        failures = FAILURES_MAX;
    return (uint64_t)st << STATE_SHIFT | failures << FAILURES_SHIFT | t;
}

static mm_breaker_state state_of(uint64_t w)
{
    uint64_t st = w >> STATE_SHIFT;
    return st == MM_BREAKER_OPEN || st == MM_BREAKER_TRIAL ? (mm_breaker_state)st
                                                           : MM_BREAKER_CLOSED;
}

static uint64_t failures_of(uint64_t w)
{
    return (w >> FAILURES_SHIFT) & FAILURES_MAX;
}

static int64_t time_of(uint64_t w)
{
    return (int64_t)(w & TIME_MAX);
}

void mm_breaker_read(uint64_t word, mm_breaker_state *state, long *failures, int64_t *until_ms)
{
    if (state != NULL)
        *state = state_of(word);
    if (failures != NULL)
        *failures = (long)failures_of(word);
    if (until_ms != NULL)
        *until_ms = time_of(word);
}

static bool swap(uint64_t *word, uint64_t *seen, uint64_t want)
{
    return __atomic_compare_exchange_n(word, seen, want, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

mm_breaker_verdict mm_breaker_decide(uint64_t *word, const mm_breaker_rules *r, int64_t now_ms)
{
    uint64_t w = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    for (;;) {
        if (state_of(w) == MM_BREAKER_CLOSED)
            return MM_BREAKER_ALLOW;
        /* open and cooling down, or a trial still within its time */
        if (now_ms < time_of(w))
            return MM_BREAKER_REFUSE;
        /* the cooldown is over (or the trial's process never reported): the one process
         * whose swap wins makes the trial call */
        if (swap(word, &w, word_of(MM_BREAKER_TRIAL, 0, now_ms + r->trial_ms)))
            return MM_BREAKER_ALLOW_TRIAL;
    }
}

mm_breaker_change mm_breaker_note(uint64_t *word, const mm_breaker_rules *r, int64_t now_ms,
                                  bool trial, bool ok)
{
    uint64_t w = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    for (;;) {
        mm_breaker_state st = state_of(w);
        uint64_t want;
        mm_breaker_change change;
        if (trial) {
            if (st != MM_BREAKER_TRIAL) /* another trial has decided since */
                return MM_BREAKER_UNCHANGED;
            want = ok ? word_of(MM_BREAKER_CLOSED, 0, 0)
                      : word_of(MM_BREAKER_OPEN, 0, now_ms + r->cooldown_ms);
            change = ok ? MM_BREAKER_RECLOSED : MM_BREAKER_REOPENED;
        } else {
            if (st != MM_BREAKER_CLOSED) /* it opened while this call was under way */
                return MM_BREAKER_UNCHANGED;
            uint64_t failures = ok ? 0 : failures_of(w) + 1;
            if (failures == failures_of(w))
                return MM_BREAKER_UNCHANGED; /* a success with no failure to forget: no write */
            if (failures >= (uint64_t)r->failure_threshold) {
                want = word_of(MM_BREAKER_OPEN, 0, now_ms + r->cooldown_ms);
                change = MM_BREAKER_OPENED;
            } else {
                want = word_of(MM_BREAKER_CLOSED, failures, 0);
                change = MM_BREAKER_UNCHANGED;
            }
        }
        if (swap(word, &w, want))
            return change;
    }
}

/* ---- the table in the shared file ---- */

#define SLOTS MM_CONFIG_MAX_PRODUCTS       /* at most one game server per product */
#define LAYOUT_MAGIC 0x4d4d425245414b52ULL /* "MMBREAKR" */
#define LAYOUT_VERSION 1

typedef struct {
    uint64_t key; /* of the base URL (never 0: a free slot) */
    uint64_t word;
    uint64_t opens;
    uint64_t refused;
} slot;

typedef struct {
    mm_shared_header header;
    uint64_t nslots; /* slots[0..nslots) have a key */
    slot slots[SLOTS];
} table;

struct mm_breaker {
    table *t;
    bool shared;
    const mm_config *cfg;
    mm_breaker_rules rules;
    int slot[MM_CONFIG_MAX_PRODUCTS]; /* config product index -> slot, or -1 */
};

/* FNV-1a of the URL. Two URLs with one key would share a breaker: with 64 bits and at
 * most 256 URLs, never in practice. */
static uint64_t key_of(const char *url)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)url; *p != '\0'; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h != 0 ? h : 1;
}

/* Finds or adds each product's breaker. Called with the file locked (or on private
 * memory). */
static void register_urls(mm_breaker *b)
{
    table *t = b->t;
    if (t->nslots > SLOTS) /* not a count this layout can hold: start again */
        t->nslots = 0;
    for (size_t i = 0; i < b->cfg->nproducts && i < MM_CONFIG_MAX_PRODUCTS; i++) {
        uint64_t key = key_of(b->cfg->products[i].game_server_url);
        uint64_t n = t->nslots, k;
        for (k = 0; k < n && t->slots[k].key != key; k++)
            ;
        if (k == n && n < SLOTS) {
            t->slots[k].key = key;
            __atomic_store_n(&t->nslots, n + 1, __ATOMIC_RELEASE);
        }
        b->slot[i] = k < SLOTS ? (int)k : -1;
    }
}

static void setup_table(void *mem, bool fresh, void *arg)
{
    (void)fresh;
    mm_breaker *b = arg;
    b->t = mem;
    register_urls(b);
}

mm_breaker *mm_breaker_open(const char *path, const mm_config *cfg, char *warning, size_t warnlen)
{
    mm_breaker *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->cfg = cfg;
    b->rules.failure_threshold =
        cfg->game_server_failure_threshold > 0 ? cfg->game_server_failure_threshold : 1;
    b->rules.cooldown_ms = cfg->game_server_cooldown_ms;
    b->rules.trial_ms = cfg->game_server_timeout_ms + 1000;
    for (size_t i = 0; i < MM_ARRAY_LEN(b->slot); i++)
        b->slot[i] = -1;
    warning[0] = '\0';
    if (path != NULL && path[0] != '\0' &&
        mm_shared_file_map(path, sizeof(table), LAYOUT_MAGIC, LAYOUT_VERSION, setup_table, b,
                           warning, warnlen) != NULL) {
        b->shared = true;
        return b;
    }
    if (path == NULL || path[0] == '\0')
        snprintf(warning, warnlen, "no file for the breakers");
    b->t = calloc(1, sizeof(table));
    if (b->t == NULL) {
        free(b);
        return NULL;
    }
    register_urls(b);
    return b;
}

int mm_breaker_path(const char *metrics_file, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s.breakers", metrics_file != NULL ? metrics_file : "");
    return n > 0 && (size_t)n < cap && metrics_file != NULL && metrics_file[0] != '\0' ? 0 : -1;
}

mm_breaker *mm_breaker_open_pool(const mm_config *cfg)
{
    char path[1100], warning[512];
    const char *p = mm_breaker_path(cfg->metrics_file, path, sizeof(path)) == 0 ? path : NULL;
    mm_breaker *b = mm_breaker_open(p, cfg, warning, sizeof(warning));
    if (b == NULL)
        mm_log_error("msg=\"game-server breakers: out of memory\"");
    else if (!b->shared)
        mm_log_warn("msg=\"game-server breakers cover this process only\" reason=\"%s\"", warning);
    return b;
}

void mm_breaker_close(mm_breaker *b)
{
    if (b == NULL)
        return;
    if (b->shared)
        mm_shared_file_unmap(b->t, sizeof(table));
    else
        free(b->t);
    free(b);
}

/* The slot watching base_url, or -1. */
static int slot_for(const mm_breaker *b, const char *base_url)
{
    if (base_url == NULL)
        return -1;
    for (size_t i = 0; i < b->cfg->nproducts && i < MM_CONFIG_MAX_PRODUCTS; i++) {
        const char *u = b->cfg->products[i].game_server_url;
        if (u == base_url || strcmp(u, base_url) == 0)
            return b->slot[i];
    }
    return -1;
}

bool mm_breaker_admit(mm_breaker *b, const char *base_url, int64_t now_ms, mm_breaker_ticket *t)
{
    t->slot = -1;
    t->trial = false;
    if (b == NULL || (t->slot = slot_for(b, base_url)) < 0)
        return true;
    slot *s = &b->t->slots[t->slot];
    switch (mm_breaker_decide(&s->word, &b->rules, now_ms)) {
    case MM_BREAKER_ALLOW: return true;
    case MM_BREAKER_ALLOW_TRIAL: t->trial = true; return true;
    case MM_BREAKER_REFUSE: break;
    }
    __atomic_fetch_add(&s->refused, 1, __ATOMIC_RELAXED);
    return false;
}

mm_breaker_change mm_breaker_record(mm_breaker *b, const mm_breaker_ticket *t, bool ok,
                                    int64_t now_ms)
{
    if (b == NULL || t->slot < 0 || t->slot >= SLOTS)
        return MM_BREAKER_UNCHANGED;
    slot *s = &b->t->slots[t->slot];
    mm_breaker_change c = mm_breaker_note(&s->word, &b->rules, now_ms, t->trial, ok);
    if (c == MM_BREAKER_OPENED || c == MM_BREAKER_REOPENED)
        __atomic_fetch_add(&s->opens, 1, __ATOMIC_RELAXED);
    return c;
}

bool mm_breaker_stats_of(const mm_breaker *b, const char *base_url, mm_breaker_stats *out)
{
    memset(out, 0, sizeof(*out));
    int k = b != NULL ? slot_for(b, base_url) : -1;
    if (k < 0)
        return false;
    const slot *s = &b->t->slots[k];
    mm_breaker_read(__atomic_load_n(&s->word, __ATOMIC_ACQUIRE), &out->state, NULL, NULL);
    out->opens = __atomic_load_n(&s->opens, __ATOMIC_RELAXED);
    out->refused = __atomic_load_n(&s->refused, __ATOMIC_RELAXED);
    return true;
}
