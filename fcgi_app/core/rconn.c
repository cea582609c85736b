#include "rconn.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "log.h"

struct mm_rconn {
    mm_redis_url url;
    struct timeval timeout;
    long timeout_ms;
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
    c->timeout_ms = timeout_ms;
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

/* The reply to a handshake command, freed: 0 when it succeeded, else -1 (noted). */
static int handshake_reply(mm_rconn *c, redisReply *r)
{
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        note_down(c, r ? r->str : c->ctx->errstr);
        if (r)
            freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

/* AUTH and SELECT on a fresh connection. */
static int handshake(mm_rconn *c)
{
    if (c->url.password[0] != '\0') {
        redisReply *r = c->url.user[0] != '\0'
                            ? redisCommand(c->ctx, "AUTH %s %s", c->url.user, c->url.password)
                            : redisCommand(c->ctx, "AUTH %s", c->url.password);
        if (handshake_reply(c, r) != 0)
            return -1;
    }
    if (c->url.db != 0 && handshake_reply(c, redisCommand(c->ctx, "SELECT %d", c->url.db)) != 0)
        return -1;
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
 * with EOF or a reset: the server never read that command, so a repeatable
 * one is sent once more on a new connection. A timeout is never retried. */
static int stale(const redisContext *ctx)
{
    return ctx->err == REDIS_ERR_EOF ||
           (ctx->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE));
}

/* Between commands nothing is due from the server: a readable socket means it
 * closed the connection (or reset it). One non-blocking peek, before commands
 * that are never sent twice. */
static int closed_by_peer(const redisContext *ctx)
{
    char b;
    ssize_t n = recv(ctx->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* After a command: a NULL reply means the connection is unusable. */
static void broken(mm_rconn *c)
{
    note_down(c, c->ctx->errstr[0] ? c->ctx->errstr : "connection lost");
    mm_rconn_drop(c);
}

/* Connects if needed; for a command sent once, first replaces a connection
 * the server has closed. *fresh says whether the connection is new. */
static redisContext *ready(mm_rconn *c, mm_rconn_repeat repeat, int *fresh)
{
    if (c->ctx != NULL && repeat == MM_RCONN_ONCE && closed_by_peer(c->ctx))
        mm_rconn_drop(c);
    unsigned long gen = c->generation;
    redisContext *ctx = mm_rconn_get(c);
    *fresh = gen != c->generation;
    return ctx;
}

redisReply *mm_rconn_command(mm_rconn *c, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int fresh;
        if (ready(c, MM_RCONN_REPEATABLE, &fresh) == NULL)
            return NULL;
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

/* ---- replies built in an arena -------------------------------------------------------
 * hiredis builds replies through a table of functions; these build them in the caller's
 * arena (task->privdata), so a reply of N elements costs no malloc/free pairs and goes
 * with the arena. Error and status replies come through create_string as well. */
#if defined(HIREDIS_MAJOR) && HIREDIS_MAJOR >= 1
typedef size_t reply_count;
#else
typedef int reply_count;
#endif

static redisReply *arena_reply(const redisReadTask *task, int type)
{
    redisReply *r = mm_arena_calloc(task->privdata, 1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->type = type;
    if (task->parent != NULL) {
        redisReply *parent = task->parent->obj;
        parent->element[task->idx] = r;
    }
    return r;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
    char *copy = mm_arena_strndup(task->privdata, str, len); /* NUL-terminated, as hiredis's */
    redisReply *r = copy != NULL ? arena_reply(task, task->type) : NULL;
    if (r == NULL)
        return NULL;
    r->str = copy;
    r->len = len;
    return r;
}

static void *create_array(const redisReadTask *task, reply_count elements)
{
    redisReply **el = NULL;
    if (elements > 0) {
        el = mm_arena_calloc(task->privdata, (size_t)elements, sizeof(redisReply *));
        if (el == NULL)
            return NULL;
    }
    redisReply *r = arena_reply(task, REDIS_REPLY_ARRAY);
    if (r == NULL)
        return NULL;
    r->element = el;
    r->elements = (size_t)elements;
    return r;
}

static void *create_integer(const redisReadTask *task, long long value)
{
    redisReply *r = arena_reply(task, REDIS_REPLY_INTEGER);
    if (r != NULL)
        r->integer = value;
    return r;
}

static void *create_nil(const redisReadTask *task)
{
    return arena_reply(task, REDIS_REPLY_NIL);
}

static void free_nothing(void *reply)
{
    (void)reply; /* the arena owns it */
}

static redisReplyObjectFunctions arena_functions = {
    .createString = create_string,
    .createArray = create_array,
    .createInteger = create_integer,
    .createNil = create_nil,
    .freeObject = free_nothing,
};

/* One command; with a, its reply is built in a. */
static redisReply *command_argv(mm_rconn *c, mm_arena *a, mm_rconn_repeat repeat, int argc,
                                const char **argv, const size_t *lens)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int fresh;
        if (ready(c, repeat, &fresh) == NULL)
            return NULL;
        redisReader *rd = c->ctx->reader;
        redisReplyObjectFunctions *fn = rd->fn;
        if (a != NULL) {
            rd->fn = &arena_functions;
            rd->privdata = a;
        }
        void *r = redisCommandArgv(c->ctx, argc, argv, lens);
        if (a != NULL) {
            /* A reply cut short (timeout, lost connection) is partly in the arena: the
             * reader must not hand it to the default free when the connection is closed. */
            rd->reply = NULL;
            rd->fn = fn;
            rd->privdata = NULL;
        }
        if (r != NULL)
            return r;
        if (a != NULL && c->ctx->err == REDIS_ERR_OOM) {
            /* the arena is full, not Redis down: say so, and start clean */
            mm_log_error("msg=\"redis reply larger than the request may hold\" at=%s "
                         "arena_used=%zu",
                         where(c), mm_arena_used(a));
            c->errors++;
            mm_rconn_drop(c);
            return NULL;
        }
        int retry = repeat == MM_RCONN_REPEATABLE && !fresh && stale(c->ctx);
        broken(c);
        if (!retry)
            break;
    }
    return NULL;
}

redisReply *mm_rconn_command_argv_in(mm_rconn *c, mm_arena *a, mm_rconn_repeat repeat, int argc,
                                     const char **argv, const size_t *lens)
{
    return a != NULL ? command_argv(c, a, repeat, argc, argv, lens) : NULL;
}

redisReply *mm_rconn_command_argv(mm_rconn *c, mm_rconn_repeat repeat, int argc, const char **argv,
                                  const size_t *lens)
{
    return command_argv(c, NULL, repeat, argc, argv, lens);
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

long mm_rconn_timeout_ms(const mm_rconn *c)
{
    return c->timeout_ms;
}

unsigned long mm_rconn_errors(const mm_rconn *c)
{
    return c->errors;
}
