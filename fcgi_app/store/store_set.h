/* The stores of a process, one per Redis deployment (SPEC 14): the global redis_url's (found
 * through redis_sentinels when the configuration names them), and one for each other URL or
 * sentinel pair a product names as its own (mm_config_sentinels), shared by the products
 * that name the same one. Each store has its connection (connected lazily), the per-user
 * limits and the replicas each write waits for, from the configuration. mm_store_set_new has
 * one matching mm_store_set_free, which closes every connection. */
#ifndef MM_STORE_SET_H
#define MM_STORE_SET_H

#include <stddef.h>

#include "config.h"
#include "store.h"

typedef struct mm_store_set mm_store_set;

/* cfg must outlive the set. NULL with a reason in err (a URL that does not parse, memory). */
mm_store_set *mm_store_set_new(const mm_config *cfg, long timeout_ms, char *err, size_t errlen);
void mm_store_set_free(mm_store_set *set);

/* The store of p's games (NULL p: the global one). */
mm_store *mm_store_set_for(const mm_store_set *set, const mm_product *p);

/* The deployments' connections, for what concerns each once (health, errors). */
size_t mm_store_set_count(const mm_store_set *set);
mm_rconn *mm_store_set_conn(const mm_store_set *set, size_t i);

/* Sets the lobby observer of every store (store.h). */
void mm_store_set_observe(mm_store_set *set, mm_store_observer fn, void *ctx);

#endif
