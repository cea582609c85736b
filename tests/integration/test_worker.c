/* matchmaker-worker against real Redis, real worker processes and the test
 * game server: every event type, bad events, sharing one group, a worker
 * killed mid-stream, the legacy index, curation and a clean SIGTERM. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "curation.h"
#include "itest.h"
#include "store.h"
#include "consumer.h"

#define P "exrps"

static redisContext *games;  /* db 0: game data */
static redisContext *events; /* db 1: the stream */
static mm_rconn *conn;
static mm_store *store;
static mm_arena *arena;
static char fast_config[512];   /* short claim idle and curation interval */
static char broken_config[512]; /* games Redis unreachable */
static pid_t workers[4];
static int nworkers;

/* ---- set-up ---- */

/* Writes the stack's config with some keys replaced. */
static void derive_config(const char *path, const char *redis_url, int short_expiry)
{
    json_object *cfg = json_object_from_file(itest_env("MM_TEST_CONFIG"));
    assert_non_null(cfg);
    json_object_object_add(cfg, "event_claim_idle_ms", json_object_new_int(500));
    json_object_object_add(cfg, "curation_interval_ms", json_object_new_int(100));
    if (redis_url != NULL)
        json_object_object_add(cfg, "redis_url", json_object_new_string(redis_url));
    if (short_expiry) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "created", json_object_new_int(1));
        json_object_object_add(e, "creator_joined", json_object_new_int(1));
        json_object_object_add(cfg, "expiry_seconds", e);
    }
    assert_int_equal(json_object_to_file(path, cfg), 0);
    json_object_put(cfg);
}

static pid_t start_worker(const char *config, const char *log)
{
    char bin[512], logpath[512];
    snprintf(bin, sizeof(bin), "%s/fcgi_app/matchmaker-worker", itest_env("MM_TEST_BUILD_DIR"));
    snprintf(logpath, sizeof(logpath), "%s/%s", itest_env("MM_TEST_RUN_DIR"), log);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(bin, bin, "-c", config, "-l", logpath, (char *)NULL);
        _exit(127);
    }
    workers[nworkers++] = pid;
    return pid;
}

static void stop_worker(pid_t pid, int sig)
{
    kill(pid, sig);
    waitpid(pid, NULL, 0);
    for (int i = 0; i < nworkers; i++)
        if (workers[i] == pid)
            workers[i] = workers[--nworkers];
}

static void stop_all_workers(void)
{
    while (nworkers > 0)
        stop_worker(workers[0], SIGTERM);
}

static int setup(void **state)
{
    games = itest_redis(0);
    events = itest_redis(1);
    store = itest_store_open(&conn);
    arena = mm_arena_new(0);
    /* the stack's own worker uses the default (30 s) claim idle: these tests
     * run workers of their own */
    itest_stop_stack_worker();
    snprintf(fast_config, sizeof(fast_config), "%s/fast.json", itest_env("MM_TEST_RUN_DIR"));
    derive_config(fast_config, NULL, 0);
    snprintf(broken_config, sizeof(broken_config), "%s/broken.json", itest_env("MM_TEST_RUN_DIR"));
    derive_config(broken_config, "unix:///nonexistent/redis.sock", 0);
    usleep(300000);
    return 0;
}

static int teardown(void **state)
{
    stop_all_workers();
    mm_store_free(store);
    mm_rconn_free(conn);
    mm_arena_free(arena);
    redisFree(games);
    redisFree(events);
    return 0;
}

static int fresh(void **state)
{
    stop_all_workers();
    freeReplyObject(redisCommand(games, "FLUSHALL"));
    mm_arena_reset(arena);
    itest_gs_reset();
    return 0;
}

/* ---- helpers ---- */

static const char *players1[] = {"u1"};

static void make_game(const char *id, int num_players)
{
    mm_game g;
    memset(&g, 0, sizeof(g));
    g.game_id = id;
    g.product_id = P;
    g.game_server_url = itest_env("MM_TEST_GS_URL");
    g.creator_id = "u1";
    g.creator_name = "alice";
    g.players = players1;
    g.nplayers = 1;
    g.num_players = num_players;
    g.settings_json = num_players == 3 ? "{\"num_players\":3}" : "{\"num_players\":2}";
    g.token = "t";
    g.last_updated_us = mm_store_now_us();
    g.state = MM_STATE_CREATED;
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
}

/* XADD game_event_stream * product_id P game_id G type T [k v]; returns the id. */
static char *emit(const char *game, const char *type, const char *k, const char *v)
{
    redisReply *r =
        k ? redisCommand(events, "XADD game_event_stream * product_id %s game_id %s type %s %s %s",
                         P, game, type, k, v)
          : redisCommand(events, "XADD game_event_stream * product_id %s game_id %s type %s", P,
                         game, type);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    char *id = mm_arena_strdup(arena, r->str);
    freeReplyObject(r);
    return id;
}

static mm_game_state state_of(const char *id)
{
    mm_stored s;
    mm_arena_reset(arena);
    if (mm_store_get(store, arena, P, id, &s) != MM_STORE_OK)
        return MM_STATE_COUNT;
    return s.game.state;
}

static size_t players_of(const char *id)
{
    mm_stored s;
    if (mm_store_get(store, arena, P, id, &s) != MM_STORE_OK)
        return 0;
    return s.game.nplayers;
}

static long long pending_count(void)
{
    redisReply *r = redisCommand(events, "XPENDING game_event_stream matchmaker");
    long long n = (r->type == REDIS_REPLY_ARRAY && r->elements > 0) ? r->element[0]->integer : -1;
    freeReplyObject(r);
    return n;
}

/* Entries the group has delivered so far (its last-delivered id is the newest). */
static int all_delivered(void)
{
    redisReply *r = redisCommand(events, "XINFO GROUPS game_event_stream");
    int done = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        redisReply *g = r->element[0];
        long long lag = -1, pending = -1;
        for (size_t i = 0; i + 1 < g->elements; i += 2) {
            if (strcmp(g->element[i]->str, "lag") == 0 &&
                g->element[i + 1]->type == REDIS_REPLY_INTEGER)
                lag = g->element[i + 1]->integer;
            if (strcmp(g->element[i]->str, "pending") == 0)
                pending = g->element[i + 1]->integer;
        }
        done = lag == 0 && pending == 0;
    }
    freeReplyObject(r);
    return done;
}

#define WAIT_UNTIL(cond)                                                                           \
    do {                                                                                           \
        int ok_ = 0;                                                                               \
        for (int i_ = 0; i_ < 500 && !ok_; i_++) {                                                 \
            ok_ = (cond);                                                                          \
            if (!ok_)                                                                              \
                usleep(20000);                                                                     \
        }                                                                                          \
        if (!ok_)                                                                                  \
            fail_msg("timed out waiting for: %s", #cond);                                          \
    } while (0)

static int in_set(const char *set, const char *id)
{
    redisReply *r = redisCommand(games, "ZSCORE %s%s %s", set, P, id);
    int in = r->type == REDIS_REPLY_STRING;
    freeReplyObject(r);
    return in;
}

/* One whole curation pass, from the start, with no time limit. */
static mm_status curate_pass(const mm_config *cfg, mm_curation_cursor *cursor, int64_t now_us,
                             mm_curation_stats *st)
{
    bool done;
    cursor->product = 0;
    cursor->set = 0;
    char err[128];
    mm_store_set *stores = mm_store_set_new(cfg, 500, err, sizeof(err));
    assert_non_null(stores);
    mm_status r = mm_curate_step(stores, cfg, cursor, now_us, NULL, 0, st, &done);
    assert_true(r != MM_OK || done);
    mm_store_set_free(stores);
    return r;
}

/* ---- tests ---- */

static void each_event_type_has_its_effect(void **state)
{
    start_worker(fast_config, "w1.log");
    make_game("g1", 2);
    emit("g1", "state_change", "new_state", "creator_joined");
    WAIT_UNTIL(state_of("g1") == MM_STATE_CREATOR_JOINED);
    assert_true(in_set("__lobby_games:", "g1"));
    assert_false(in_set("__pending_games:", "g1"));

    mm_stored s;
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u2", &s), MM_STORE_OK);
    emit("g1", "state_change", "new_state", "all_players_joined");
    WAIT_UNTIL(state_of("g1") == MM_STATE_ALL_PLAYERS_JOINED);
    emit("g1", "state_change", "new_state", "in_progress");
    WAIT_UNTIL(state_of("g1") == MM_STATE_IN_PROGRESS);

    /* the creator leaving is ignored; the guest leaving relists the game */
    emit("g1", "player_disconnect", "player_id", "u1");
    emit("g1", "player_disconnect", "player_id", "u2");
    WAIT_UNTIL(state_of("g1") == MM_STATE_CREATOR_JOINED);
    assert_int_equal(players_of("g1"), 1);
    assert_true(in_set("__lobby_games:", "g1"));
    assert_false(in_set("__active_games:", "g1"));

    emit("g1", "game_removed", NULL, NULL);
    WAIT_UNTIL(state_of("g1") == MM_STATE_COUNT);
    assert_false(in_set("__lobby_games:", "g1"));
    WAIT_UNTIL(all_delivered());
}

static void bad_events_are_acknowledged_and_skipped(void **state)
{
    start_worker(fast_config, "w1.log");
    make_game("g1", 2);
    /* an invalid transition (backwards), a malformed entry, an unknown game, an
     * unknown product, a gameplay event: none of them may stop what follows */
    emit("g1", "state_change", "new_state", "created");
    freeReplyObject(redisCommand(events, "XADD game_event_stream * type state_change"));
    emit("nosuchgame", "state_change", "new_state", "creator_joined");
    freeReplyObject(redisCommand(events, "XADD game_event_stream * product_id zz game_id g1 "
                                         "type game_removed"));
    emit("g1", "gameplay", "move", "rock");
    emit("g1", "state_change", "new_state", "paused");
    emit("g1", "state_change", "new_state", "creator_joined");
    WAIT_UNTIL(state_of("g1") == MM_STATE_CREATOR_JOINED);
    WAIT_UNTIL(all_delivered());
    assert_int_equal(pending_count(), 0);
}

/* Counts "msg=event id=<id>" and "malformed event skipped" lines for an id in a log. */
static int handled_in(const char *log, const char *id)
{
    char path[512], needle[96];
    snprintf(path, sizeof(path), "%s/%s", itest_env("MM_TEST_RUN_DIR"), log);
    snprintf(needle, sizeof(needle), " id=%s ", id);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static void two_workers_share_the_group_exactly_once(void **state)
{
    start_worker(fast_config, "share1.log");
    start_worker(fast_config, "share2.log");
    usleep(300000);
    enum { N = 60 };
    char *ids[2 * N];
    char gid[16];
    for (int i = 0; i < N; i++) {
        snprintf(gid, sizeof(gid), "s%d", i);
        make_game(gid, 2);
    }
    for (size_t i = 0; i < N; i++) {
        snprintf(gid, sizeof(gid), "s%zu", i);
        ids[2 * i] = emit(gid, "state_change", "new_state", "creator_joined");
        ids[2 * i + 1] = emit(gid, "gameplay", "move", "paper");
    }
    WAIT_UNTIL(all_delivered());
    for (int i = 0; i < 2 * N; i++) {
        int n = handled_in("share1.log", ids[i]) + handled_in("share2.log", ids[i]);
        if (n != 1)
            fail_msg("entry %s handled %d times", ids[i], n);
    }
    for (int i = 0; i < N; i++) {
        snprintf(gid, sizeof(gid), "s%d", i);
        assert_int_equal(state_of(gid), MM_STATE_CREATOR_JOINED);
    }
}

static void entries_of_a_killed_worker_are_claimed(void **state)
{
    make_game("k1", 2);
    make_game("k2", 2);
    /* this worker reads the entries but cannot reach the games' Redis: they
     * stay pending under its name; then it dies without a word */
    pid_t broken = start_worker(broken_config, "broken.log");
    emit("k1", "state_change", "new_state", "creator_joined");
    emit("k2", "state_change", "new_state", "creator_joined");
    WAIT_UNTIL(pending_count() == 2);
    stop_worker(broken, SIGKILL);
    assert_int_equal(state_of("k1"), MM_STATE_CREATED);
    start_worker(fast_config, "claimer.log");
    WAIT_UNTIL(state_of("k1") == MM_STATE_CREATOR_JOINED &&
               state_of("k2") == MM_STATE_CREATOR_JOINED);
    WAIT_UNTIL(pending_count() == 0);
}

/* Group progress: entries read so far by the group (XINFO GROUPS entries-read). */
static long long entries_read(void)
{
    redisReply *r = redisCommand(events, "XINFO GROUPS game_event_stream");
    long long n = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        redisReply *g = r->element[0];
        for (size_t i = 0; i + 1 < g->elements; i += 2)
            if (strcmp(g->element[i]->str, "entries-read") == 0 &&
                g->element[i + 1]->type == REDIS_REPLY_INTEGER)
                n = g->element[i + 1]->integer;
    }
    freeReplyObject(r);
    return n;
}

/* A worker that really applies events is killed (SIGKILL) in the middle of
 * its work; a new one (another consumer name, as after a restart) takes
 * over. Every event takes effect once: the entries the dead one had read
 * are claimed, the one it may have applied without acknowledging is applied
 * again with no further effect. Each game gets one state-changing event, as
 * a game server sends the next only after the previous took effect. */
static void worker_killed_mid_batch_loses_nothing(void **state)
{
    enum { GAMES = 300 };
    char gid[16];
    mm_stored s;
    for (int i = 0; i < GAMES; i++) {
        snprintf(gid, sizeof(gid), "m%d", i);
        make_game(gid, 2);
        if (i % 2 == 1) { /* odd: full and active; their guest will leave */
            assert_int_equal(
                mm_store_advance(store, arena, P, gid, MM_STATE_CREATOR_JOINED, NULL, &s),
                MM_STORE_OK);
            assert_int_equal(mm_store_reserve_seat(store, arena, P, gid, "u2", &s), MM_STORE_OK);
        }
    }
    for (int i = 0; i < GAMES; i++) {
        snprintf(gid, sizeof(gid), "m%d", i);
        if (i % 2 == 0)
            emit(gid, "state_change", "new_state", "creator_joined");
        else
            emit(gid, "player_disconnect", "player_id", "u2");
        emit(gid, "gameplay", "move", "rock");
    }
    pid_t victim = start_worker(fast_config, "victim.log");
    /* kill it in the middle of a batch: with entries acknowledged (an earlier batch) and
     * events applied whose entries are not acknowledged yet (a batch is acknowledged at its
     * end). It is stopped (SIGSTOP) before its progress is read, so what is read is what it
     * dies with; a stop that catches it elsewhere lets it go on. Entries come in pairs, a
     * game's state-changing event then its gameplay event, and each applied one puts its
     * game in the lobby: more games listed than acknowledged pairs is an applied event
     * whose entry is not acknowledged. */
    long long read_at_kill = 0, pending_at_kill = 0, listed_at_kill = 0;
    for (int i = 0; i < 100000; i++) {
        if (entries_read() == 0 || pending_count() == 0)
            continue;
        kill(victim, SIGSTOP);
        int st;
        waitpid(victim, &st, WUNTRACED);
        read_at_kill = entries_read();
        pending_at_kill = pending_count();
        redisReply *l = redisCommand(games, "ZCARD __lobby_games:" P);
        listed_at_kill = l->integer;
        freeReplyObject(l);
        long long acked = read_at_kill - pending_at_kill;
        if (pending_at_kill > 0 && acked > 0 && listed_at_kill > (acked + 1) / 2)
            break;
        kill(victim, SIGCONT);
    }
    stop_worker(victim, SIGKILL);
    start_worker(fast_config, "successor.log");
    WAIT_UNTIL(all_delivered());
    print_message("killed after %lld of %d entries were read, %lld of them unacknowledged, "
                  "%lld games listed\n",
                  read_at_kill, 2 * GAMES, pending_at_kill, listed_at_kill);
    assert_true(read_at_kill < 2LL * GAMES); /* it died with work left, */
    assert_true(pending_at_kill > 0);        /* in the middle of a batch, */
    /* with applied events whose entries were not acknowledged */
    assert_true(listed_at_kill > (read_at_kill - pending_at_kill + 1) / 2);
    for (int i = 0; i < GAMES; i++) {
        snprintf(gid, sizeof(gid), "m%d", i);
        mm_arena_reset(arena);
        assert_int_equal(mm_store_get(store, arena, P, gid, &s), MM_STORE_OK);
        if (s.game.state != MM_STATE_CREATOR_JOINED || s.game.nplayers != 1 ||
            !in_set("__lobby_games:", gid) || in_set("__active_games:", gid) ||
            in_set("__pending_games:", gid))
            fail_msg("game %s: state %s, %zu players after the kill", gid,
                     mm_game_state_name(s.game.state), s.game.nplayers);
    }
    assert_int_equal(pending_count(), 0);
}

static void legacy_index_is_where_the_group_starts(void **state)
{
    freeReplyObject(redisCommand(events, "DEL game_event_stream"));
    make_game("l1", 2);
    make_game("l2", 2);
    make_game("l3", 2);
    emit("l1", "state_change", "new_state", "creator_joined");
    char *second = emit("l2", "state_change", "new_state", "creator_joined");
    emit("l3", "state_change", "new_state", "creator_joined");
    /* the original worker had handled up to the second entry */
    freeReplyObject(redisCommand(events, "SET __game_event_stream_index %s", second));
    start_worker(fast_config, "legacy.log");
    WAIT_UNTIL(state_of("l3") == MM_STATE_CREATOR_JOINED);
    usleep(300000);
    assert_int_equal(state_of("l1"), MM_STATE_CREATED);
    assert_int_equal(state_of("l2"), MM_STATE_CREATED);
    freeReplyObject(redisCommand(events, "DEL __game_event_stream_index"));
}

static void group_deleted_under_a_running_worker_is_recreated(void **state)
{
    start_worker(fast_config, "w1.log");
    make_game("d1", 2);
    emit("d1", "state_change", "new_state", "creator_joined");
    WAIT_UNTIL(state_of("d1") == MM_STATE_CREATOR_JOINED);
    freeReplyObject(redisCommand(events, "DEL game_event_stream"));
    usleep(200000);
    make_game("d2", 2);
    emit("d2", "state_change", "new_state", "creator_joined");
    WAIT_UNTIL(state_of("d2") == MM_STATE_CREATOR_JOINED);
}

static void curation_expires_resets_and_keeps(void **state)
{
    char expiring[512];
    snprintf(expiring, sizeof(expiring), "%s/expiring.json", itest_env("MM_TEST_RUN_DIR"));
    derive_config(expiring, NULL, 1);
    mm_stored s;
    make_game("pend", 2); /* created: expires after 1 s */
    make_game("full", 2); /* full, joiner never connects */
    assert_int_equal(mm_store_advance(store, arena, P, "full", MM_STATE_CREATOR_JOINED, NULL, &s),
                     MM_STORE_OK);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "full", "u2", &s), MM_STORE_OK);
    make_game("live", 2); /* in progress: 1200 s to go */
    assert_int_equal(mm_store_advance(store, arena, P, "live", MM_STATE_CREATOR_JOINED, NULL, &s),
                     MM_STORE_OK);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "live", "u3", &s), MM_STORE_OK);
    assert_int_equal(
        mm_store_advance(store, arena, P, "live", MM_STATE_ALL_PLAYERS_JOINED, NULL, &s),
        MM_STORE_OK);
    assert_int_equal(mm_store_advance(store, arena, P, "live", MM_STATE_IN_PROGRESS, NULL, &s),
                     MM_STORE_OK);
    start_worker(expiring, "curation.log");
    WAIT_UNTIL(state_of("pend") == MM_STATE_COUNT);
    WAIT_UNTIL(itest_gs_calls("remove_game", "\"pend\"") == 1);
    WAIT_UNTIL(players_of("full") == 1);
    assert_true(in_set("__lobby_games:", "full"));
    assert_false(in_set("__active_games:", "full"));
    WAIT_UNTIL(itest_gs_calls("remove_player", "\"u2\"") == 1);
    assert_int_equal(state_of("live"), MM_STATE_IN_PROGRESS);
    assert_int_equal(players_of("live"), 2);
    assert_int_equal(itest_gs_calls("remove_game", "\"live\""), 0);
}

/* Cleanup calls queued for the game server (curation queues them with its change; a
 * running worker makes them): how many of op hold needle. */
static int queued(const char *op, const char *needle)
{
    redisReply *r = redisCommand(games, "ZRANGE __cleanup:" P " 0 -1");
    int n = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        n += strstr(r->element[i]->str, op) != NULL && strstr(r->element[i]->str, needle) != NULL;
    freeReplyObject(r);
    return n;
}

static void curation_leaves_a_game_changed_since_read(void **state)
{
    mm_config cfg;
    char err[256];
    assert_int_equal(mm_config_load(fast_config, &cfg, err, sizeof(err)), MM_OK);
    cfg.expiry_seconds[MM_STATE_CREATOR_JOINED] = 1;
    mm_stored s;
    make_game("ch", 3);
    assert_int_equal(mm_store_advance(store, arena, P, "ch", MM_STATE_CREATOR_JOINED, NULL, &s),
                     MM_STORE_OK);
    int64_t later = mm_store_now_us() + (int64_t)5 * 1000000; /* as if read 5 s from now */
    mm_candidate *c;
    size_t n;
    assert_int_equal(
        mm_store_candidates(store, arena, P, MM_SET_LOBBY, later / 1000, 0, 10, &c, &n),
        MM_STORE_OK);
    assert_int_equal(n, 1);
    /* a player joins between the read and the act */
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "ch", "u2", &s), MM_STORE_OK);
    assert_int_equal(mm_curate_one(store, &cfg, arena, P, &c[0], later), MM_CURATE_CHANGED);
    assert_int_equal(players_of("ch"), 2);
    assert_int_equal(queued("remove_game", "\"ch\""), 0);
    /* read again: now it acts */
    assert_int_equal(
        mm_store_candidates(store, arena, P, MM_SET_LOBBY, later / 1000, 0, 10, &c, &n),
        MM_STORE_OK);
    assert_int_equal(mm_curate_one(store, &cfg, arena, P, &c[0], later), MM_CURATE_DELETED);
    assert_int_equal(state_of("ch"), MM_STATE_COUNT);
    mm_config_free(&cfg);
}

/* A document the C decoder refuses is deleted only if it is still the bytes curation read
 * (compare-and-delete), and the product's game server is told to remove the game. A set
 * entry whose document is gone is cleaned only while the document is still gone. */
static void curation_removes_an_undecodable_game_only_if_unchanged(void **state)
{
    mm_config cfg;
    char err[256];
    assert_int_equal(mm_config_load(fast_config, &cfg, err, sizeof(err)), MM_OK);
    freeReplyObject(
        redisCommand(games, "HSET __games:" P " bad {\"game_id\":\"bad\",\"players\":7}"));
    freeReplyObject(redisCommand(games, "ZADD __lobby_games:" P " 1 bad 2 ghost"));
    int64_t now = mm_store_now_us();
    mm_candidate *c;
    size_t n;
    assert_int_equal(mm_store_candidates(store, arena, P, MM_SET_LOBBY, now / 1000, 0, 10, &c, &n),
                     MM_STORE_OK);
    assert_int_equal(n, 2);
    assert_null(c[0].stored.doc); /* not usable ... */
    assert_non_null(c[0].raw);    /* ... but read */
    assert_null(c[1].raw);
    /* both change between the read and the act: still undecodable, and a document appears */
    freeReplyObject(
        redisCommand(games, "HSET __games:" P " bad {\"game_id\":\"bad\",\"players\":8}"));
    freeReplyObject(redisCommand(games, "HSET __games:" P " ghost {}"));
    assert_int_equal(mm_curate_one(store, &cfg, arena, P, &c[0], now), MM_CURATE_CHANGED);
    assert_int_equal(mm_curate_one(store, &cfg, arena, P, &c[1], now), MM_CURATE_CHANGED);
    assert_true(in_set("__lobby_games:", "bad"));
    assert_true(in_set("__lobby_games:", "ghost"));
    assert_int_equal(queued("remove_game", "\"bad\""), 0);
    /* read again: now it acts, and tells the game server */
    freeReplyObject(redisCommand(games, "HDEL __games:" P " ghost"));
    assert_int_equal(mm_store_candidates(store, arena, P, MM_SET_LOBBY, now / 1000, 0, 10, &c, &n),
                     MM_STORE_OK);
    assert_int_equal(mm_curate_one(store, &cfg, arena, P, &c[0], now), MM_CURATE_CLEANED);
    assert_int_equal(mm_curate_one(store, &cfg, arena, P, &c[1], now), MM_CURATE_CLEANED);
    assert_false(in_set("__lobby_games:", "bad"));
    assert_false(in_set("__lobby_games:", "ghost"));
    redisReply *r = redisCommand(games, "HEXISTS __games:" P " bad");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    assert_int_equal(queued("remove_game", "\"bad\""), 1);
    assert_int_equal(queued("remove_game", "\"ghost\""), 0);
    mm_config_free(&cfg);
}

/* More live games than one batch, older than an expired one behind them in
 * the same set: passes move on past the live ones and reach it. */
static void curation_reaches_past_a_batch_of_live_games(void **state)
{
    mm_config cfg;
    char err[256];
    assert_int_equal(mm_config_load(fast_config, &cfg, err, sizeof(err)), MM_OK);
    cfg.curation_batch_size = 2;
    mm_stored s;
    static const char *const ids[] = {"live1", "live2", "live3", "over"};
    for (int i = 0; i < 4; i++) {
        make_game(ids[i], 2);
        assert_int_equal(
            mm_store_advance(store, arena, P, ids[i], MM_STATE_CREATOR_JOINED, NULL, &s),
            MM_STORE_OK);
        assert_int_equal(mm_store_reserve_seat(store, arena, P, ids[i], "u2", &s), MM_STORE_OK);
        assert_int_equal(
            mm_store_advance(store, arena, P, ids[i], MM_STATE_ALL_PLAYERS_JOINED, NULL, &s),
            MM_STORE_OK);
        assert_int_equal(mm_store_advance(store, arena, P, ids[i], MM_STATE_IN_PROGRESS, NULL, &s),
                         MM_STORE_OK);
        if (i == 3)
            assert_int_equal(mm_store_advance(store, arena, P, ids[i], MM_STATE_ENDED, NULL, &s),
                             MM_STORE_OK);
        usleep(2000); /* distinct scores: the live games are the oldest */
    }
    /* 400 s on: "over" (ended, 300 s) has expired, in-progress games (1200 s) have not */
    int64_t later = mm_store_now_us() + 400 * 1000000LL;
    mm_curation_cursor *cursor = calloc(1, sizeof(*cursor));
    mm_curation_stats st = {0};
    assert_int_equal(curate_pass(&cfg, cursor, later, &st), MM_OK);
    assert_int_equal(st.deleted, 0); /* the first page held two live games */
    assert_int_equal(state_of("over"), MM_STATE_ENDED);
    assert_int_equal(curate_pass(&cfg, cursor, later, &st), MM_OK);
    assert_int_equal(st.deleted, 1);
    assert_int_equal(state_of("over"), MM_STATE_COUNT);
    assert_int_equal(queued("remove_game", "\"over\""), 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(state_of(ids[i]), MM_STATE_IN_PROGRESS);
    /* past the end: the short page sends the scan back to the start */
    assert_int_equal(curate_pass(&cfg, cursor, later, &st), MM_OK);
    assert_int_equal(st.deleted, 1);
    assert_int_equal(cursor->offset[0][MM_SET_ACTIVE], 0);
    free(cursor);
    mm_config_free(&cfg);
}

/* A clock that moves on a tick each time it is read. */
static int64_t ticks;
static int64_t tick_clock(void)
{
    return ticks++;
}

/* A step whose time is spent stops between two games, not at the end of a page, and the
 * next step goes on where it stopped: the pass made of one-game steps handles every game
 * exactly as a whole pass does, live games kept, expired ones deleted once. */
static void curation_steps_stop_between_games(void **state)
{
    mm_config cfg;
    char err[256];
    assert_int_equal(mm_config_load(fast_config, &cfg, err, sizeof(err)), MM_OK);
    cfg.curation_batch_size = 4;
    mm_stored s;
    enum { GAMES = 10 };
    char id[16];
    for (int i = 0; i < GAMES; i++) { /* even: ended (expires in 300 s), odd: in progress */
        snprintf(id, sizeof(id), "step%d", i);
        make_game(id, 2);
        assert_int_equal(mm_store_advance(store, arena, P, id, MM_STATE_CREATOR_JOINED, NULL, &s),
                         MM_STORE_OK);
        assert_int_equal(mm_store_reserve_seat(store, arena, P, id, "u2", &s), MM_STORE_OK);
        assert_int_equal(
            mm_store_advance(store, arena, P, id, MM_STATE_ALL_PLAYERS_JOINED, NULL, &s),
            MM_STORE_OK);
        assert_int_equal(mm_store_advance(store, arena, P, id, MM_STATE_IN_PROGRESS, NULL, &s),
                         MM_STORE_OK);
        if (i % 2 == 0)
            assert_int_equal(mm_store_advance(store, arena, P, id, MM_STATE_ENDED, NULL, &s),
                             MM_STORE_OK);
        usleep(2000); /* distinct scores */
    }
    int64_t later = mm_store_now_us() + 400 * 1000000LL;
    mm_curation_cursor *cursor = calloc(1, sizeof(*cursor));
    mm_curation_stats st = {0};
    mm_store_set *stores = mm_store_set_new(&cfg, 500, err, sizeof(err));
    assert_non_null(stores);
    bool done = false;
    int steps = 0;
    while (!done && steps < 500) {
        /* time for the check before the first game and none after it: a step handles one
         * game at most (the first is always handled, so the pass moves on) */
        long seen = st.seen;
        assert_int_equal(
            mm_curate_step(stores, &cfg, cursor, later, tick_clock, ticks + 1, &st, &done), MM_OK);
        assert_true(st.seen - seen <= 1);
        steps++;
    }
    assert_true(done);
    print_message("a pass of one-game steps over %d games took %d steps\n", GAMES, steps);
    assert_true(steps >= GAMES); /* never two games in one step */
    assert_int_equal(st.deleted, GAMES / 2);
    for (int i = 0; i < GAMES; i++) {
        snprintf(id, sizeof(id), "step%d", i);
        assert_int_equal(state_of(id), i % 2 == 0 ? MM_STATE_COUNT : MM_STATE_IN_PROGRESS);
    }
    /* and a whole pass after it finds nothing left to do */
    mm_curation_stats again = {0};
    assert_int_equal(curate_pass(&cfg, cursor, later, &again), MM_OK);
    assert_int_equal(again.deleted, 0);
    mm_store_set_free(stores);
    free(cursor);
    mm_config_free(&cfg);
}

/* ---- issue 15: poison entries, game-server hangs, restarts, an unbounded stream ---- */

/* A config derived from fast_config with integer keys set: key, value, ..., NULL. */
static void config_with(const char *path, ...)
{
    json_object *cfg = json_object_from_file(fast_config);
    assert_non_null(cfg);
    va_list ap;
    va_start(ap, path);
    for (const char *key; (key = va_arg(ap, const char *)) != NULL;)
        json_object_object_add(cfg, key, json_object_new_int64(va_arg(ap, long)));
    va_end(ap);
    assert_int_equal(json_object_to_file(path, cfg), 0);
    json_object_put(cfg);
}

/* A game document the C decoder accepts and the store scripts cannot read (a lone UTF-16
 * surrogate in a settings string: cjson refuses it), in state, in the set it belongs to. */
static void put_poison(const char *id, const char *state, const char *players, long score)
{
    char doc[1024], when[MM_GAME_TIME_LEN];
    /* updated now, or (score 1) long ago */
    mm_game_format_time(score == 1 ? 1577836800LL * 1000000 : mm_store_now_us(), when);
    snprintf(doc, sizeof(doc),
             "{\"game_id\": \"%s\", \"product_id\": \"" P "\", \"game_server_url\": \"%s\", "
             "\"creator_id\": \"u1\", \"creator_name\": \"alice\", \"players\": %s, "
             "\"settings\": {\"num_players\": 2, \"motto\": \"\\ud800\"}, \"token\": \"t\", "
             "\"_last_updated\": \"%s\", \"state\": \"%s\"}",
             id, itest_env("MM_TEST_GS_URL"), players, when, state);
    freeReplyObject(redisCommand(games, "HSET __games:" P " %s %s", id, doc));
    const char *set = strcmp(state, "created") == 0          ? "__pending_games:"
                      : strcmp(state, "creator_joined") == 0 ? "__lobby_games:"
                                                             : "__active_games:";
    freeReplyObject(redisCommand(games, "ZADD %s" P " %ld %s", set, score, id));
}

static long long stream_len(const char *key)
{
    redisReply *r = redisCommand(events, "XLEN %s", key);
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

/* SPEC 10: an entry that cannot be applied is retried, then dead-lettered with its fields,
 * its reason and its id, and acknowledged; events of other games go on meanwhile, and so
 * does curation. */
static void poison_entry_is_dead_lettered_and_holds_up_nothing(void **state)
{
    char expiring[512];
    snprintf(expiring, sizeof(expiring), "%s/expiring.json", itest_env("MM_TEST_RUN_DIR"));
    derive_config(expiring, NULL, 1);
    put_poison("poison", "in_progress", "[\"u1\", \"u2\"]", mm_store_now_us() / 1000);
    make_game("good", 2);
    start_worker(expiring, "poison.log");
    usleep(300000);
    char bad[64];
    snprintf(bad, sizeof(bad), "%s", emit("poison", "state_change", "new_state", "ended"));
    double t0 = itest_now_s();
    emit("good", "state_change", "new_state", "creator_joined");
    WAIT_UNTIL(state_of("good") == MM_STATE_CREATOR_JOINED);
    double took = itest_now_s() - t0;
    print_message("the good game's event applied %.3f s after it was added\n", took);
    assert_true(took < 0.5);
    make_game("stale", 2); /* curation keeps running: created, expires after 1 s */
    WAIT_UNTIL(stream_len("game_event_dead_letter") == 1);
    WAIT_UNTIL(state_of("stale") == MM_STATE_COUNT);
    redisReply *r = redisCommand(events, "XRANGE game_event_dead_letter - +");
    assert_int_equal(r->elements, 1);
    const redisReply *f = r->element[0]->element[1];
    char flat[2048] = "";
    for (size_t i = 0; i < f->elements; i++) {
        strncat(flat, f->element[i]->str, sizeof(flat) - strlen(flat) - 2);
        strncat(flat, "|", sizeof(flat) - strlen(flat) - 1);
    }
    freeReplyObject(r);
    char want[256];
    snprintf(want, sizeof(want), "original_id|%s|", bad);
    assert_non_null(strstr(flat, want));
    assert_non_null(strstr(flat, "product_id|" P "|game_id|poison|type|state_change|"
                                 "new_state|ended|"));
    assert_non_null(strstr(flat, "reason|state_change: the game's document cannot be decoded|"));
    assert_int_equal(pending_count(), 0);
    /* delivered event_max_deliveries (5) times: retried with a back-off, not in a loop */
    char path[512], line[512];
    snprintf(path, sizeof(path), "%s/poison.log", itest_env("MM_TEST_RUN_DIR"));
    FILE *log = fopen(path, "r");
    int retries = 0;
    while (log != NULL && fgets(line, sizeof(line), log) != NULL)
        retries += strstr(line, "will retry") != NULL && strstr(line, "game_id=poison") != NULL;
    if (log != NULL)
        fclose(log);
    assert_int_equal(retries, 4);
}

/* A game curation cannot change through the scripts (they cannot read its document) is
 * deleted if unchanged, its game server told; it never stops the pass: the games after it
 * are curated in the same pass. */
static void curation_goes_on_past_a_document_it_cannot_change(void **state)
{
    mm_config cfg;
    char err[256];
    assert_int_equal(mm_config_load(fast_config, &cfg, err, sizeof(err)), MM_OK);
    put_poison("full", "creator_joined", "[\"u1\", \"u2\"]", 1); /* expired, full: a reset */
    make_game("after", 2);                                       /* created, in the set after it */
    int64_t later = mm_store_now_us() + 3600 * 1000000LL;
    mm_curation_cursor *cursor = calloc(1, sizeof(*cursor));
    mm_curation_stats st = {0};
    assert_int_equal(curate_pass(&cfg, cursor, later, &st), MM_OK);
    assert_int_equal(state_of("full"), MM_STATE_COUNT);
    assert_int_equal(state_of("after"), MM_STATE_COUNT);
    assert_int_equal(st.cleaned, 1);
    assert_int_equal(st.deleted, 1);
    assert_int_equal(queued("remove_game", "\"full\""), 1);
    free(cursor);
    mm_config_free(&cfg);
}

/* SPEC 10: the game servers' calls never hold up events. The game server hangs on every
 * remove_game while curation queues some; meanwhile a creator_joined event of another
 * game is applied at once, and SIGTERM ends the worker within a second. The calls that
 * were in flight go back to the queue for the next worker. */
static void a_hanging_game_server_holds_up_no_event(void **state)
{
    char expiring[512];
    snprintf(expiring, sizeof(expiring), "%s/expiring.json", itest_env("MM_TEST_RUN_DIR"));
    derive_config(expiring, NULL, 1);
    itest_gs_fail("remove_game", "hang", "\"hang_ms\": 30000");
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof(id), "old%d", i);
        make_game(id, 2);
    }
    usleep(1100000); /* they expire */
    pid_t pid = start_worker(expiring, "hang.log");
    WAIT_UNTIL(itest_gs_calls("remove_game", NULL) >= 5);
    make_game("fresh", 2);
    double t0 = itest_now_s();
    emit("fresh", "state_change", "new_state", "creator_joined");
    WAIT_UNTIL(state_of("fresh") == MM_STATE_CREATOR_JOINED);
    double took = itest_now_s() - t0;
    print_message("event applied %.3f s after it was added, 5 calls hanging\n", took);
    assert_true(took < 0.1 + 0.05); /* a turn of the loop, and the test's polling */
    t0 = itest_now_s();
    kill(pid, SIGTERM);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    double stop = itest_now_s() - t0;
    nworkers--;
    print_message("SIGTERM to exit: %.3f s\n", stop);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(stop < 1.0);
    /* the abandoned calls are due again at once */
    redisReply *r = redisCommand(games, "ZCOUNT __cleanup:" P " -inf %lld",
                                 (long long)mm_store_now_us() / 1000 + 1000);
    assert_int_equal(r->integer, 5);
    freeReplyObject(r);
    itest_gs_reset();
}

static int log_has(const char *name, const char *needle);

/* A product whose game server hangs holds only its share of the worker's cleanup slots
 * (16 among the 3 products here: 5), so another product's cleanup call is made at once,
 * not after the hanging calls' timeout. The hanging game server is a socket that takes
 * connections and never answers. */
static void a_hanging_game_server_holds_only_its_share_of_cleanup(void **state)
{
    int hole = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(hole >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(hole, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(hole, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(listen(hole, 64), 0);
    for (int i = 0; i < 20; i++)
        freeReplyObject(redisCommand(games,
                                     "ZADD __cleanup:exrps3 1 {\"op\":\"remove_game\","
                                     "\"url\":\"http://127.0.0.1:%d\",\"game_id\":\"h%d\","
                                     "\"attempt\":0}",
                                     ntohs(sa.sin_port), i));
    /* the hanging calls give up after 3 s: long enough to tell a wait for them */
    char path[512];
    snprintf(path, sizeof(path), "%s/share.json", itest_env("MM_TEST_RUN_DIR"));
    json_object *cfg = json_object_from_file(fast_config);
    json_object_object_add(cfg, "game_server_timeout_ms", json_object_new_int(3000));
    assert_int_equal(json_object_to_file(path, cfg), 0);
    json_object_put(cfg);
    start_worker(path, "share.log");
    WAIT_UNTIL(log_has("share.log", "msg=started"));
    usleep(300000); /* the hanging calls are in flight */
    double t0 = itest_now_s();
    freeReplyObject(redisCommand(games,
                                 "ZADD __cleanup:" P " 1 {\"op\":\"remove_game\",\"url\":\"%s\","
                                 "\"game_id\":\"prompt\",\"attempt\":0}",
                                 itest_env("MM_TEST_GS_URL")));
    WAIT_UNTIL(itest_gs_calls("remove_game", "\"prompt\"") == 1);
    double took = itest_now_s() - t0;
    print_message("another product's cleanup call made %.3f s after it was queued, 20 calls to "
                  "a hanging game server waiting\n",
                  took);
    assert_true(took < 1.0);
    stop_all_workers();
    close(hole);
}

/* SPEC 10: events of one game apply in stream order across restarts. A consumer read a
 * player_disconnect and died before acknowledging it; a newer all_players_joined was
 * applied meanwhile. When the old entry is claimed, it is acknowledged and ignored: the
 * game is not relisted. */
static void a_claimed_older_event_does_not_undo_a_newer_one(void **state)
{
    mm_stored s;
    make_game("g", 2);
    assert_int_equal(mm_store_advance(store, arena, P, "g", MM_STATE_CREATOR_JOINED, NULL, &s),
                     MM_STORE_OK);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g", "u2", &s), MM_STORE_OK);
    freeReplyObject(redisCommand(events, "XGROUP CREATE game_event_stream matchmaker $ MKSTREAM"));
    emit("g", "player_disconnect", "player_id", "u2");
    /* a consumer takes it and is killed before acknowledging */
    redisReply *r = redisCommand(events, "XREADGROUP GROUP matchmaker dead COUNT 1 STREAMS "
                                         "game_event_stream >");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    emit("g", "state_change", "new_state", "all_players_joined");
    /* the dead consumer's entry is claimed after 3 s idle: long enough for the worker to
     * start and apply the newer event first, even on a loaded machine */
    char config[512];
    snprintf(config, sizeof(config), "%s/order.json", itest_env("MM_TEST_RUN_DIR"));
    config_with(config, "event_claim_idle_ms", 3000L, (const char *)NULL);
    start_worker(config, "order.log");
    WAIT_UNTIL(state_of("g") == MM_STATE_ALL_PLAYERS_JOINED);
    assert_int_equal(pending_count(), 1); /* the older one not yet claimed */
    WAIT_UNTIL(pending_count() == 0);
    usleep(200000);
    assert_int_equal(state_of("g"), MM_STATE_ALL_PLAYERS_JOINED);
    assert_int_equal(players_of("g"), 2);
    assert_false(in_set("__lobby_games:", "g"));
}

/* SPEC 10: the stream is trimmed towards event_stream_max_len, never past an entry a group
 * has not acknowledged; consumers idle past event_consumer_max_idle_ms with nothing pending
 * leave the group. */
static int is_consumer(const char *name)
{
    redisReply *c = redisCommand(events, "XINFO CONSUMERS game_event_stream matchmaker");
    int found = 0;
    for (size_t i = 0; c->type == REDIS_REPLY_ARRAY && i < c->elements; i++)
        found |= strcmp(c->element[i]->element[1]->str, name) == 0;
    freeReplyObject(c);
    return found;
}

static void stream_is_trimmed_and_idle_consumers_leave(void **state)
{
    char tidy[512];
    snprintf(tidy, sizeof(tidy), "%s/tidy.json", itest_env("MM_TEST_RUN_DIR"));
    config_with(tidy, "event_stream_max_len", 100L, "event_consumer_max_idle_ms", 1000L,
                "event_claim_idle_ms", 60000L, (const char *)NULL);
    freeReplyObject(redisCommand(events, "XGROUP CREATE game_event_stream matchmaker 0 MKSTREAM"));
    freeReplyObject(redisCommand(events, "XGROUP CREATE game_event_stream audit 0"));
    freeReplyObject(redisCommand(events, "XGROUP CREATECONSUMER game_event_stream matchmaker old"));
    for (int i = 0; i < 450; i++)
        freeReplyObject(redisCommand(
            events, "XADD game_event_stream * product_id " P " game_id g%d type gameplay", i));
    /* a consumer holding an entry it has not acknowledged */
    freeReplyObject(redisCommand(events, "XREADGROUP GROUP matchmaker holder COUNT 1 STREAMS "
                                         "game_event_stream >"));
    start_worker(tidy, "tidy.log");
    WAIT_UNTIL(pending_count() == 1); /* the holder's */
    usleep(500000);
    /* "audit" has acknowledged nothing: nothing goes */
    assert_int_equal(stream_len("game_event_stream"), 450);
    freeReplyObject(redisCommand(events, "XGROUP DESTROY game_event_stream audit"));
    usleep(500000);
    /* the holder's entry, the first, holds everything after it */
    assert_int_equal(stream_len("game_event_stream"), 450);
    freeReplyObject(redisCommand(events, "XGROUP DELCONSUMER game_event_stream matchmaker holder"));
    WAIT_UNTIL(stream_len("game_event_stream") <= 200);
    assert_true(stream_len("game_event_stream") >= 100);
    WAIT_UNTIL(!is_consumer("old"));
}

/* Three workers share the stream; one is killed with SIGKILL mid-flood, one restarted.
 * Every game ends in the state its last event says, and the dead-letter stream holds
 * exactly the poison entries. */
static void three_workers_a_kill_and_a_restart(void **state)
{
    enum { GAMES = 40, POISON = 3 };
    char id[32];
    for (int g = 0; g < GAMES; g++) {
        snprintf(id, sizeof(id), "f%d", g);
        make_game(id, 2);
    }
    for (int k = 0; k < POISON; k++) {
        snprintf(id, sizeof(id), "p%d", k);
        put_poison(id, "created", "[\"u1\"]", mm_store_now_us() / 1000);
    }
    pid_t w1 = start_worker(fast_config, "w1.log");
    pid_t w2 = start_worker(fast_config, "w2.log");
    start_worker(fast_config, "w3.log");
    usleep(300000);
    static const char *const steps[] = {"creator_joined", "all_players_joined", "in_progress",
                                        "ended"};
    for (int step = 0; step < 4; step++) {
        for (int g = 0; g < GAMES; g++) {
            snprintf(id, sizeof(id), "f%d", g);
            emit(id, "state_change", "new_state", steps[step]);
            if (step == 0 && g < POISON) {
                snprintf(id, sizeof(id), "p%d", g);
                emit(id, "state_change", "new_state", "creator_joined");
            }
        }
        if (step == 1)
            stop_worker(w1, SIGKILL);
        if (step == 2) {
            stop_worker(w2, SIGTERM);
            start_worker(fast_config, "w2b.log");
        }
        usleep(50000);
    }
    for (int g = 0; g < GAMES; g++) {
        snprintf(id, sizeof(id), "f%d", g);
        WAIT_UNTIL(state_of(id) == MM_STATE_ENDED);
    }
    WAIT_UNTIL(stream_len("game_event_dead_letter") == POISON);
    WAIT_UNTIL(pending_count() == 0);
    usleep(500000);
    assert_int_equal(stream_len("game_event_dead_letter"), POISON);
}

/* SPEC 14: a product on a Redis of its own (here database 2 of the same server): its
 * events are applied there, its expired games curated there, its cleanup calls made. */
static void a_product_on_its_own_redis(void **state)
{
    char own[512], url[600];
    snprintf(own, sizeof(own), "%s/own-redis.json", itest_env("MM_TEST_RUN_DIR"));
    json_object *cfg = json_object_from_file(fast_config);
    json_object *products = json_object_object_get(cfg, "products");
    snprintf(url, sizeof(url), "unix://%s?db=2", itest_env("MM_TEST_REDIS_SOCK"));
    for (size_t i = 0; i < json_object_array_length(products); i++) {
        json_object *p = json_object_array_get_idx(products, i);
        if (strcmp(json_object_get_string(json_object_object_get(p, "product_id")), "exrps3") == 0)
            json_object_object_add(p, "redis_url", json_object_new_string(url));
    }
    json_object *e = json_object_new_object();
    json_object_object_add(e, "created", json_object_new_int(1));
    json_object_object_add(cfg, "expiry_seconds", e);
    assert_int_equal(json_object_to_file(own, cfg), 0);
    json_object_put(cfg);
    mm_redis_url u;
    char err[128];
    assert_int_equal(mm_redis_url_parse(url, &u, err, sizeof(err)), MM_OK);
    mm_rconn *c2 = mm_rconn_new(&u, 500);
    mm_store *s2 = mm_store_new(c2);
    static const char *players[] = {"u1"};
    mm_game g = {.game_id = "far",
                 .product_id = "exrps3",
                 .game_server_url = itest_env("MM_TEST_GS_URL"),
                 .creator_id = "u1",
                 .creator_name = "u1",
                 .players = players,
                 .nplayers = 1,
                 .settings_json = "{\"num_players\":3}",
                 .num_players = 3,
                 .token = "t",
                 .last_updated_us = mm_store_now_us(),
                 .state = MM_STATE_CREATED};
    assert_int_equal(mm_store_create(s2, arena, &g), MM_STORE_OK);
    g.game_id = "old";
    assert_int_equal(mm_store_create(s2, arena, &g), MM_STORE_OK);
    start_worker(own, "own-redis.log");
    freeReplyObject(redisCommand(events, "XADD game_event_stream * product_id exrps3 game_id far "
                                         "type state_change new_state creator_joined"));
    redisContext *db2 = itest_redis(2);
    int listed = 0;
    for (int i = 0; i < 100 && !listed; i++) {
        redisReply *r = redisCommand(db2, "ZSCORE __lobby_games:exrps3 far");
        listed = r->type == REDIS_REPLY_STRING;
        freeReplyObject(r);
        if (!listed)
            usleep(50000);
    }
    assert_true(listed);
    /* "old" (and "far", once its 60 s lobby time is not up, stays) */
    WAIT_UNTIL(itest_gs_calls("remove_game", "\"old\"") == 1);
    redisReply *r = redisCommand(db2, "HEXISTS __games:exrps3 old");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    r = redisCommand(games, "EXISTS __games:exrps3");
    assert_int_equal(r->integer, 0); /* nothing of it in the global Redis */
    freeReplyObject(r);
    freeReplyObject(redisCommand(db2, "FLUSHDB"));
    redisFree(db2);
    mm_store_free(s2);
    mm_rconn_free(c2);
}

/* Does the run directory's file name hold needle? */
static int log_has(const char *name, const char *needle)
{
    char path[512], line[4096];
    snprintf(path, sizeof(path), "%s/%s", itest_env("MM_TEST_RUN_DIR"), name);
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL)
        found = strstr(line, needle) != NULL;
    if (f != NULL)
        fclose(f);
    return found;
}

/* How many lines of the run directory's file name hold needle. */
static int log_count(const char *name, const char *needle)
{
    char path[512], line[4096];
    snprintf(path, sizeof(path), "%s/%s", itest_env("MM_TEST_RUN_DIR"), name);
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, needle) != NULL;
    if (f != NULL)
        fclose(f);
    return n;
}

/* SPEC 10: a product whose Redis does not answer holds up no other product: the others'
 * events are applied at once and their games curated, while its own events wait, pending
 * (never dead-lettered), for its Redis to answer. The product that is down comes first in
 * the configuration, so that a worker stuck on it would show. */
static void a_product_whose_redis_is_down_holds_up_no_other(void **state)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/one-down.json", itest_env("MM_TEST_RUN_DIR"));
    json_object *cfg = json_object_from_file(fast_config);
    json_object *products = json_object_object_get(cfg, "products");
    json_object *reordered = json_object_new_array();
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < json_object_array_length(products); i++) {
            json_object *p = json_object_array_get_idx(products, i);
            bool down =
                strcmp(json_object_get_string(json_object_object_get(p, "product_id")),
                       "exrps3") == 0;
            if (down != (pass == 0))
                continue;
            if (down)
                json_object_object_add(p, "redis_url",
                                       json_object_new_string("unix:///nonexistent/redis.sock"));
            json_object_array_add(reordered, json_object_get(p));
        }
    json_object_object_add(cfg, "products", reordered);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "created", json_object_new_int(1));
    json_object_object_add(cfg, "expiry_seconds", e);
    assert_int_equal(json_object_to_file(path, cfg), 0);
    json_object_put(cfg);

    make_game("g1", 2);
    make_game("stale", 2);
    start_worker(path, "one-down.log");
    freeReplyObject(redisCommand(events, "XADD game_event_stream * product_id exrps3 game_id far "
                                         "type state_change new_state creator_joined"));
    double t0 = itest_now_s();
    freeReplyObject(redisCommand(events, "XADD game_event_stream * product_id " P " game_id g1 "
                                         "type state_change new_state creator_joined"));
    WAIT_UNTIL(state_of("g1") == MM_STATE_CREATOR_JOINED);
    double took = itest_now_s() - t0;
    print_message("the other product's event applied after %.3f s\n", took);
    assert_true(took < 2.0);
    /* curation goes on past the product that is down: "stale" (created, 1 s) expires */
    WAIT_UNTIL(itest_gs_calls("remove_game", "\"stale\"") == 1);
    assert_int_equal(state_of("stale"), MM_STATE_COUNT); /* gone */
    /* the event of the product that is down waits: pending, not dead-lettered */
    redisReply *r = redisCommand(events, "XPENDING game_event_stream matchmaker");
    assert_true(r->type == REDIS_REPLY_ARRAY && r->elements >= 1);
    assert_int_equal(r->element[0]->integer, 1);
    freeReplyObject(r);
    r = redisCommand(events, "XLEN game_event_dead_letter");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    assert_true(log_has("one-down.log", "its events wait"));
    assert_true(log_has("one-down.log", "curation passed over a product"));
}

/* Redis at maxmemory (noeviction) refuses the event's write: the event is not at fault, so
 * it is retried with a back-off past event_max_deliveries and never dead-lettered, and it
 * takes effect once there is room again. */
static void redis_full_defers_events_and_dead_letters_none(void **state)
{
    /* the worker's group is made while there is room (XGROUP needs memory); the worker is
     * stopped while the game and its event are added and Redis is filled */
    pid_t pid = start_worker(fast_config, "full.log");
    WAIT_UNTIL(log_has("full.log", "consumer group created"));
    kill(pid, SIGSTOP);
    int st;
    waitpid(pid, &st, WUNTRACED);
    make_game("roomless", 2);
    emit("roomless", "state_change", "new_state", "creator_joined");
    redisReply *r = redisCommand(games, "INFO memory");
    const char *u = strstr(r->str, "used_memory:");
    assert_non_null(u);
    long long used = strtoll(u + strlen("used_memory:"), NULL, 10);
    freeReplyObject(r);
    r = redisCommand(games, "CONFIG GET maxmemory");
    char before[32];
    snprintf(before, sizeof(before), "%s", r->element[1]->str);
    freeReplyObject(r);
    freeReplyObject(redisCommand(games, "CONFIG SET maxmemory %lld", used / 2));
    kill(pid, SIGCONT);
    /* five deliveries (event_max_deliveries) and more, each refused for memory */
    int refusals = 0;
    for (int i = 0; i < 500 && refusals < 6; i++) {
        usleep(20000);
        refusals = log_count("full.log", "Redis is at maxmemory; will retry");
    }
    mm_game_state while_full = state_of("roomless");
    long long dead = stream_len("game_event_dead_letter");
    freeReplyObject(redisCommand(games, "CONFIG SET maxmemory %s", before));
    print_message("redis full: the event refused %d times, dead-lettered %lld times\n", refusals,
                  dead);
    assert_true(refusals >= 6);
    assert_int_equal(while_full, MM_STATE_CREATED);
    assert_int_equal(dead, 0);
    WAIT_UNTIL(state_of("roomless") == MM_STATE_CREATOR_JOINED);
    WAIT_UNTIL(pending_count() == 0);
    assert_int_equal(stream_len("game_event_dead_letter"), 0);
}

static void sigterm_exits_zero_promptly(void **state)
{
    pid_t pid = start_worker(fast_config, "term.log");
    /* running: its handler is set before it logs that it started (a TERM before that
     * ends it as the default action does, before it holds anything) */
    WAIT_UNTIL(log_has("term.log", "msg=started"));
    usleep(100000);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(pid, SIGTERM);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    nworkers--;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("an idle worker exited %.3f s after SIGTERM\n", secs);
    assert_true(secs < 1.0); /* SPEC 10 */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, fresh)
    const struct CMUnitTest tests[] = {
        T(each_event_type_has_its_effect),
        T(bad_events_are_acknowledged_and_skipped),
        T(two_workers_share_the_group_exactly_once),
        T(entries_of_a_killed_worker_are_claimed),
        T(worker_killed_mid_batch_loses_nothing),
        T(legacy_index_is_where_the_group_starts),
        T(group_deleted_under_a_running_worker_is_recreated),
        T(curation_expires_resets_and_keeps),
        T(curation_leaves_a_game_changed_since_read),
        T(curation_removes_an_undecodable_game_only_if_unchanged),
        T(curation_reaches_past_a_batch_of_live_games),
        T(curation_steps_stop_between_games),
        T(redis_full_defers_events_and_dead_letters_none),
        T(poison_entry_is_dead_lettered_and_holds_up_nothing),
        T(curation_goes_on_past_a_document_it_cannot_change),
        T(a_hanging_game_server_holds_up_no_event),
        T(a_hanging_game_server_holds_only_its_share_of_cleanup),
        T(a_claimed_older_event_does_not_undo_a_newer_one),
        T(stream_is_trimmed_and_idle_consumers_leave),
        T(three_workers_a_kill_and_a_restart),
        T(a_product_on_its_own_redis),
        T(a_product_whose_redis_is_down_holds_up_no_other),
        T(sigterm_exits_zero_promptly),
    };
    return cmocka_run_group_tests_name("integration: worker", tests, setup, teardown);
}
