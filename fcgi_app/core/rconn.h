/* One persistent Redis connection per process. It connects lazily, applies
 * the configured timeout to connect and to every command, sends AUTH/SELECT,
 * and drops itself after an I/O error so the next call reconnects: a request
 * during an outage fails fast, the first one after Redis is back succeeds.
 * With sentinels (SPEC 14), connecting means finding the primary first: the
 * sentinels are asked in turn (sentinel.h) and the address they give is used
 * only once ROLE there says "master"; a READONLY reply (the server was demoted)
 * drops the connection like an I/O error, so the primary is found again. After
 * a discovery that found none, calls fail at once for 100 ms before the
 * sentinels are asked again.
 * Replies returned by mm_rconn_command and mm_rconn_command_argv belong to the caller
 * (freeReplyObject); those of mm_rconn_command_argv_in to the arena passed in.
 * Creating one sets SIGPIPE to be ignored if it had its default action. */
#ifndef MM_RCONN_H
#define MM_RCONN_H

#include <hiredis/hiredis.h>

#include "arena.h"
#include "mm.h"
#include "redis_url.h"
#include "sentinel.h"

typedef struct mm_rconn mm_rconn;

/* What a connection goes to: the URL's address, or the primary the sentinels name. The
 * URL's user, password and database apply either way; with sentinels its host and port
 * (or socket path) are not used. */
typedef struct {
    mm_redis_url url;
    mm_sentinel_set sentinels; /* n == 0: none */
} mm_redis_target;

/* Parses url and pairs it with sentinels (NULL: none). MM_OK, or MM_ERR_INVALID with a
 * reason in err. */
mm_status mm_redis_target_make(const char *url, const mm_sentinel_set *sentinels,
                               mm_redis_target *out, char *err, size_t errlen);

/* A connection to t; NULL when out of memory. Connecting (finding the primary included)
 * takes at most timeout_ms, and so does each command. */
mm_rconn *mm_rconn_new_target(const mm_redis_target *t, long timeout_ms);
/* A connection to url's address (a target without sentinels). */
mm_rconn *mm_rconn_new(const mm_redis_url *url, long timeout_ms);
void mm_rconn_free(mm_rconn *c);

/* The connected context, connecting first if needed; NULL when Redis cannot
 * be reached (logged once per outage, not once per call). */
redisContext *mm_rconn_get(mm_rconn *c);

/* Whether a command may be sent a second time when the connection turns out
 * to be broken after it was sent: a command that changes data may have run
 * before the connection died, so it is sent once. Before a MM_RCONN_ONCE
 * command, a connection the server has closed meanwhile (an idle connection
 * across a Redis restart) is noticed and replaced, so such a command does not
 * fail for that. */
typedef enum {
    MM_RCONN_REPEATABLE, /* reads, PING, XACK: running twice does no harm */
    MM_RCONN_ONCE        /* scripts that write, XREADGROUP, XAUTOCLAIM */
} mm_rconn_repeat;

/* Runs one repeatable command. NULL when Redis is unreachable or the
 * connection broke (then it is closed, to be reopened by the next call). An
 * error reply (REDIS_REPLY_ERROR) is returned as a reply. */
redisReply *mm_rconn_command(mm_rconn *c, const char *fmt, ...);
redisReply *mm_rconn_command_argv(mm_rconn *c, mm_rconn_repeat repeat, int argc, const char **argv,
                                  const size_t *lens);
/* As mm_rconn_command_argv, but the reply is built in a and lives exactly as long as its
 * allocations: never freeReplyObject it. A reply larger than the arena can hold fails like
 * a broken connection (NULL, logged). */
redisReply *mm_rconn_command_argv_in(mm_rconn *c, mm_arena *a, mm_rconn_repeat repeat, int argc,
                                     const char **argv, const size_t *lens);

/* PING; MM_OK when Redis answered PONG. */
mm_status mm_rconn_ping(mm_rconn *c);

/* The timeout the connection was made with, ms. */
long mm_rconn_timeout_ms(const mm_rconn *c);

/* Failed connects and commands so far (for metrics). */
unsigned long mm_rconn_errors(const mm_rconn *c);

/* Closes the connection; the next call reconnects. */
void mm_rconn_drop(mm_rconn *c);

/* The server the connection is open to: "host:port", "[ipv6]:port" or "unix:/path"; ""
 * while it is not connected. Owned by c, valid until its next call. */
const char *mm_rconn_peer(const mm_rconn *c);

#endif
