#include "rconn.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"

struct mm_rconn {
    mm_redis_url url;
    struct timeval timeout;
    redisContext *ctx;
    unsigned long generation;
    int down_logged; /* an outage is logged once, and its end once */
    unsigned long errors;
};

mm_rconn *mm_rconn_new(const mm_redis_url *url, long timeout_ms)
{
    /* hiredis writes with write(2): a server that went away would otherwise
     * kill the process with SIGPIPE instead of failing the command. */
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    mm_rconn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->url = *url;
    c->timeout.tv_sec = timeout_ms / 1000;
    c->timeout.tv_usec = (timeout_ms % 1000) * 1000;
    return c;
}

void mm_rconn_drop(mm_rconn *c)
{
    if (c->ctx != NULL) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
}

void mm_rconn_free(mm_rconn *c)
{
    if (c == NULL)
        return;
    mm_rconn_drop(c);
    free(c);
}

static const char *where(const mm_rconn *c)
{
    return c->url.is_unix ? c->url.path : c->url.host;
}

static void note_down(mm_rconn *c, const char *why)
{
    c->errors++;
    if (!c->down_logged)
        mm_log_error("msg=\"redis unavailable\" at=%s err=\"%s\"", where(c), why);
    c->down_logged = 1;
}

/* AUTH and SELECT on a fresh connection. */
static int handshake(mm_rconn *c)
{
    redisReply *r;
    if (c->url.password[0] != '\0') {
        r = redisCommand(c->ctx, "AUTH %s", c->url.password);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            note_down(c, r ? r->str : c->ctx->errstr);
            if (r)
                freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    if (c->url.db != 0) {
        r = redisCommand(c->ctx, "SELECT %d", c->url.db);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            note_down(c, r ? r->str : c->ctx->errstr);
            if (r)
                freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}

redisContext *mm_rconn_get(mm_rconn *c)
{
    if (c->ctx != NULL)
        return c->ctx;
    redisContext *ctx = c->url.is_unix
                            ? redisConnectUnixWithTimeout(c->url.path, c->timeout)
                            : redisConnectWithTimeout(c->url.host, c->url.port, c->timeout);
    if (ctx == NULL) {
        note_down(c, "out of memory");
        return NULL;
    }
    if (ctx->err) {
        note_down(c, ctx->errstr);
        redisFree(ctx);
        return NULL;
    }
    if (redisSetTimeout(ctx, c->timeout) != REDIS_OK) {
        note_down(c, "cannot set timeout");
        redisFree(ctx);
        return NULL;
    }
    if (!c->url.is_unix)
        redisEnableKeepAlive(ctx);
    c->ctx = ctx;
    if (handshake(c) != 0) {
        mm_rconn_drop(c);
        return NULL;
    }
    c->generation++;
    if (c->down_logged)
        mm_log_info("msg=\"redis reachable again\" at=%s", where(c));
    c->down_logged = 0;
    return c->ctx;
}

/* A connection that sat idle while Redis restarted fails on its first use
 * with EOF or a reset: the server never read that command, so it is safe to
 * reconnect and send it once more. A timeout is not retried (the command may
 * have run). */
static int stale(const redisContext *ctx)
{
    return ctx->err == REDIS_ERR_EOF ||
           (ctx->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE));
}

/* After a command: a NULL reply means the connection is unusable. */
static void broken(mm_rconn *c)
{
    note_down(c, c->ctx->errstr[0] ? c->ctx->errstr : "connection lost");
    mm_rconn_drop(c);
}

redisReply *mm_rconn_command(mm_rconn *c, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        unsigned long gen = c->generation;
        if (mm_rconn_get(c) == NULL)
            return NULL;
        int fresh = gen != c->generation;
        va_list ap;
        va_start(ap, fmt);
        void *r = redisvCommand(c->ctx, fmt, ap);
        va_end(ap);
        if (r != NULL)
            return r;
        int retry = !fresh && stale(c->ctx);
        broken(c);
        if (!retry)
            break;
    }
    return NULL;
}

redisReply *mm_rconn_command_argv(mm_rconn *c, int argc, const char **argv, const size_t *lens)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        unsigned long gen = c->generation;
        if (mm_rconn_get(c) == NULL)
            return NULL;
        int fresh = gen != c->generation;
        void *r = redisCommandArgv(c->ctx, argc, argv, lens);
        if (r != NULL)
            return r;
        int retry = !fresh && stale(c->ctx);
        broken(c);
        if (!retry)
            break;
    }
    return NULL;
}

mm_status mm_rconn_ping(mm_rconn *c)
{
    redisReply *r = mm_rconn_command(c, "PING");
    if (r == NULL)
        return MM_ERR_UNAVAILABLE;
    mm_status st =
        (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0) ? MM_OK : MM_ERR_UNAVAILABLE;
    freeReplyObject(r);
    return st;
}

unsigned long mm_rconn_generation(const mm_rconn *c)
{
    return c->generation;
}

unsigned long mm_rconn_errors(const mm_rconn *c)
{
    return c->errors;
}
