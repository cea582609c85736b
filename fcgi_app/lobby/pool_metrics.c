#include "pool_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "ids.h"
#include "prom.h"
#include "shared_file.h"

/* Product slots: 0 and 1 are the fixed labels, then products in the order
 * processes registered them (a pool restarted with more products appends). */
#define SLOT_NONE 0
#define SLOT_UNKNOWN 1
#define SLOTS (MM_CONFIG_MAX_PRODUCTS + 2)
#define CLASSES 5 /* 1xx .. 5xx */
#define BUCKETS 15
#define LAYOUT_MAGIC 0x4d4d4d4554524943ULL /* "MMMETRIC" */
#define LAYOUT_VERSION 3

static const double bucket_bounds[BUCKETS - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};

static const char *const endpoint_names[MM_EP_COUNT] = {
    "health",      "create_game",  "join_game",  "open_games",   "metrics", "preflight",
    "quick_match", "join_by_code", "leave_game", "lobby_events", "bench",   "other"};
static const char *const limit_names[MM_LIMIT_COUNT] = {"rate", "open_games", "seats"};
static const char *const op_names[MM_GS_OP_COUNT] = {"create_game", "join_game", "remove_game",
                                                     "remove_player"};
#define OUTCOMES 3 /* mm_gs_result */

/* The shared layout. Everything after the header is zero-initialised by
 * ftruncate and only ever added to. */
typedef struct {
    mm_shared_header header;
    uint64_t nslots; /* names[0..nslots) are set */
    char names[SLOTS][MM_ID_MAX + 1];
    uint64_t requests[MM_EP_COUNT][SLOTS][CLASSES];
    uint64_t duration[MM_EP_COUNT][BUCKETS];
    uint64_t duration_us[MM_EP_COUNT];
    uint64_t gs_calls[SLOTS][MM_GS_OP_COUNT][OUTCOMES];
    uint64_t redis_errors;
    uint64_t games_created[SLOTS];
    uint64_t games_joined[SLOTS];
    uint64_t limited[SLOTS][MM_LIMIT_COUNT];
    uint64_t lobby_publish[3]; /* published, failed, unconfirmed */
} segment;

struct mm_metrics {
    segment *seg;
    bool shared;
    const mm_config *cfg;
    mm_breaker *breakers; /* the game servers' breakers, read for their metrics; or NULL */
    uint16_t slot[MM_CONFIG_MAX_PRODUCTS]; /* config product index -> slot */
};

static void add(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* Finds or adds each product's slot. Called with the file locked (or on
 * private memory). */
static void register_products(mm_metrics *m)
{
    segment *s = m->seg;
    if (s->nslots < 2) {
        snprintf(s->names[SLOT_NONE], sizeof(s->names[0]), "none");
        snprintf(s->names[SLOT_UNKNOWN], sizeof(s->names[0]), "unknown");
        __atomic_store_n(&s->nslots, 2, __ATOMIC_RELEASE);
    }
    for (size_t i = 0; i < m->cfg->nproducts; i++) {
        const char *id = m->cfg->products[i].product_id;
        uint64_t n = s->nslots, k;
        for (k = 2; k < n && strcmp(s->names[k], id) != 0; k++)
            ;
        if (k == n && n < SLOTS) {
            snprintf(s->names[k], sizeof(s->names[0]), "%s", id);
            __atomic_store_n(&s->nslots, n + 1, __ATOMIC_RELEASE);
        }
        m->slot[i] = (uint16_t)(k < SLOTS ? k : SLOT_UNKNOWN);
    }
}

/* mm_shared_setup: the products are registered under the file's lock. */
static void setup_segment(void *mem, bool fresh, void *arg)
{
    (void)fresh;
    mm_metrics *m = arg;
    m->seg = mem;
    if (m->seg->nslots > SLOTS) /* not a count this layout can hold: names start again */
        m->seg->nslots = 0;
    register_products(m);
}

/* The breakers' file beside the metrics file, as the game-server client opens it; no warning
 * of its own: the client's logs it, and the metrics say what they see. */
static mm_breaker *open_breakers(const char *path, const mm_config *cfg)
{
    char bpath[1100], w[512];
    if (path == NULL || mm_breaker_path(path, bpath, sizeof(bpath)) != 0)
        return mm_breaker_open(NULL, cfg, w, sizeof(w));
    return mm_breaker_open(bpath, cfg, w, sizeof(w));
}

mm_metrics *mm_metrics_open(const char *path, const mm_config *cfg, char *warning, size_t warnlen)
{
    mm_metrics *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->cfg = cfg;
    m->breakers = open_breakers(path, cfg);
    warning[0] = '\0';
    if (path != NULL && path[0] != '\0' &&
        mm_shared_file_map(path, sizeof(segment), LAYOUT_MAGIC, LAYOUT_VERSION, setup_segment, m,
                           warning, warnlen) != NULL) {
        m->shared = true;
        return m;
    }
    if (path == NULL || path[0] == '\0')
        snprintf(warning, warnlen, "no metrics_file configured");
    m->seg = calloc(1, sizeof(segment));
    if (m->seg == NULL) {
        mm_breaker_close(m->breakers);
        free(m);
        return NULL;
    }
    register_products(m);
    return m;
}

void mm_metrics_close(mm_metrics *m)
{
    if (m == NULL)
        return;
    if (m->shared)
        mm_shared_file_unmap(m->seg, sizeof(segment));
    else
        free(m->seg);
    mm_breaker_close(m->breakers);
    free(m);
}

bool mm_metrics_shared(const mm_metrics *m)
{
    return m->shared;
}

static size_t slot_of(const mm_metrics *m, const mm_product *p)
{
    if (p == NULL)
        return SLOT_NONE;
    size_t i = (size_t)(p - m->cfg->products);
    return i < m->cfg->nproducts ? m->slot[i] : SLOT_UNKNOWN;
}

void mm_metrics_request(mm_metrics *m, const mm_request_kind *k, int status, int64_t duration_us)
{
    size_t ep = k->endpoint < MM_EP_COUNT ? (size_t)k->endpoint : MM_EP_OTHER;
    size_t slot = k->unknown_product ? SLOT_UNKNOWN : slot_of(m, k->product);
    int cls = status / 100 - 1;
    if (cls < 0 || cls >= CLASSES)
        cls = CLASSES - 1;
    if (duration_us < 0)
        duration_us = 0;
    size_t b = mm_prom_bucket(bucket_bounds, BUCKETS, (double)duration_us / 1e6);
    add(&m->seg->requests[ep][slot][cls], 1);
    add(&m->seg->duration[ep][b], 1);
    add(&m->seg->duration_us[ep], (uint64_t)duration_us);
}

void mm_metrics_gs_call(mm_metrics *m, const mm_product *p, mm_gs_op op, mm_gs_result r)
{
    if (op < MM_GS_OP_COUNT && (int)r >= 0 && (int)r < OUTCOMES)
        add(&m->seg->gs_calls[slot_of(m, p)][op][r], 1);
}

void mm_metrics_redis_errors(mm_metrics *m, uint64_t n)
{
    if (n > 0)
        add(&m->seg->redis_errors, n);
}

void mm_metrics_lobby_published(mm_metrics *m, uint64_t published, uint64_t failed,
                                uint64_t unconfirmed)
{
    const uint64_t n[3] = {published, failed, unconfirmed};
    for (int i = 0; i < 3; i++)
        if (n[i] > 0)
            add(&m->seg->lobby_publish[i], n[i]);
}

void mm_metrics_game_created(mm_metrics *m, const mm_product *p)
{
    add(&m->seg->games_created[slot_of(m, p)], 1);
}

void mm_metrics_game_joined(mm_metrics *m, const mm_product *p)
{
    add(&m->seg->games_joined[slot_of(m, p)], 1);
}

void mm_metrics_limited(mm_metrics *m, const mm_product *p, mm_limit_kind kind)
{
    if ((unsigned)kind < MM_LIMIT_COUNT)
        add(&m->seg->limited[slot_of(m, p)][kind], 1);
}

/* Per-product counters: every registered product is shown, zero or not, so
 * a series exists before its first event. */
static void render_per_product(mm_prom *p, const segment *s, uint64_t nslots, const char *name,
                               const uint64_t *counts)
{
    char labels[MM_ID_MAX + 32];
    for (uint64_t k = 2; k < nslots; k++) {
        snprintf(labels, sizeof(labels), "product=\"%s\"", s->names[k]);
        mm_prom_counter(p, name, labels, get(&counts[k]));
    }
}

/* The circuit breaker of each configured product's game server (products on one game
 * server show the same breaker). */
static void render_breakers(mm_prom *p, const mm_metrics *m)
{
    const char *const families[][3] = {
        {"matchmaker_game_server_breaker_state", "gauge",
         "The product's game-server circuit breaker: 0 closed, 1 open, 2 a trial call."},
        {"matchmaker_game_server_breaker_opens_total", "counter",
         "Times the breaker opened (failures in a row, or a failed trial)."},
        {"matchmaker_game_server_breaker_refused_total", "counter",
         "Game-server calls refused while the breaker was open."},
    };
    char labels[MM_ID_MAX + 32];
    for (size_t f = 0; f < MM_ARRAY_LEN(families); f++) {
        mm_prom_family(p, families[f][0], families[f][1], families[f][2]);
        for (size_t i = 0; i < m->cfg->nproducts; i++) {
            const mm_product *prod = &m->cfg->products[i];
            mm_breaker_stats st;
            if (!mm_breaker_stats_of(m->breakers, prod->game_server_url, &st))
                continue;
            snprintf(labels, sizeof(labels), "product=\"%s\"", prod->product_id);
            if (f == 0)
                mm_prom_gauge(p, families[f][0], labels, (double)st.state);
            else
                mm_prom_counter(p, families[f][0], labels, f == 1 ? st.opens : st.refused);
        }
    }
}

char *mm_metrics_render(const mm_metrics *m, size_t *len)
{
    const segment *s = m->seg;
    uint64_t nslots = __atomic_load_n(&s->nslots, __ATOMIC_ACQUIRE);
    char labels[MM_ID_MAX + 128];
    mm_prom p;
    mm_prom_init(&p, (size_t)16 << 20);

    mm_prom_family(&p, "matchmaker_requests_total", "counter",
                   "Requests answered by the pool, by endpoint, product and status class.");
    for (size_t ep = 0; ep < MM_EP_COUNT; ep++)
        for (uint64_t k = 0; k < nslots; k++)
            for (int c = 0; c < CLASSES; c++) {
                uint64_t v = get(&s->requests[ep][k][c]);
                if (v == 0)
                    continue;
                snprintf(labels, sizeof(labels), "endpoint=\"%s\",product=\"%s\",code=\"%dxx\"",
                         endpoint_names[ep], s->names[k], c + 1);
                mm_prom_counter(&p, "matchmaker_requests_total", labels, v);
            }

    mm_prom_family(&p, "matchmaker_request_duration_seconds", "histogram",
                   "Time from the request reaching the process to its answer, by endpoint.");
    for (size_t ep = 0; ep < MM_EP_COUNT; ep++) {
        uint64_t counts[BUCKETS];
        for (int b = 0; b < BUCKETS; b++)
            counts[b] = get(&s->duration[ep][b]);
        snprintf(labels, sizeof(labels), "endpoint=\"%s\"", endpoint_names[ep]);
        mm_prom_histogram(&p, "matchmaker_request_duration_seconds", labels, bucket_bounds, counts,
                          BUCKETS, (double)get(&s->duration_us[ep]) / 1e6);
    }

    mm_prom_family(&p, "matchmaker_game_server_calls_total", "counter",
                   "Calls to game servers, by product, operation and outcome.");
    for (uint64_t k = 0; k < nslots; k++)
        for (int op = 0; op < MM_GS_OP_COUNT; op++)
            for (int r = 0; r < OUTCOMES; r++) {
                uint64_t v = get(&s->gs_calls[k][op][r]);
                if (v == 0)
                    continue;
                snprintf(labels, sizeof(labels), "product=\"%s\",operation=\"%s\",outcome=\"%s\"",
                         s->names[k], op_names[op], mm_gs_result_name((mm_gs_result)r));
                mm_prom_counter(&p, "matchmaker_game_server_calls_total", labels, v);
            }

    mm_prom_family(&p, "matchmaker_redis_errors_total", "counter",
                   "Redis commands or connections that failed.");
    mm_prom_counter(&p, "matchmaker_redis_errors_total", "", get(&s->redis_errors));

    mm_prom_family(&p, "matchmaker_lobby_publish_total", "counter",
                   "Live lobby changes sent to nginx's publisher, by result: published, failed "
                   "(missing from the subscriptions), unconfirmed (the connection closed before "
                   "nginx answered).");
    static const char *const publish_results[3] = {"published", "failed", "unconfirmed"};
    for (int i = 0; i < 3; i++) {
        snprintf(labels, sizeof(labels), "result=\"%s\"", publish_results[i]);
        mm_prom_counter(&p, "matchmaker_lobby_publish_total", labels, get(&s->lobby_publish[i]));
    }

    mm_prom_family(&p, "matchmaker_games_created_total", "counter", "Games created, by product.");
    render_per_product(&p, s, nslots, "matchmaker_games_created_total", s->games_created);
    mm_prom_family(&p, "matchmaker_games_joined_total", "counter",
                   "Seats taken in games, by product.");
    render_per_product(&p, s, nslots, "matchmaker_games_joined_total", s->games_joined);
    mm_prom_family(&p, "matchmaker_user_limited_total", "counter",
                   "Requests refused by a per-user limit, by product and limit.");
    for (uint64_t k = 2; k < nslots; k++)
        for (int l = 0; l < MM_LIMIT_COUNT; l++) {
            snprintf(labels, sizeof(labels), "product=\"%s\",limit=\"%s\"", s->names[k],
                     limit_names[l]);
            mm_prom_counter(&p, "matchmaker_user_limited_total", labels, get(&s->limited[k][l]));
        }

    render_breakers(&p, m);

    mm_prom_family(&p, "matchmaker_metrics_shared", "gauge",
                   "1 when these counters cover the whole pool, 0 when only this process.");
    mm_prom_gauge(&p, "matchmaker_metrics_shared", "", m->shared ? 1 : 0);

    const char *text;
    if (mm_prom_finish(&p, &text, len) != MM_OK) {
        mm_prom_free(&p);
        return NULL;
    }
    return p.data; /* text == p.data: the caller frees it */
}
