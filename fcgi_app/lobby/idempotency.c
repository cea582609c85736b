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

mm_idem_state mm_idem_begin(mm_store *s, mm_arena *a, const char *key, const char *path,
                            size_t path_len, const char *user_id, int *status, const char **body,
                            size_t *body_len)
{
    *status = 0;
    *body = NULL;
    *body_len = 0;
    char *k = redis_key(a, key, path, path_len, user_id);
    if (k == NULL)
        return MM_IDEM_UNAVAILABLE;
    const char *held;
    size_t len;
    switch (mm_store_idem_claim(s, a, k, RUNNING, MM_IDEM_RUNNING_MS, &held, &len)) {
    case MM_STORE_OK: return MM_IDEM_PROCEED;
    case MM_STORE_EXISTS: break;
    default: return MM_IDEM_UNAVAILABLE;
    }
    if (len == sizeof(RUNNING) - 1 && memcmp(held, RUNNING, len) == 0)
        return MM_IDEM_RUNNING;
    /* "STATUS BODY" */
    const char *sp = memchr(held, ' ', len);
    if (sp == NULL || sp - held != 3 || sscanf(held, "%3d", status) != 1 || *status < 100 ||
        *status > 599)
        return MM_IDEM_UNAVAILABLE;
    *body = sp + 1;
    *body_len = len - 4;
    return MM_IDEM_REPLAY;
}

void mm_idem_finish(mm_store *s, mm_arena *a, const char *key, const char *path, size_t path_len,
                    const char *user_id, int status, const char *body, size_t body_len)
{
    char *k = redis_key(a, key, path, path_len, user_id);
    if (k == NULL)
        return;
    bool keep = status >= 200 && status < 500 && status != 429;
    char *value = NULL;
    if (keep) {
        value = mm_arena_alloc(a, body_len + 5);
        if (value == NULL)
            return;
        snprintf(value, 5, "%03d ", status);
        if (body_len > 0)
            memcpy(value + 4, body, body_len);
    }
    mm_store_result r =
        mm_store_idem_keep(s, a, k, value, value != NULL ? body_len + 4 : 0, MM_IDEM_KEEP_MS);
    if (r != MM_STORE_OK)
        mm_log_error("msg=\"idempotent answer not kept: a retry will run again\" status=%d "
                     "result=%s",
                     status, mm_store_result_name(r));
}
