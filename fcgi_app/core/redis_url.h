/* Redis connection URLs: redis://[[user]:password@]host[:port][/db] and
 * unix:///path/to/sock[?db=N]. The user and password may be percent-encoded
 * (a password holding '@' or ':' is written %40, %3A); with a user, the
 * connection authenticates as that ACL user (AUTH user password). An IPv6
 * host is written in brackets, redis://[::1]:6379. rediss:// (TLS) is refused
 * with a clear reason: this build speaks plain Redis only. Pure parsing, no
 * I/O. */
#ifndef MM_REDIS_URL_H
#define MM_REDIS_URL_H

#include <stddef.h>

#include "mm.h"

#define MM_REDIS_HOST_MAX 255
#define MM_REDIS_PATH_MAX 107 /* sun_path */
#define MM_REDIS_PASSWORD_MAX 512
#define MM_REDIS_USER_MAX 256

typedef struct {
    int is_unix;
    char host[MM_REDIS_HOST_MAX + 1];         /* TCP only */
    int port;                                 /* TCP only, default 6379 */
    char path[MM_REDIS_PATH_MAX + 1];         /* unix only */
    char user[MM_REDIS_USER_MAX + 1];         /* empty: the default user */
    char password[MM_REDIS_PASSWORD_MAX + 1]; /* empty: no AUTH */
    int db;                                   /* 0..(1<<20) */
} mm_redis_url;

/* MM_OK, or MM_ERR_INVALID with a reason in err. */
mm_status mm_redis_url_parse(const char *url, mm_redis_url *out, char *err, size_t errlen);

#endif
