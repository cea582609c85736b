#include "store_set.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *url;                 /* the configuration's text */
    const mm_sentinel_set *sentinels; /* the configuration's (NULL: none) */
    mm_rconn *conn;
    mm_store *store;
} deployment;

struct mm_store_set {
    const mm_config *cfg;
    deployment *deps; /* [0]: the global redis_url */
    size_t ndeps;
    size_t *of_product; /* cfg->products[i] -> its deployment */
};

/* Whether two sentinel pairs find the same primary (NULL and an empty list: none). */
static bool same_sentinels(const mm_sentinel_set *a, const mm_sentinel_set *b)
{
    size_t na = a != NULL ? a->n : 0, nb = b != NULL ? b->n : 0;
    if (na != nb)
        return false;
    if (na == 0)
        return true;
    if (strcmp(a->master_name, b->master_name) != 0)
        return false;
    for (size_t i = 0; i < na; i++)
        if (a->addrs[i].port != b->addrs[i].port || strcmp(a->addrs[i].host, b->addrs[i].host) != 0)
            return false;
    return true;
}

/* The deployment of url found through sentinels (NULL or none: url's own address), made
 * when it is the first to name that pair. */
static long deployment_of(mm_store_set *set, const char *url, const mm_sentinel_set *sentinels,
                          long timeout_ms, char *err, size_t errlen)
{
    for (size_t i = 0; i < set->ndeps; i++)
        if (strcmp(set->deps[i].url, url) == 0 && same_sentinels(set->deps[i].sentinels, sentinels))
            return (long)i;
    mm_redis_target t;
    if (mm_redis_target_make(url, sentinels, &t, err, errlen) != MM_OK)
        return -1;
    deployment *d = &set->deps[set->ndeps];
    d->url = url;
    d->sentinels = sentinels;
    d->conn = mm_rconn_new_target(&t, timeout_ms);
    d->store = d->conn != NULL ? mm_store_new(d->conn) : NULL;
    if (d->store == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const mm_config *c = set->cfg;
    mm_user_limits limits = {.max_open_games = c->max_open_games_per_user,
                             .max_seats = c->max_seats_per_user,
                             .requests_per_minute = c->user_requests_per_minute};
    mm_store_set_limits(d->store, &limits);
    mm_store_set_min_replicas_ack(d->store, c->redis_min_replicas_ack);
    return (long)set->ndeps++;
}

mm_store_set *mm_store_set_new(const mm_config *cfg, long timeout_ms, char *err, size_t errlen)
{
    mm_store_set *set = calloc(1, sizeof(*set));
    if (set == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    set->cfg = cfg;
    set->deps = calloc(cfg->nproducts + 1, sizeof(*set->deps));
    set->of_product = calloc(cfg->nproducts + 1, sizeof(*set->of_product));
    if (set->deps == NULL || set->of_product == NULL) {
        snprintf(err, errlen, "out of memory");
        mm_store_set_free(set);
        return NULL;
    }
    /* the shared deployment, behind the sentinels when there are (SPEC 14) */
    if (deployment_of(set, cfg->redis_url, mm_config_sentinels(cfg, NULL), timeout_ms, err,
                      errlen) < 0) {
        mm_store_set_free(set);
        return NULL;
    }
    for (size_t i = 0; i < cfg->nproducts; i++) {
        const mm_product *p = &cfg->products[i];
        long d = deployment_of(set, mm_config_redis_url(cfg, p), mm_config_sentinels(cfg, p),
                               timeout_ms, err, errlen);
        if (d < 0) {
            mm_store_set_free(set);
            return NULL;
        }
        set->of_product[i] = (size_t)d;
    }
    return set;
}

void mm_store_set_free(mm_store_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; set->deps != NULL && i < set->ndeps; i++) {
        mm_store_free(set->deps[i].store);
        mm_rconn_free(set->deps[i].conn);
    }
    free(set->deps);
    free(set->of_product);
    free(set);
}

mm_store *mm_store_set_for(const mm_store_set *set, const mm_product *p)
{
    if (p == NULL || p < set->cfg->products || p >= set->cfg->products + set->cfg->nproducts)
        return set->deps[0].store;
    return set->deps[set->of_product[p - set->cfg->products]].store;
}

size_t mm_store_set_count(const mm_store_set *set)
{
    return set->ndeps;
}

void mm_store_set_observe(mm_store_set *set, mm_store_observer fn, void *ctx)
{
    for (size_t i = 0; i < set->ndeps; i++)
        mm_store_set_observer(set->deps[i].store, fn, ctx);
}

mm_rconn *mm_store_set_conn(const mm_store_set *set, size_t i)
{
    return i < set->ndeps ? set->deps[i].conn : NULL;
}
