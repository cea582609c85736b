#include "idempotency.h"

#include <stdio.h>
#include <string.h>

#include "ids.h"
#include "log.h"

#define RUNNING "running"

bool mm_idem_key_valid(const char *key)
{
    size_t n = strlen(key);
    return n >= 1 && n <= MM_IDEM_KEY_MAX && mm_id_valid(key, n);
}

/* "__idem:KEY:PATHLEN:PATH:USER": the path's length keeps any path and user apart. */
static char *redis_key(mm_arena *a, const char *key, const char *path, size_t path_len,
                       const char *user_id)
{
    return mm_arena_printf(a, "__idem:%s:%zu:%.*s:%s", key, path_len, (int)path_len, path, user_id);
}

mm_idem_state mm_idem_begin(mm_rconn *c, mm_arena *a, const char *key, const char *path,
                            size_t path_len, const char *user_id, int *status, const char **body,
                            size_t *body_len)
{
    *status = 0;
    *body = NULL;
    *body_len = 0;
    char *k = redis_key(a, key, path, path_len, user_id);
    if (k == NULL)
        return MM_IDEM_UNAVAILABLE;
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%d", MM_IDEM_RUNNING_MS);
    /* one step: claims the key, or answers what it holds */
    const char *argv[] = {"SET", k, RUNNING, "NX", "PX", ttl, "GET"};
    redisReply *r = mm_rconn_command_argv_in(c, a, MM_RCONN_ONCE, 7, argv, NULL);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        if (r != NULL)
            mm_log_error("msg=\"idempotency key not claimed\" err=\"%.200s\"", r->str);
        return MM_IDEM_UNAVAILABLE;
    }
    if (r->type == REDIS_REPLY_NIL)
        return MM_IDEM_PROCEED;
    if (r->type != REDIS_REPLY_STRING)
        return MM_IDEM_UNAVAILABLE;
    if (strcmp(r->str, RUNNING) == 0)
        return MM_IDEM_RUNNING;
    /* "STATUS BODY" */
    const char *sp = memchr(r->str, ' ', r->len);
    if (sp == NULL || sp - r->str != 3 || sscanf(r->str, "%3d", status) != 1 || *status < 100 ||
        *status > 599)
        return MM_IDEM_UNAVAILABLE;
    *body = sp + 1;
    *body_len = r->len - 4;
    return MM_IDEM_REPLAY;
}

void mm_idem_finish(mm_rconn *c, mm_arena *a, const char *key, const char *path, size_t path_len,
                    const char *user_id, int status, const char *body, size_t body_len)
{
    char *k = redis_key(a, key, path, path_len, user_id);
    if (k == NULL)
        return;
    bool keep = status >= 200 && status < 500 && status != 429;
    redisReply *r;
    if (keep) {
        char ttl[24], head[8];
        snprintf(ttl, sizeof(ttl), "%d", MM_IDEM_KEEP_MS);
        snprintf(head, sizeof(head), "%03d ", status);
        char *value = mm_arena_alloc(a, body_len + 5);
        if (value == NULL)
            return;
        memcpy(value, head, 4);
        if (body_len > 0)
            memcpy(value + 4, body, body_len);
        const char *argv[] = {"SET", k, value, "PX", ttl};
        const size_t lens[] = {3, strlen(k), body_len + 4, 2, strlen(ttl)};
        r = mm_rconn_command_argv_in(c, a, MM_RCONN_REPEATABLE, 5, argv, lens);
    } else {
        const char *argv[] = {"DEL", k};
        r = mm_rconn_command_argv_in(c, a, MM_RCONN_REPEATABLE, 2, argv, NULL);
    }
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        mm_log_error("msg=\"idempotent answer not kept: a retry will run again\" status=%d",
                     status);
}
