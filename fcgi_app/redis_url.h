/* Redis connection URLs: redis://[:password@]host[:port][/db] and
 * unix:///path/to/sock[?db=N]. Pure parsing, no I/O. */
#ifndef MM_REDIS_URL_H
#define MM_REDIS_URL_H

#include <stddef.h>

#include "mm.h"

#define MM_REDIS_HOST_MAX 255
#define MM_REDIS_PATH_MAX 107 /* sun_path */
#define MM_REDIS_PASSWORD_MAX 512

typedef struct {
    int is_unix;
    char host[MM_REDIS_HOST_MAX + 1];         /* TCP only */
    int port;                                 /* TCP only, default 6379 */
    char path[MM_REDIS_PATH_MAX + 1];         /* unix only */
    char password[MM_REDIS_PASSWORD_MAX + 1]; /* empty: no AUTH */
    int db;                                   /* 0..(1<<20) */
} mm_redis_url;

/* MM_OK, or MM_ERR_INVALID with a reason in err. */
mm_status mm_redis_url_parse(const char *url, mm_redis_url *out, char *err, size_t errlen);

#endif
