/* Redis Sentinel, the parts that do no I/O: the configured sentinels ("host:port" entries)
 * and master name, the two replies discovery reads (SENTINEL get-master-addr-by-name and
 * ROLE), and the order in which the sentinels are asked. rconn.c does the asking; this
 * module only reads what was answered, so it is tested on recorded replies. Nothing here
 * allocates: addresses are fixed-size values the caller owns. */
#ifndef MM_SENTINEL_H
#define MM_SENTINEL_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "mm.h"
#include "redis_url.h"

#define MM_SENTINELS_MAX 16     /* entries of a sentinel list */
#define MM_SENTINEL_NAME_MAX 64 /* bytes of a master name, [A-Za-z0-9_.-] */
/* "[" host "]:" port, NUL: the longest address mm_redis_addr_format writes */
#define MM_REDIS_ADDR_TEXT_MAX (MM_REDIS_HOST_MAX + 9)

typedef struct {
    char host[MM_REDIS_HOST_MAX + 1]; /* a name, an IPv4 or an IPv6 address (no brackets) */
    int port;                         /* 1..65535 */
} mm_redis_addr;

/* Where the primary is found: ask these sentinels for master_name. n == 0: no sentinels,
 * the Redis URL's own address is used. */
typedef struct {
    mm_redis_addr addrs[MM_SENTINELS_MAX];
    size_t n;
    char master_name[MM_SENTINEL_NAME_MAX + 1];
} mm_sentinel_set;

/* "host:port" or "[ipv6]:port", the port required. MM_OK, or MM_ERR_INVALID with a reason
 * in err. */
mm_status mm_redis_addr_parse(const char *s, size_t len, mm_redis_addr *out, char *err,
                              size_t errlen);

/* a as "host:port" ("[ipv6]:port") into out (cap bytes with the NUL; cut short if it does
 * not fit, which MM_REDIS_ADDR_TEXT_MAX always does). */
void mm_redis_addr_format(const mm_redis_addr *a, char *out, size_t cap);

/* Whether s[0..len) is a master name: 1..MM_SENTINEL_NAME_MAX of [A-Za-z0-9_.-]. */
bool mm_sentinel_name_valid(const char *s, size_t len);

/* The primary's address from the reply to SENTINEL get-master-addr-by-name: MM_OK with
 * *out; MM_ERR_UNAVAILABLE with a reason in *why when the sentinel does not know the name
 * (a nil reply), answered an error, or answered something else. */
mm_status mm_sentinel_master_reply(const redisReply *r, mm_redis_addr *out, const char **why);

typedef enum {
    MM_ROLE_UNKNOWN, /* not a ROLE reply this module understands */
    MM_ROLE_MASTER,
    MM_ROLE_REPLICA,
    MM_ROLE_SENTINEL
} mm_redis_role;

/* The role a server states in its reply to ROLE. */
mm_redis_role mm_sentinel_role_reply(const redisReply *r);
const char *mm_redis_role_name(mm_redis_role role);

/* The order of asking. A round asks the sentinels one after another, starting with the
 * one that last answered with a primary that proved to be one (clients are told to
 * prefer it: its view was current), then the ones after it in the configured order. A
 * round that found none starts the next round after the last sentinel it asked, so a
 * sentinel that hangs until the time runs out stands first in no more than one round. */
typedef struct {
    size_t n;     /* sentinels configured */
    size_t first; /* where the next round starts */
} mm_sentinel_cursor;

/* The index of the sentinel to ask at step k (0..n-1) of a round that started at first. */
size_t mm_sentinel_pick(const mm_sentinel_cursor *cur, size_t first, size_t k);
/* The round that started at first has ended after asking `asked` sentinels: found is the
 * index of the one whose answer gave the primary, or n when none did. */
void mm_sentinel_round_done(mm_sentinel_cursor *cur, size_t first, size_t asked, size_t found);

#endif
