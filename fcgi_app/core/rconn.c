#include "rconn.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "clock.h"
#include "log.h"

#define PEER_MAX (MM_REDIS_ADDR_TEXT_MAX + MM_REDIS_PATH_MAX + 8)
/* After a discovery found no primary, calls fail at once for this long (or the timeout,
 * if shorter) instead of asking again: while a failover is under way every request of
 * every process would otherwise send the sentinels a question, and they are busy. It
 * adds at most this much to the time a failover costs the clients. */
#define DISCOVERY_HOLD_MS 100

struct mm_rconn {
    mm_redis_url url;
    mm_sentinel_set sentinels;  /* n == 0: the URL's address */
    mm_sentinel_cursor cursor;  /* which sentinel a discovery asks first */
    redisContext *sentinel_ctx; /* kept open to the sentinel asked last ... */
    size_t sentinel_at;         /* ... this one */
    struct timeval timeout;
    long timeout_ms;
    redisContext *ctx;
    char peer[PEER_MAX];    /* where ctx is connected; "" without ctx */
    char primary[PEER_MAX]; /* the last primary the sentinels gave, for the log */
    int64_t hold_until_us;  /* no discovery before then (monotonic us) */
    unsigned long generation;
    int down_logged; /* an outage is logged once, and its end once */
    unsigned long errors;
};

mm_status mm_redis_target_make(const char *url, const mm_sentinel_set *sentinels,
                               mm_redis_target *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (mm_redis_url_parse(url, &out->url, err, errlen) != MM_OK)
        return MM_ERR_INVALID;
    if (sentinels != NULL && sentinels->n > 0) {
        if (sentinels->n > MM_SENTINELS_MAX ||
            !mm_sentinel_name_valid(sentinels->master_name, strlen(sentinels->master_name))) {
            snprintf(err, errlen, "sentinels: 1..%d entries and a master name", MM_SENTINELS_MAX);
            return MM_ERR_INVALID;
        }
        out->sentinels = *sentinels;
    }
    return MM_OK;
}

mm_rconn *mm_rconn_new_target(const mm_redis_target *t, long timeout_ms)
{
    /* hiredis writes with write(2): a server that went away would otherwise
     * kill the process with SIGPIPE instead of failing the command. */
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    mm_rconn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->url = t->url;
    c->sentinels = t->sentinels;
    c->cursor.n = c->sentinels.n;
    c->timeout_ms = timeout_ms;
    c->timeout.tv_sec = timeout_ms / 1000;
    c->timeout.tv_usec = (timeout_ms % 1000) * 1000;
    return c;
}

mm_rconn *mm_rconn_new(const mm_redis_url *url, long timeout_ms)
{
    mm_redis_target t;
    memset(&t, 0, sizeof(t));
    t.url = *url;
    return mm_rconn_new_target(&t, timeout_ms);
}

void mm_rconn_drop(mm_rconn *c)
{
    if (c->ctx != NULL) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    c->peer[0] = '\0';
}

static void drop_sentinel(mm_rconn *c)
{
    if (c->sentinel_ctx != NULL) {
        redisFree(c->sentinel_ctx);
        c->sentinel_ctx = NULL;
    }
}

void mm_rconn_free(mm_rconn *c)
{
    if (c == NULL)
        return;
    mm_rconn_drop(c);
    drop_sentinel(c);
    free(c);
}

const char *mm_rconn_peer(const mm_rconn *c)
{
    return c->peer;
}

/* What the log calls this connection: the master name, or the URL's address. */
static const char *where(const mm_rconn *c)
{
    if (c->sentinels.n > 0)
        return c->sentinels.master_name;
    return c->url.is_unix ? c->url.path : c->url.host;
}

static void note_down(mm_rconn *c, const char *why)
{
    c->errors++;
    if (!c->down_logged)
        mm_log_error("msg=\"redis unavailable\" at=%s err=\"%s\"", where(c), why);
    c->down_logged = 1;
}

/* ---- connecting ----------------------------------------------------------------------
 * Every step of a connect (a sentinel's answer, the primary's TCP connect, AUTH, SELECT,
 * ROLE) gets what is left of one budget of timeout_ms, so connecting never takes longer
 * than the timeout, however many sentinels there are to ask. */

static struct timeval left(int64_t deadline_us)
{
    int64_t us = deadline_us - mm_clock_us();
    if (us < 1000)
        us = 1000; /* the step still gets a millisecond; the caller checks the budget */
    struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
    return tv;
}

/* A TCP (or, for a plain unix URL, unix) connection with the time left; NULL with the
 * reason in why. */
static redisContext *open_ctx(const mm_rconn *c, const char *host, int port, int64_t deadline_us,
                              char *why, size_t whylen)
{
    struct timeval tv = left(deadline_us);
    redisContext *ctx = host == NULL ? redisConnectUnixWithTimeout(c->url.path, tv)
                                     : redisConnectWithTimeout(host, port, tv);
    if (ctx == NULL) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    if (ctx->err) {
        snprintf(why, whylen, "%s", ctx->errstr);
        redisFree(ctx);
        return NULL;
    }
    if (redisSetTimeout(ctx, tv) != REDIS_OK) {
        snprintf(why, whylen, "cannot set timeout");
        redisFree(ctx);
        return NULL;
    }
    if (host != NULL)
        redisEnableKeepAlive(ctx);
    return ctx;
}

/* The reply to a handshake command, freed: 0 when it succeeded, else -1 (why set). */
static int handshake_reply(redisContext *ctx, redisReply *r, char *why, size_t whylen)
{
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        snprintf(why, whylen, "%s", r ? r->str : ctx->errstr);
        if (r)
            freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

/* AUTH and SELECT on a fresh connection. */
static int handshake(const mm_rconn *c, redisContext *ctx, char *why, size_t whylen)
{
    if (c->url.password[0] != '\0') {
        redisReply *r = c->url.user[0] != '\0'
                            ? redisCommand(ctx, "AUTH %s %s", c->url.user, c->url.password)
                            : redisCommand(ctx, "AUTH %s", c->url.password);
        if (handshake_reply(ctx, r, why, whylen) != 0)
            return -1;
    }
    if (c->url.db != 0 &&
        handshake_reply(ctx, redisCommand(ctx, "SELECT %d", c->url.db), why, whylen) != 0)
        return -1;
    return 0;
}

/* Between commands nothing is due from the server: a readable socket means it
 * closed the connection (or reset it). One non-blocking peek, before commands
 * that are never sent twice, and before a kept sentinel connection is used. */
static int closed_by_peer(const redisContext *ctx)
{
    char b;
    ssize_t n = recv(ctx->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Sentinel i's answer: where the primary is. The connection to it is kept for the next
 * discovery (one a process makes after every failover or outage, and on every request
 * while the primary cannot be reached: a connection each time would leave a TIME_WAIT
 * socket behind each time). */
static mm_status ask_sentinel(mm_rconn *c, size_t i, int64_t deadline_us, mm_redis_addr *primary,
                              char *why, size_t whylen)
{
    const mm_redis_addr *s = &c->sentinels.addrs[i];
    char at[MM_REDIS_ADDR_TEXT_MAX];
    mm_redis_addr_format(s, at, sizeof(at));
    if (c->sentinel_ctx != NULL && (c->sentinel_at != i || closed_by_peer(c->sentinel_ctx)))
        drop_sentinel(c);
    if (c->sentinel_ctx == NULL) {
        char e[128];
        c->sentinel_ctx = open_ctx(c, s->host, s->port, deadline_us, e, sizeof(e));
        if (c->sentinel_ctx == NULL) {
            snprintf(why, whylen, "sentinel %s: %s", at, e);
            return MM_ERR_UNAVAILABLE;
        }
        c->sentinel_at = i;
    } else {
        struct timeval tv = left(deadline_us);
        redisSetTimeout(c->sentinel_ctx, tv);
    }
    redisReply *r = redisCommand(c->sentinel_ctx, "SENTINEL get-master-addr-by-name %s",
                                 c->sentinels.master_name);
    if (r == NULL) {
        int timed_out = c->sentinel_ctx->err == REDIS_ERR_IO && errno == EAGAIN;
        snprintf(why, whylen, "sentinel %s: %s", at,
                 timed_out                         ? "no answer in time"
                 : c->sentinel_ctx->errstr[0] != 0 ? c->sentinel_ctx->errstr
                                                   : "connection lost");
        drop_sentinel(c);
        return MM_ERR_UNAVAILABLE;
    }
    const char *bad = NULL;
    mm_status st = mm_sentinel_master_reply(r, primary, &bad);
    if (st != MM_OK)
        snprintf(why, whylen, "sentinel %s: %s%s%.100s", at, bad,
                 r->type == REDIS_REPLY_ERROR ? ": " : "",
                 r->type == REDIS_REPLY_ERROR ? r->str : "");
    freeReplyObject(r);
    return st;
}

/* A connection to primary, with AUTH and SELECT, if ROLE there says master. */
static redisContext *open_primary(const mm_rconn *c, const mm_redis_addr *primary,
                                  int64_t deadline_us, char *why, size_t whylen)
{
    char at[MM_REDIS_ADDR_TEXT_MAX], e[160];
    mm_redis_addr_format(primary, at, sizeof(at));
    redisContext *ctx = open_ctx(c, primary->host, primary->port, deadline_us, e, sizeof(e));
    if (ctx == NULL || handshake(c, ctx, e, sizeof(e)) != 0) {
        snprintf(why, whylen, "primary %s: %s", at, e);
        if (ctx != NULL)
            redisFree(ctx);
        return NULL;
    }
    redisReply *r = redisCommand(ctx, "ROLE");
    mm_redis_role role = mm_sentinel_role_reply(r);
    if (r == NULL)
        snprintf(why, whylen, "primary %s: %s", at, ctx->errstr);
    else if (role != MM_ROLE_MASTER)
        snprintf(why, whylen, "%s is not the primary: ROLE says %s", at,
                 r->type == REDIS_REPLY_ERROR ? r->str : mm_redis_role_name(role));
    if (r != NULL)
        freeReplyObject(r);
    if (role != MM_ROLE_MASTER) {
        redisFree(ctx);
        return NULL;
    }
    return ctx;
}

/* One round of discovery (sentinel.h says in which order): the first primary a sentinel
 * names that ROLE confirms. A sentinel that still names the old primary during a
 * failover, or one that names a replica, is passed over for the next. */
static redisContext *discover(mm_rconn *c, int64_t deadline_us, char *why, size_t whylen)
{
    size_t first = c->cursor.first, found = c->sentinels.n, asked = 0;
    redisContext *ctx = NULL;
    snprintf(why, whylen, "no time left to ask the sentinels");
    for (size_t k = 0; k < c->sentinels.n && mm_clock_us() < deadline_us; k++) {
        size_t i = mm_sentinel_pick(&c->cursor, first, k);
        asked++;
        mm_redis_addr primary;
        if (ask_sentinel(c, i, deadline_us, &primary, why, whylen) != MM_OK)
            continue;
        ctx = open_primary(c, &primary, deadline_us, why, whylen);
        if (ctx == NULL)
            continue;
        found = i;
        mm_redis_addr_format(&primary, c->peer, sizeof(c->peer));
        if (strcmp(c->peer, c->primary) != 0) {
            char via[MM_REDIS_ADDR_TEXT_MAX];
            mm_redis_addr_format(&c->sentinels.addrs[i], via, sizeof(via));
            mm_log_info("msg=\"redis primary found\" name=%s at=%s before=%s sentinel=%s",
                        c->sentinels.master_name, c->peer, c->primary[0] ? c->primary : "none",
                        via);
            snprintf(c->primary, sizeof(c->primary), "%s", c->peer);
        }
        break;
    }
    mm_sentinel_round_done(&c->cursor, first, asked, found);
    return ctx;
}

/* The URL's own server. */
static redisContext *open_url(mm_rconn *c, int64_t deadline_us, char *why, size_t whylen)
{
    redisContext *ctx = c->url.is_unix
                            ? open_ctx(c, NULL, 0, deadline_us, why, whylen)
                            : open_ctx(c, c->url.host, c->url.port, deadline_us, why, whylen);
    if (ctx != NULL && handshake(c, ctx, why, whylen) != 0) {
        redisFree(ctx);
        return NULL;
    }
    if (ctx != NULL) {
        if (c->url.is_unix)
            snprintf(c->peer, sizeof(c->peer), "unix:%s", c->url.path);
        else
            snprintf(c->peer, sizeof(c->peer), strchr(c->url.host, ':') ? "[%s]:%d" : "%s:%d",
                     c->url.host, c->url.port);
    }
    return ctx;
}

redisContext *mm_rconn_get(mm_rconn *c)
{
    if (c->ctx != NULL)
        return c->ctx;
    char why[512];
    int64_t now = mm_clock_us(), deadline = now + (int64_t)c->timeout_ms * 1000;
    if (c->sentinels.n > 0 && now < c->hold_until_us) {
        note_down(c, "no primary found a moment ago");
        return NULL;
    }
    redisContext *ctx = c->sentinels.n > 0 ? discover(c, deadline, why, sizeof(why))
                                           : open_url(c, deadline, why, sizeof(why));
    if (ctx == NULL) {
        long hold = c->timeout_ms < DISCOVERY_HOLD_MS ? c->timeout_ms : DISCOVERY_HOLD_MS;
        c->hold_until_us = mm_clock_us() + (int64_t)hold * 1000;
        c->peer[0] = '\0';
        note_down(c, why);
        return NULL;
    }
    /* connected within the budget; each command now gets the whole timeout */
    if (redisSetTimeout(ctx, c->timeout) != REDIS_OK) {
        c->peer[0] = '\0';
        redisFree(ctx);
        note_down(c, "cannot set timeout");
        return NULL;
    }
    c->ctx = ctx;
    c->generation++;
    if (c->down_logged)
        mm_log_info("msg=\"redis reachable again\" at=%s peer=%s", where(c), c->peer);
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

/* After a command: a NULL reply means the connection is unusable. */
static void broken(mm_rconn *c)
{
    note_down(c, c->ctx->errstr[0] ? c->ctx->errstr : "connection lost");
    mm_rconn_drop(c);
}

/* A refusal that says the server is not the primary: READONLY from a replica (a primary
 * a failover demoted, or a URL that names a replica), MASTERDOWN from a replica cut off
 * from its primary. The server refused the command before running it, so it may be sent
 * once more, repeatable or not, after the connection is dropped: the next connect finds
 * the primary again. */
static int not_primary(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR &&
           (strncmp(r->str, "READONLY", 8) == 0 || strncmp(r->str, "MASTERDOWN", 10) == 0);
}

static void demoted(mm_rconn *c, const redisReply *r)
{
    char why[512];
    snprintf(why, sizeof(why), "%.300s is not the primary: %.120s", c->peer, r->str);
    note_down(c, why);
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
        redisReply *r = redisvCommand(c->ctx, fmt, ap);
        va_end(ap);
        if (r != NULL && not_primary(r)) {
            demoted(c, r);
            freeReplyObject(r);
            continue;
        }
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
        redisReply *r = redisCommandArgv(c->ctx, argc, argv, lens);
        if (a != NULL) {
            /* A reply cut short (timeout, lost connection) is partly in the arena: the
             * reader must not hand it to the default free when the connection is closed. */
            rd->reply = NULL;
            rd->fn = fn;
            rd->privdata = NULL;
        }
        if (r != NULL && not_primary(r)) {
            demoted(c, r);
            if (a == NULL)
                freeReplyObject(r);
            continue;
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
