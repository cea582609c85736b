/* Store operations: each builds the keys of SPEC section 5, runs its script
 * with EVALSHA (EVAL once when the server does not know it yet: a restarted
 * or flushed Redis), and maps the script's status to mm_store_result. */
#include "store.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_scripts.h"

#define KEY_MAX (MM_ID_MAX + 32)

typedef struct {
    char *source;
    char sha[SHA_DIGEST_LENGTH * 2 + 1];
} script;

struct mm_store {
    mm_rconn *conn;
    script scripts[MM_LUA_COUNT];
    mm_user_limits limits;
    long min_replicas_ack; /* SPEC 14: WAIT for this many replicas after each write step */
    mm_store_observer observer;
    void *observer_ctx;
    /* The reply of the last write step that too few replicas acknowledged (in the step's
     * arena), or NULL: the step took effect on the primary though it answers unavailable. */
    const redisReply *unacked;
};

static const char *const set_prefix[MM_SET_COUNT] = {
    "__pending_games:", "__lobby_games:", "__active_games:", "__private_games:"};

static const struct {
    const char *name;
    mm_store_result result;
} statuses[] = {
    {"OK", MM_STORE_OK},
    {"NOT_FOUND", MM_STORE_NOT_FOUND},
    {"EXISTS", MM_STORE_EXISTS},
    {"WRONG_STATE", MM_STORE_WRONG_STATE},
    {"ALREADY_JOINED", MM_STORE_ALREADY_JOINED},
    {"FULL", MM_STORE_FULL},
    {"NOT_PLAYER", MM_STORE_NOT_PLAYER},
    {"CHANGED", MM_STORE_CHANGED},
    {"CORRUPT", MM_STORE_CORRUPT},
    {"STALE", MM_STORE_STALE},
    {"LIMIT_GAMES", MM_STORE_LIMIT_GAMES},
    {"LIMIT_SEATS", MM_STORE_LIMIT_SEATS},
    {"RATE", MM_STORE_RATE},
    {"CODE_TAKEN", MM_STORE_CODE_TAKEN},
    {"STARTED", MM_STORE_STARTED},
    {"NONE", MM_STORE_NONE},
};

const char *mm_store_result_name(mm_store_result r)
{
    for (size_t i = 0; i < MM_ARRAY_LEN(statuses); i++)
        if (statuses[i].result == r)
            return statuses[i].name;
    if (r == MM_STORE_NO_MEMORY)
        return "NO_MEMORY";
    return r == MM_STORE_UNAVAILABLE ? "UNAVAILABLE" : "ERROR";
}

mm_store *mm_store_new(mm_rconn *conn)
{
    mm_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->conn = conn;
    size_t plen = strlen(mm_lua_prelude);
    for (int i = 0; i < MM_LUA_COUNT; i++) {
        size_t blen = strlen(mm_lua_bodies[i]);
        script *sc = &s->scripts[i];
        sc->source = malloc(plen + blen + 1);
        if (sc->source == NULL) {
            mm_store_free(s);
            return NULL;
        }
        memcpy(sc->source, mm_lua_prelude, plen);
        memcpy(sc->source + plen, mm_lua_bodies[i], blen + 1);
        unsigned char digest[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)sc->source, plen + blen, digest);
        for (int j = 0; j < SHA_DIGEST_LENGTH; j++)
            snprintf(sc->sha + (size_t)2 * j, 3, "%02x", digest[j]);
    }
    return s;
}

void mm_store_set_limits(mm_store *s, const mm_user_limits *limits)
{
    s->limits = *limits;
}

void mm_store_set_min_replicas_ack(mm_store *s, long n)
{
    s->min_replicas_ack = n > 0 ? n : 0;
}

/* SPEC 14: a write step is answered only once min_replicas_ack replicas have it, so a game
 * or seat answered 200 survives the loss of the primary. WAIT is given half the Redis
 * timeout, so its answer comes before the connection gives up. */
static bool replicated(mm_store *s, mm_arena *a, mm_lua_script which)
{
    if (s->min_replicas_ack <= 0)
        return true;
    char n[24], ms[24];
    snprintf(n, sizeof(n), "%ld", s->min_replicas_ack);
    long t = mm_rconn_timeout_ms(s->conn) / 2;
    snprintf(ms, sizeof(ms), "%ld", t > 0 ? t : 1);
    const char *argv[] = {"WAIT", n, ms};
    redisReply *r = mm_rconn_command_argv_in(s->conn, a, MM_RCONN_REPEATABLE, 3, argv, NULL);
    long long acked = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (acked >= s->min_replicas_ack)
        return true;
    mm_log_error("msg=\"write not acknowledged by enough replicas\" script=%d acked=%lld "
                 "wanted=%ld",
                 (int)which, acked, s->min_replicas_ack);
    return false;
}

void mm_store_set_observer(mm_store *s, mm_store_observer fn, void *ctx)
{
    s->observer = fn;
    s->observer_ctx = ctx;
}

void mm_store_free(mm_store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < MM_LUA_COUNT; i++)
        free(s->scripts[i].source);
    free(s);
}

int64_t mm_store_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void free_reply(void *r)
{
    freeReplyObject(r);
}

/* The deadline a write script is given (Unix ms): the caller stops waiting
 * for the answer redis_timeout_ms after sending, so the script must not write
 * after that; a quarter of the timeout (at most 100 ms) is kept as a margin
 * for the answer's way back and for clocks a little apart (the hosts' clocks
 * are assumed synchronised, as NTP keeps them). */
static void deadline_arg(const mm_store *s, char out[24])
{
    long t = mm_rconn_timeout_ms(s->conn);
    long margin = t / 4 < 100 ? t / 4 : 100;
    snprintf(out, 24, "%lld", (long long)(mm_store_now_us() / 1000 + t - margin));
}

/* Runs script with keys and args (arg_lens: their lengths, NULL when they
 * are C strings); the reply is built in the arena. A write
 * script (every one but the fetch) gets its deadline as the first argument
 * and is sent once: if the connection breaks after sending, it may have run.
 * NULL when Redis is unreachable or answered an error (logged). */
static redisReply *run(mm_store *s, mm_arena *a, mm_lua_script which, int nkeys,
                       const char *const *keys, int nargs, const char *const *args,
                       const size_t *arg_lens, mm_store_result *fail)
{
    enum { MAX_ARGV = 32 };
    const char *argv[MAX_ARGV];
    size_t lens[MAX_ARGV];
    char numkeys[8], deadline[24];
    int argc = 0;
    bool write = which != MM_LUA_FETCH;
    s->unacked = NULL;
    if (3 + nkeys + nargs + (write ? 1 : 0) > MAX_ARGV) {
        *fail = MM_STORE_ERROR;
        return NULL;
    }
    snprintf(numkeys, sizeof(numkeys), "%d", nkeys);
    argv[argc++] = "EVALSHA";
    argv[argc++] = s->scripts[which].sha;
    argv[argc++] = numkeys;
    for (int i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    if (write) {
        deadline_arg(s, deadline);
        argv[argc++] = deadline;
    }
    int first_arg = argc;
    for (int i = 0; i < nargs; i++)
        argv[argc++] = args[i];
    for (int i = 0; i < argc; i++) /* a document may hold a NUL: its length is given */
        lens[i] = i >= first_arg && arg_lens != NULL ? arg_lens[i - first_arg] : strlen(argv[i]);
    mm_rconn_repeat repeat = write ? MM_RCONN_ONCE : MM_RCONN_REPEATABLE;
    redisReply *r = mm_rconn_command_argv_in(s->conn, a, repeat, argc, argv, lens);
    if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        argv[0] = "EVAL";
        argv[1] = s->scripts[which].source;
        lens[0] = 4;
        lens[1] = strlen(argv[1]);
        r = mm_rconn_command_argv_in(s->conn, a, repeat, argc, argv, lens);
    }
    if (r == NULL) {
        *fail = MM_STORE_UNAVAILABLE;
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "OOM command not allowed") != NULL) {
        /* Redis at maxmemory with noeviction refuses a script at its first write that
         * needs memory, so nothing was written: out of room for now (SPEC 11: 503) */
        mm_log_warn("msg=\"store write refused: Redis is at maxmemory\" script=%d", (int)which);
        *fail = MM_STORE_NO_MEMORY;
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        mm_log_error("msg=\"store script failed\" script=%d err=\"%.200s\"", (int)which, r->str);
        *fail = MM_STORE_ERROR;
        return NULL;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        mm_log_error("msg=\"store script answered a non-array\" script=%d", (int)which);
        *fail = MM_STORE_ERROR;
        return NULL;
    }
    if (write && !replicated(s, a, which)) {
        s->unacked = r;
        *fail = MM_STORE_UNAVAILABLE;
        return NULL;
    }
    return r;
}

static int is_bulk(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING;
}

/* The status a write script answered first; logs a document the script could not use. */
static mm_store_result status_of(const redisReply *r, const char *game_id)
{
    if (r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING)
        return MM_STORE_ERROR;
    if (strcmp(r->element[0]->str, "LATE") == 0) {
        mm_log_warn("msg=\"store write refused: it reached Redis after its deadline\" "
                    "game_id=%s",
                    game_id);
        return MM_STORE_UNAVAILABLE;
    }
    mm_store_result res = MM_STORE_ERROR;
    for (size_t i = 0; i < MM_ARRAY_LEN(statuses); i++)
        if (strcmp(r->element[0]->str, statuses[i].name) == 0)
            res = statuses[i].result;
    if (res == MM_STORE_CORRUPT)
        mm_log_warn("msg=\"stored game does not parse\" game_id=%s", game_id);
    return res;
}

/* A step whose answer is its status, and for some an integer after it: run in a scratch
 * arena (no document comes back). *value (when not NULL) gets that integer when the status
 * is `when`; what names the entry in a log line of status_of. */
static mm_store_result run_small(mm_store *s, mm_lua_script which, int nkeys,
                                 const char *const *keys, int nargs, const char *const *args,
                                 const char *what, mm_store_result when, long long *value)
{
    mm_arena *a = mm_arena_new(1024);
    if (a == NULL)
        return MM_STORE_ERROR;
    mm_store_result fail;
    redisReply *r = run(s, a, which, nkeys, keys, nargs, args, NULL, &fail);
    mm_store_result res = r ? status_of(r, what) : fail;
    if (value != NULL && r != NULL && res == when && r->elements >= 2 &&
        r->element[1]->type == REDIS_REPLY_INTEGER)
        *value = r->element[1]->integer;
    mm_arena_free(a);
    s->unacked = NULL; /* it was in a */
    return res;
}

/* Decodes the document doc[0..len) (a reply string, in a) into out; an OK that left a
 * document C cannot decode becomes MM_STORE_CORRUPT. */
static mm_store_result decode_into(mm_arena *a, mm_store_result res, const char *doc, size_t len,
                                   const char *game_id, mm_stored *out)
{
    out->doc = doc;
    out->doc_len = len;
    if (mm_game_decode(a, doc, len, &out->game) != MM_OK) {
        mm_log_warn("msg=\"stored game does not parse\" game_id=%s", game_id);
        if (res == MM_STORE_OK)
            res = MM_STORE_CORRUPT;
    }
    return res;
}

/* Tells the observer what a step that succeeded did to the listed lobby: the reply's
 * third element, when it names an effect. */
static void notify(mm_store *s, const char *product_id, const char *game_id, const redisReply *r)
{
    if (s->observer == NULL || r->elements < 3 || !is_bulk(r->element[2]) ||
        r->element[2]->len == 0)
        return;
    mm_lobby_effect effect;
    if (strcmp(r->element[2]->str, "listed") == 0)
        effect = MM_LOBBY_LISTED;
    else if (strcmp(r->element[2]->str, "updated") == 0)
        effect = MM_LOBBY_UPDATED;
    else if (strcmp(r->element[2]->str, "unlisted") == 0)
        effect = MM_LOBBY_UNLISTED;
    else
        return;
    const char *doc = is_bulk(r->element[1]) ? r->element[1]->str : NULL;
    size_t len = doc != NULL ? r->element[1]->len : 0;
    s->observer(s->observer_ctx, product_id, game_id, effect, doc, len);
}

/* Turns a write script's reply {status, document?, effect?, extra?} into a result and the
 * decoded document, and tells the observer the step's lobby effect. */
static mm_store_result finish(mm_store *s, mm_arena *a, const redisReply *r, const char *product_id,
                              const char *game_id, mm_stored *out, const char **extra)
{
    mm_store_result res = status_of(r, game_id);
    if (res == MM_STORE_ERROR)
        return res;
    if (res == MM_STORE_OK || res == MM_STORE_NOT_FOUND)
        notify(s, product_id, game_id, r);
    if (out != NULL && r->elements >= 2 && is_bulk(r->element[1]))
        res = decode_into(a, res, r->element[1]->str, r->element[1]->len, game_id, out);
    if (extra != NULL && r->elements >= 4 && is_bulk(r->element[3]))
        *extra = r->element[3]->str;
    return res;
}

/* The keys of a write script (redis/lua/prelude.lua). */
enum { NKEYS = 9 };
typedef struct {
    char games[KEY_MAX], sets[MM_SET_COUNT][KEY_MAX], wlock[KEY_MAX], events[KEY_MAX],
        cleanup[KEY_MAX], codes[KEY_MAX];
    const char *list[NKEYS];
} game_keys;

static int make_keys(game_keys *k, const char *product_id, const char *game_id)
{
    if (strlen(product_id) > MM_ID_MAX || strlen(game_id) > MM_ID_MAX)
        return -1;
    snprintf(k->games, KEY_MAX, "__games:%s", product_id);
    for (int i = 0; i < MM_SET_COUNT; i++)
        snprintf(k->sets[i], KEY_MAX, "%s%s", set_prefix[i], product_id);
    snprintf(k->wlock, KEY_MAX, "wlock:%s", game_id);
    snprintf(k->events, KEY_MAX, "__game_events:%s", product_id);
    snprintf(k->cleanup, KEY_MAX, "__cleanup:%s", product_id);
    snprintf(k->codes, KEY_MAX, "__join_codes:%s", product_id);
    k->list[0] = k->games;
    k->list[1] = k->sets[MM_SET_PENDING];
    k->list[2] = k->sets[MM_SET_LOBBY];
    k->list[3] = k->sets[MM_SET_ACTIVE];
    k->list[4] = k->wlock;
    k->list[5] = k->events;
    k->list[6] = k->cleanup;
    k->list[7] = k->sets[MM_SET_PRIVATE];
    k->list[8] = k->codes;
    return 0;
}

/* A limit as a script argument. */
static void limit_arg(long v, char out[24])
{
    snprintf(out, 24, "%ld", v > 0 ? v : 0);
}

/* The clock arguments every write takes: _last_updated text and score. */
typedef struct {
    char when[MM_GAME_TIME_LEN];
    char score[24];
} stamp;

static void stamp_now(stamp *t)
{
    int64_t us = mm_store_now_us();
    mm_game_format_time(us, t->when);
    snprintf(t->score, sizeof(t->score), "%lld", (long long)(us / 1000));
}

static void clear(mm_stored *out)
{
    if (out != NULL)
        memset(out, 0, sizeof(*out));
}

/* Whether the last write step took effect on the primary (answered OK) though too few
 * replicas acknowledged it. */
static bool unacked_ok(const mm_store *s, const char *game_id)
{
    return s->unacked != NULL && status_of(s->unacked, game_id) == MM_STORE_OK;
}

/* SPEC 10 and 14: a client answered 503 holds no game and no seat because of that request.
 * A create or a seat that the primary took and too few replicas acknowledged is taken back
 * (on the primary, whose step again waits for the replicas: if the primary is lost, the
 * replica never had either). */
static void take_back_game(mm_store *s, const char *product_id, const char *game_id)
{
    /* delete=UNAVAILABLE: deleted on the primary and not acknowledged either, or not
     * reached (then curation expires the game, which no one was answered) */
    mm_store_result r = mm_store_delete(s, product_id, game_id);
    mm_log_warn("msg=\"game not acknowledged by enough replicas; taken back\" game_id=%s "
                "delete=%s",
                game_id, mm_store_result_name(r));
}

static void take_back_seat(mm_store *s, mm_arena *a, const char *product_id, const char *game_id,
                           const char *user_id)
{
    notify(s, product_id, game_id, s->unacked); /* the lobby saw the seat taken */
    mm_stored after;
    mm_store_result r = mm_store_undo_seat(s, a, product_id, game_id, user_id, &after);
    if (r == MM_STORE_UNAVAILABLE && unacked_ok(s, game_id)) {
        notify(s, product_id, game_id, s->unacked); /* and given back */
        r = MM_STORE_OK;
    }
    mm_log_warn("msg=\"seat not acknowledged by enough replicas; given back\" game_id=%s "
                "user_id=%s result=%s",
                game_id, user_id, mm_store_result_name(r));
}

mm_store_result mm_store_create(mm_store *s, mm_arena *a, const mm_game *g)
{
    game_keys k;
    if (make_keys(&k, g->product_id, g->game_id) != 0)
        return MM_STORE_ERROR;
    size_t len;
    char *doc = mm_game_encode(a, g, MM_GAME_FULL, NULL, &len);
    if (doc == NULL)
        return MM_STORE_ERROR;
    char score[24], games[24], seats[24];
    snprintf(score, sizeof(score), "%lld", (long long)(g->last_updated_us / 1000));
    limit_arg(s->limits.max_open_games, games);
    limit_arg(s->limits.max_seats, seats);
    const char *args[] = {g->game_id,    doc,   score, g->product_id,
                          g->creator_id, games, seats, g->join_code != NULL ? g->join_code : ""};
    mm_store_result fail;
    redisReply *r = run(s, a, MM_LUA_CREATE, NKEYS, k.list, 8, args, NULL, &fail);
    if (r == NULL && unacked_ok(s, g->game_id))
        take_back_game(s, g->product_id, g->game_id);
    return r ? finish(s, a, r, g->product_id, g->game_id, NULL, NULL) : fail;
}

mm_store_result mm_store_admit(mm_store *s, const char *product_id, const char *user_id,
                               bool count_call, long *retry_ms)
{
    *retry_ms = 0;
    if (s->limits.max_open_games <= 0 && s->limits.max_seats <= 0 &&
        (!count_call || s->limits.requests_per_minute <= 0))
        return MM_STORE_OK; /* nothing to check: no round trip */
    char games_key[KEY_MAX], rate[24], games[24], seats[24];
    if (strlen(product_id) > MM_ID_MAX)
        return MM_STORE_ERROR;
    snprintf(games_key, sizeof(games_key), "__games:%s", product_id);
    limit_arg(s->limits.requests_per_minute, rate);
    limit_arg(s->limits.max_open_games, games);
    limit_arg(s->limits.max_seats, seats);
    const char *keys[] = {games_key};
    const char *args[] = {user_id, rate, games, seats, count_call ? "1" : "0"};
    long long retry = 0;
    mm_store_result res = run_small(s, MM_LUA_ADMIT, 1, keys, 5, args, "-", MM_STORE_RATE, &retry);
    *retry_ms = (long)retry;
    return res;
}

static const char *event_of(const mm_store_via *via)
{
    return via != NULL && via->event_id != NULL ? via->event_id : "";
}

static const char *job_of(const mm_store_via *via)
{
    return via != NULL && via->cleanup_job != NULL ? via->cleanup_job : "";
}

mm_store_result mm_store_advance(mm_store *s, mm_arena *a, const char *product_id,
                                 const char *game_id, mm_game_state to, const mm_store_via *via,
                                 mm_stored *out)
{
    clear(out);
    game_keys k;
    const char *to_name = mm_game_state_name(to);
    if (to_name == NULL || make_keys(&k, product_id, game_id) != 0)
        return MM_STORE_ERROR;
    stamp t;
    stamp_now(&t);
    const char *args[] = {game_id, to_name, t.when, t.score, product_id, event_of(via)};
    mm_store_result fail;
    redisReply *r = run(s, a, MM_LUA_ADVANCE, NKEYS, k.list, 6, args, NULL, &fail);
    return r ? finish(s, a, r, product_id, game_id, out, NULL) : fail;
}

static bool is_int(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_INTEGER;
}

/* A seat taken (reserve and quick): {'OK', document, effect, URL, seated, capacity, ...},
 * or the game as found, or how long a user over the call rate must wait. */
static mm_store_result seat_taken(mm_store *s, const redisReply *r, const char *product_id,
                                  const char *game_id, mm_seat *out)
{
    mm_store_result res = status_of(r, game_id);
    if (res == MM_STORE_ERROR)
        return res;
    if (res == MM_STORE_RATE) {
        if (r->elements >= 2 && is_int(r->element[1]))
            out->retry_ms = (long)r->element[1]->integer;
        return res;
    }
    if (r->elements >= 2 && is_bulk(r->element[1])) {
        out->doc = r->element[1]->str;
        out->doc_len = r->element[1]->len;
    }
    if (res != MM_STORE_OK)
        return res;
    /* The script checked the URL is a string; a NUL inside one is not a URL. */
    if (out->doc == NULL || r->elements < 6 || !is_bulk(r->element[3]) ||
        memchr(r->element[3]->str, '\0', r->element[3]->len) != NULL || !is_int(r->element[4]) ||
        !is_int(r->element[5])) {
        mm_log_warn("msg=\"seat taken in a game without a usable game server URL\" "
                    "game_id=%s",
                    game_id);
        return MM_STORE_CORRUPT;
    }
    notify(s, product_id, game_id, r);
    out->game_server_url = r->element[3]->str;
    out->nplayers = (long)r->element[4]->integer;
    out->num_players = (long)r->element[5]->integer;
    return MM_STORE_OK;
}

mm_store_result mm_store_take_seat(mm_store *s, mm_arena *a, const char *product_id,
                                   const char *game_id, const char *user_id, const char *code,
                                   mm_seat *out)
{
    memset(out, 0, sizeof(*out));
    game_keys k;
    if (make_keys(&k, product_id, game_id) != 0)
        return MM_STORE_ERROR;
    stamp t;
    stamp_now(&t);
    char seats[24], rate[24];
    limit_arg(s->limits.max_seats, seats);
    limit_arg(s->limits.requests_per_minute, rate);
    const char *args[] = {game_id,    user_id, t.when, t.score,
                          product_id, seats,   rate,   code != NULL ? code : ""};
    mm_store_result fail;
    redisReply *r = run(s, a, MM_LUA_RESERVE, NKEYS, k.list, 8, args, NULL, &fail);
    if (r == NULL && unacked_ok(s, game_id))
        take_back_seat(s, a, product_id, game_id, user_id);
    return r ? seat_taken(s, r, product_id, game_id, out) : fail;
}

mm_store_result mm_store_quick_seat(mm_store *s, mm_arena *a, const char *product_id,
                                    const char *user_id, const char *filter_index,
                                    const char *pass_over, bool count_call, mm_seat *out,
                                    const char **game_id)
{
    memset(out, 0, sizeof(*out));
    *game_id = NULL;
    game_keys k;
    if (make_keys(&k, product_id, "") != 0)
        return MM_STORE_ERROR;
    stamp t;
    stamp_now(&t);
    char seats[24], rate[24];
    limit_arg(s->limits.max_seats, seats);
    limit_arg(count_call ? s->limits.requests_per_minute : 0, rate);
    const char *args[] = {user_id,
                          t.when,
                          t.score,
                          product_id,
                          seats,
                          rate,
                          filter_index != NULL ? filter_index : "",
                          pass_over != NULL ? pass_over : ""};
    mm_store_result fail;
    redisReply *r = run(s, a, MM_LUA_QUICK, NKEYS, k.list, 8, args, NULL, &fail);
    if (r == NULL && unacked_ok(s, "-") && s->unacked->elements >= 7 &&
        is_bulk(s->unacked->element[6]))
        take_back_seat(s, a, product_id, s->unacked->element[6]->str, user_id);
    if (r == NULL)
        return fail;
    const char *id = r->elements >= 7 && is_bulk(r->element[6]) ? r->element[6]->str : "-";
    mm_store_result res = seat_taken(s, r, product_id, id, out);
    if (res == MM_STORE_OK)
        *game_id = id;
    return res;
}

/* A step on one player of one game (leave, undo): ARGV game_id, user_id, now, score,
 * product_id. */
static redisReply *run_player_step(mm_store *s, mm_arena *a, mm_lua_script which,
                                   const char *product_id, const char *game_id, const char *user_id,
                                   mm_store_result *fail)
{
    game_keys k;
    if (make_keys(&k, product_id, game_id) != 0) {
        *fail = MM_STORE_ERROR;
        return NULL;
    }
    stamp t;
    stamp_now(&t);
    const char *args[] = {game_id, user_id, t.when, t.score, product_id};
    return run(s, a, which, NKEYS, k.list, 5, args, NULL, fail);
}

mm_store_result mm_store_leave(mm_store *s, mm_arena *a, const char *product_id,
                               const char *game_id, const char *user_id, mm_leave *out)
{
    memset(out, 0, sizeof(*out));
    mm_store_result fail;
    redisReply *r = run_player_step(s, a, MM_LUA_LEAVE, product_id, game_id, user_id, &fail);
    if (r == NULL)
        return fail;
    if (r->elements < 1 || !is_bulk(r->element[0]))
        return MM_STORE_ERROR;
    bool deleted = strcmp(r->element[0]->str, "DELETED") == 0;
    bool left = strcmp(r->element[0]->str, "LEFT") == 0;
    if (!deleted && !left)
        return status_of(r, game_id);
    if (r->elements < 4 || !is_bulk(r->element[1]) || !is_bulk(r->element[3]))
        return MM_STORE_ERROR;
    notify(s, product_id, game_id, r);
    out->game_removed = deleted;
    out->doc = r->element[1]->str;
    out->doc_len = r->element[1]->len;
    out->game_server_url = r->element[3]->str;
    return MM_STORE_OK;
}

mm_store_result mm_store_code_game(mm_store *s, mm_arena *a, const char *product_id,
                                   const char *code, const char **game_id)
{
    *game_id = NULL;
    char key[KEY_MAX];
    if (strlen(product_id) > MM_ID_MAX)
        return MM_STORE_ERROR;
    snprintf(key, sizeof(key), "__join_codes:%s", product_id);
    const char *argv[] = {"HGET", key, code};
    redisReply *r = mm_rconn_command_argv_in(s->conn, a, MM_RCONN_REPEATABLE, 3, argv, NULL);
    if (r == NULL)
        return MM_STORE_UNAVAILABLE;
    if (r->type == REDIS_REPLY_NIL)
        return MM_STORE_NOT_FOUND;
    if (r->type != REDIS_REPLY_STRING)
        return MM_STORE_ERROR;
    *game_id = r->str;
    return MM_STORE_OK;
}

mm_store_result mm_store_reserve_seat(mm_store *s, mm_arena *a, const char *product_id,
                                      const char *game_id, const char *user_id, mm_stored *out)
{
    clear(out);
    mm_seat st;
    mm_store_result res = mm_store_take_seat(s, a, product_id, game_id, user_id, NULL, &st);
    if (st.doc != NULL)
        res = decode_into(a, res, st.doc, st.doc_len, game_id, out);
    return res;
}

mm_store_result mm_store_undo_seat(mm_store *s, mm_arena *a, const char *product_id,
                                   const char *game_id, const char *user_id, mm_stored *out)
{
    clear(out);
    mm_store_result fail;
    redisReply *r = run_player_step(s, a, MM_LUA_UNDO, product_id, game_id, user_id, &fail);
    return r ? finish(s, a, r, product_id, game_id, out, NULL) : fail;
}

mm_store_result mm_store_reset(mm_store *s, mm_arena *a, const char *product_id,
                               const char *game_id, const char *user_id, const char *expect_doc,
                               const mm_store_via *via, mm_stored *out, const char **removed)
{
    clear(out);
    if (removed != NULL)
        *removed = NULL;
    game_keys k;
    if (make_keys(&k, product_id, game_id) != 0)
        return MM_STORE_ERROR;
    stamp t;
    stamp_now(&t);
    const char *args[] = {game_id,
                          user_id ? user_id : "",
                          expect_doc ? expect_doc : "",
                          t.when,
                          t.score,
                          product_id,
                          event_of(via),
                          job_of(via)};
    mm_store_result fail;
    redisReply *r = run(s, a, MM_LUA_RESET, NKEYS, k.list, 8, args, NULL, &fail);
    return r ? finish(s, a, r, product_id, game_id, out, removed) : fail;
}

/* Runs the delete script with expect 'any', 'doc' (doc, len) or 'missing'. */
static mm_store_result delete_if(mm_store *s, const char *product_id, const char *game_id,
                                 const char *expect, const char *doc, size_t len,
                                 const mm_store_via *via)
{
    game_keys k;
    if (make_keys(&k, product_id, game_id) != 0)
        return MM_STORE_ERROR;
    mm_arena *a = mm_arena_new(4096);
    if (a == NULL)
        return MM_STORE_ERROR;
    const char *args[] = {game_id, expect, doc, event_of(via), job_of(via)};
    const size_t lens[] = {strlen(game_id), strlen(expect), len, strlen(event_of(via)),
                           strlen(job_of(via))};
    mm_store_result fail;
    redisReply *r = run(s, a, MM_LUA_DELETE, NKEYS, k.list, 5, args, lens, &fail);
    mm_store_result res = r ? finish(s, a, r, product_id, game_id, NULL, NULL) : fail;
    mm_arena_free(a);
    s->unacked = NULL; /* it was in a */
    return res;
}

mm_store_result mm_store_delete(mm_store *s, const char *product_id, const char *game_id)
{
    return delete_if(s, product_id, game_id, "any", "", 0, NULL);
}

mm_store_result mm_store_delete_via(mm_store *s, const char *product_id, const char *game_id,
                                    const char *doc, size_t len, const mm_store_via *via)
{
    if (doc == NULL)
        return delete_if(s, product_id, game_id, "any", "", 0, via);
    return delete_if(s, product_id, game_id, "doc", doc, len, via);
}

mm_store_result mm_store_delete_exact(mm_store *s, const char *product_id, const char *game_id,
                                      const char *doc, size_t len)
{
    return delete_if(s, product_id, game_id, "doc", doc, len, NULL);
}

mm_store_result mm_store_delete_orphan(mm_store *s, const char *product_id, const char *game_id)
{
    return delete_if(s, product_id, game_id, "missing", "", 0, NULL);
}

/* ---- the cleanup queue ---- */

mm_store_result mm_store_cleanup_claim(mm_store *s, mm_arena *a, const char *product_id,
                                       long lease_ms, long max, const char ***jobs, size_t *n)
{
    *jobs = NULL;
    *n = 0;
    char key[KEY_MAX], lease[24], count[24];
    if (strlen(product_id) > MM_ID_MAX)
        return MM_STORE_ERROR;
    snprintf(key, sizeof(key), "__cleanup:%s", product_id);
    snprintf(lease, sizeof(lease), "%ld", lease_ms);
    snprintf(count, sizeof(count), "%ld", max);
    const char *keys[] = {key};
    const char *args[] = {lease, count};
    mm_store_result fail;
    redisReply *r = run(s, a, MM_LUA_CLEANUP_CLAIM, 1, keys, 2, args, NULL, &fail);
    if (r == NULL)
        return fail;
    mm_store_result res = status_of(r, "-");
    if (res != MM_STORE_OK)
        return res;
    if (r->elements < 2 || r->element[1]->type != REDIS_REPLY_ARRAY)
        return MM_STORE_ERROR;
    const redisReply *list = r->element[1];
    const char **out = list->elements ? mm_arena_calloc(a, list->elements, sizeof(*out)) : NULL;
    if (list->elements && out == NULL)
        return MM_STORE_ERROR;
    for (size_t i = 0; i < list->elements; i++)
        if (is_bulk(list->element[i]))
            out[(*n)++] = list->element[i]->str;
    *jobs = out;
    return MM_STORE_OK;
}

mm_store_result mm_store_cleanup_settle(mm_store *s, const char *product_id, const char *job,
                                        const char *next_job, long delay_ms)
{
    char key[KEY_MAX], delay[24];
    if (strlen(product_id) > MM_ID_MAX)
        return MM_STORE_ERROR;
    snprintf(key, sizeof(key), "__cleanup:%s", product_id);
    snprintf(delay, sizeof(delay), "%ld", delay_ms);
    const char *keys[] = {key};
    const char *args[] = {job, next_job != NULL ? next_job : "", delay};
    return run_small(s, MM_LUA_CLEANUP_SETTLE, 1, keys, 3, args, "-", MM_STORE_OK, NULL);
}

/* ---- the event stream (run on a store over the stream's connection) ---- */

mm_store_result mm_store_dead_letter(mm_store *s, const char *stream, const char *dead_letter,
                                     const char *group, const char *entry_id, const char *reason,
                                     long max_len)
{
    char max[24];
    snprintf(max, sizeof(max), "%ld", max_len);
    const char *keys[] = {stream, dead_letter};
    const char *args[] = {group, entry_id, reason, max};
    return run_small(s, MM_LUA_DEAD_LETTER, 2, keys, 4, args, entry_id, MM_STORE_OK, NULL);
}

mm_store_result mm_store_idem_claim(mm_store *s, mm_arena *a, const char *key, const char *marker,
                                    long running_ms, const char **held, size_t *held_len)
{
    *held = NULL;
    *held_len = 0;
    char ms[24];
    snprintf(ms, sizeof(ms), "%ld", running_ms);
    const char *keys[] = {key};
    const char *args[] = {marker, ms};
    mm_store_result fail;
    redisReply *r = run(s, a, MM_LUA_IDEM_CLAIM, 1, keys, 2, args, NULL, &fail);
    if (r == NULL)
        return fail;
    mm_store_result res = status_of(r, key);
    if (res == MM_STORE_EXISTS) {
        if (r->elements < 2 || !is_bulk(r->element[1]))
            return MM_STORE_ERROR;
        *held = r->element[1]->str;
        *held_len = r->element[1]->len;
    }
    return res;
}

mm_store_result mm_store_idem_keep(mm_store *s, mm_arena *a, const char *key, const char *value,
                                   size_t len, long keep_ms)
{
    char ms[24];
    snprintf(ms, sizeof(ms), "%ld", keep_ms);
    const char *keys[] = {key};
    const char *args[] = {value != NULL ? value : "", ms};
    const size_t lens[] = {value != NULL ? len : 0, strlen(ms)};
    mm_store_result fail;
    redisReply *r = run(s, a, MM_LUA_IDEM_KEEP, 1, keys, 2, args, lens, &fail);
    return r ? status_of(r, key) : fail;
}

mm_store_result mm_store_stream_trim(mm_store *s, const char *stream, long max_len,
                                     const char *floor_id, long long *trimmed)
{
    *trimmed = 0;
    char max[24];
    snprintf(max, sizeof(max), "%ld", max_len);
    const char *keys[] = {stream};
    const char *args[] = {max, floor_id != NULL ? floor_id : ""};
    return run_small(s, MM_LUA_STREAM_TRIM, 1, keys, 2, args, "-", MM_STORE_OK, trimmed);
}

mm_store_result mm_store_get(mm_store *s, mm_arena *a, const char *product_id, const char *game_id,
                             mm_stored *out)
{
    clear(out);
    game_keys k;
    if (make_keys(&k, product_id, game_id) != 0)
        return MM_STORE_ERROR;
    redisReply *r = mm_rconn_command(s->conn, "HGET %s %s", k.games, game_id);
    if (r == NULL)
        return MM_STORE_UNAVAILABLE;
    if (mm_arena_on_free(a, free_reply, r) != 0)
        return MM_STORE_ERROR;
    if (r->type == REDIS_REPLY_NIL)
        return MM_STORE_NOT_FOUND;
    if (r->type != REDIS_REPLY_STRING)
        return MM_STORE_ERROR;
    out->doc = r->str;
    out->doc_len = r->len;
    if (mm_game_decode(a, r->str, r->len, &out->game) != MM_OK) {
        mm_log_warn("msg=\"stored game does not parse\" game_id=%s", game_id);
        return MM_STORE_CORRUPT;
    }
    return MM_STORE_OK;
}

/* Runs the fetch script on one set and decodes the id/document pairs (with
 * decode false, only checks that each id has a document). */
static mm_store_result fetch(mm_store *s, mm_arena *a, const char *product_id, mm_game_set set,
                             const char *index, const char *mode, long x, long y, long z,
                             bool keep_missing, bool decode, mm_candidate **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char games[KEY_MAX], setkey[KEY_MAX + MM_FILTER_INDEX_MAX], xs[24], ys[24], zs[24];
    if (strlen(product_id) > MM_ID_MAX || (unsigned)set >= MM_SET_COUNT ||
        strlen(index) > MM_FILTER_INDEX_MAX)
        return MM_STORE_ERROR;
    snprintf(games, sizeof(games), "__games:%s", product_id);
    snprintf(setkey, sizeof(setkey), "%s%s%s", set_prefix[set], product_id, index);
    snprintf(xs, sizeof(xs), "%ld", x);
    snprintf(ys, sizeof(ys), "%ld", y);
    snprintf(zs, sizeof(zs), "%ld", z);
    const char *keys[] = {setkey, games};
    const char *args[] = {mode, xs, ys, zs};
    mm_store_result fail;
    redisReply *r = run(s, a, MM_LUA_FETCH, 2, keys, 4, args, NULL, &fail);
    if (r == NULL)
        return fail;
    size_t pairs = r->elements / 2;
    mm_candidate *c = pairs ? mm_arena_calloc(a, pairs, sizeof(*c)) : NULL;
    if (pairs && c == NULL)
        return MM_STORE_ERROR;
    size_t k = 0;
    for (size_t i = 0; i < pairs; i++) {
        const redisReply *id = r->element[2 * i], *doc = r->element[2 * i + 1];
        if (!is_bulk(id))
            continue;
        c[k].game_id = id->str;
        if (is_bulk(doc)) {
            c[k].raw = doc->str;
            c[k].raw_len = doc->len;
        }
        if (is_bulk(doc) &&
            (!decode || mm_game_decode(a, doc->str, doc->len, &c[k].stored.game) == MM_OK)) {
            c[k].stored.doc = doc->str;
            c[k].stored.doc_len = doc->len;
        } else {
            mm_log_warn("msg=\"game in a set has no usable document\" product=%s game_id=%.*s",
                        product_id, (int)(id->len > 128 ? 128 : id->len), id->str);
            memset(&c[k].stored, 0, sizeof(c[k].stored));
            if (!keep_missing)
                continue;
        }
        k++;
    }
    *out = c;
    *n = k;
    return MM_STORE_OK;
}

mm_store_result mm_store_lobby_page(mm_store *s, mm_arena *a, const char *product_id, long offset,
                                    long count, mm_stored **games, size_t *n)
{
    *games = NULL;
    *n = 0;
    if (offset < 0 || count <= 0)
        return MM_STORE_OK;
    mm_candidate *c;
    size_t k;
    mm_store_result res = fetch(s, a, product_id, MM_SET_LOBBY, "", "rank", offset,
                                offset + count - 1, 0, false, true, &c, &k);
    if (res != MM_STORE_OK || k == 0)
        return res;
    mm_stored *g = mm_arena_calloc(a, k, sizeof(*g));
    if (g == NULL)
        return MM_STORE_ERROR;
    for (size_t i = 0; i < k; i++)
        g[i] = c[i].stored;
    *games = g;
    *n = k;
    return MM_STORE_OK;
}

mm_store_result mm_store_candidates(mm_store *s, mm_arena *a, const char *product_id,
                                    mm_game_set set, int64_t cutoff_ms, long offset, long limit,
                                    mm_candidate **out, size_t *n)
{
    return fetch(s, a, product_id, set, "", "score", (long)cutoff_ms, offset, limit, true, true,
                 out, n);
}

mm_store_result mm_store_lobby_docs(mm_store *s, mm_arena *a, const char *product_id,
                                    const char *filter_index, long offset, long count,
                                    mm_candidate **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (offset < 0 || count <= 0)
        return MM_STORE_OK;
    return fetch(s, a, product_id, MM_SET_LOBBY, filter_index != NULL ? filter_index : "", "rank",
                 offset, offset + count - 1, 0, false, false, out, n);
}
