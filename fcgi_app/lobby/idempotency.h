/* Idempotent retries (SPEC 12): a write request that carries an Idempotency-Key is run at
 * most once per user, route and key within MM_IDEM_KEEP_MS; a retry gets the first answer
 * back (status and body) without anything being done again, and a retry while the first
 * is still running is told so. In Redis: one key per (key, path, user), first a marker that
 * the request is running (expiring after MM_IDEM_RUNNING_MS, so a process that died
 * mid-request does not block the key for long), then the answer. Answers that did nothing
 * and may succeed later (5xx, 429) are not kept: a retry runs again. Both are store steps
 * (redis/lua/idem_*.lua): the claim, like every write, does nothing once past its deadline,
 * so a request answered 503 leaves no marker to answer its retries 409; and both wait for
 * the replicas asked (redis_min_replicas_ack), so an answer kept survives a failover. */
#ifndef MM_IDEMPOTENCY_H
#define MM_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "store.h"

#define MM_IDEM_KEY_MAX 64
#define MM_IDEM_KEEP_MS 600000   /* an answer is replayed for 10 minutes */
#define MM_IDEM_RUNNING_MS 60000 /* longer than any request runs */

typedef enum {
    MM_IDEM_PROCEED,    /* first time: run the request, then mm_idem_finish */
    MM_IDEM_REPLAY,     /* answered before: *status and *body are that answer */
    MM_IDEM_RUNNING,    /* the first is still running: 409 */
    MM_IDEM_UNAVAILABLE /* Redis did not answer: 503 */
} mm_idem_state;

/* 1..MM_IDEM_KEY_MAX characters of [A-Za-z0-9_-]. */
bool mm_idem_key_valid(const char *key);

/* Claims key for this user and path, or finds what it holds. The body (in a) is JSON. */
mm_idem_state mm_idem_begin(mm_store *s, mm_arena *a, const char *key, const char *path,
                            size_t path_len, const char *user_id, int *status, const char **body,
                            size_t *body_len);

/* Keeps the answer for the retries to come, or frees the key when the answer is one a retry
 * should not get (5xx, 429). Best effort: a failure is logged. */
void mm_idem_finish(mm_store *s, mm_arena *a, const char *key, const char *path, size_t path_len,
                    const char *user_id, int status, const char *body, size_t body_len);

#endif
