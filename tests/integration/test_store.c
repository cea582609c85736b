/* The store against a real redis-server: each operation's success and
 * failure outcomes, the key layout of SPEC section 5 after each of them,
 * racing seat reservations from many processes, and reconnection after a
 * Redis restart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"
#include "store.h"
#include "store_set.h"

#define P "exrps"

static redisContext *raw; /* for looking at Redis directly */
static mm_rconn *conn;
static mm_store *store;
static mm_arena *arena;

static int setup(void **state)
{
    return itest_fixture_open(&raw, &conn, &store, &arena);
}

static int teardown(void **state)
{
    itest_fixture_close(raw, conn, store, arena);
    return 0;
}

static int fresh(void **state)
{
    itest_fixture_fresh(raw, arena);
    return 0;
}

/* ---- looking at Redis ---- */

static char *hget(const char *key, const char *field)
{
    redisReply *r = redisCommand(raw, "HGET %s %s", key, field);
    char *v = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

static long long zscore(const char *key, const char *member)
{
    redisReply *r = redisCommand(raw, "ZSCORE %s %s", key, member);
    long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
    freeReplyObject(r);
    return v;
}

static char *get(const char *key)
{
    redisReply *r = redisCommand(raw, "GET %s", key);
    char *v = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

static long long keycount(void)
{
    redisReply *r = redisCommand(raw, "DBSIZE");
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static long long hexists(const char *key, const char *field)
{
    redisReply *r = redisCommand(raw, "HEXISTS %s %s", key, field);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static bool is_member(const char *key, const char *member)
{
    redisReply *r = redisCommand(raw, "SISMEMBER %s %s", key, member);
    bool in = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return in;
}

/* Which of the three sets hold id: a bitmask 1 pending, 2 lobby, 4 active. */
static int sets_of(const char *id)
{
    return (zscore("__pending_games:" P, id) >= 0 ? 1 : 0) |
           (zscore("__lobby_games:" P, id) >= 0 ? 2 : 0) |
           (zscore("__active_games:" P, id) >= 0 ? 4 : 0);
}

/* ---- building games ---- */

static const char *players1[] = {"u1"};

static mm_game make_game(const char *id, int num_players)
{
    mm_game g;
    memset(&g, 0, sizeof(g));
    g.game_id = id;
    g.product_id = P;
    g.game_server_url = "http://127.0.0.1:8080";
    g.creator_id = "u1";
    g.creator_name = "alice";
    g.players = players1;
    g.nplayers = 1;
    g.num_players = num_players;
    g.settings_json = num_players == 3 ? "{\"num_players\":3}" : "{\"num_players\":2}";
    g.token = "tok-123";
    g.last_updated_us = mm_store_now_us();
    g.state = MM_STATE_CREATED;
    return g;
}

static void create_published(const char *id, int num_players)
{
    mm_game g = make_game(id, num_players);
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    mm_stored s;
    assert_int_equal(mm_store_advance(store, arena, P, id, MM_STATE_CREATOR_JOINED, NULL, &s),
                     MM_STORE_OK);
}

/* The document in Redis equals what the C encoder makes of its decoding: the
 * scripts write the canonical form. */
static void assert_canonical(const char *id)
{
    char *doc = hget("__games:" P, id);
    assert_non_null(doc);
    mm_game g;
    assert_int_equal(mm_game_decode(arena, doc, strlen(doc), &g), MM_OK);
    size_t len;
    char *again = mm_game_encode(arena, &g, MM_GAME_FULL, NULL, &len);
    assert_string_equal(doc, again);
    free(doc);
}

/* ---- tests ---- */

static void create_writes_hash_pending_and_wlock(void **state)
{
    mm_game g = make_game("g1", 2);
    long long before = mm_store_now_us() / 1000;
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    char *doc = hget("__games:" P, "g1");
    assert_non_null(doc);
    assert_non_null(strstr(doc, "\"state\": \"created\""));
    assert_non_null(strstr(doc, "\"token\": \"tok-123\""));
    free(doc);
    assert_int_equal(sets_of("g1"), 1);
    long long score = zscore("__pending_games:" P, "g1");
    assert_true(score >= before - 1000 && score <= before + 1000); /* milliseconds */
    char *lock = get("wlock:g1");
    assert_string_equal(lock, P);
    free(lock);
    /* the hash, the pending set, the wlock, and the creator's open game and seat (SPEC 11) */
    assert_int_equal(keycount(), 5);
    assert_true(is_member("__user_games:" P ":u1", "g1"));
    assert_true(is_member("__user_seats:" P ":u1", "g1"));
    assert_canonical("g1");
    /* the id is taken */
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_EXISTS);
}

static void advance_publishes_then_walks_the_states(void **state)
{
    mm_game g = make_game("g1", 2);
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    mm_stored s;
    /* skipping a state is refused and changes nothing */
    char *before = hget("__games:" P, "g1");
    assert_int_equal(mm_store_advance(store, arena, P, "g1", MM_STATE_IN_PROGRESS, NULL, &s),
                     MM_STORE_WRONG_STATE);
    assert_int_equal(s.game.state, MM_STATE_CREATED);
    char *after = hget("__games:" P, "g1");
    assert_string_equal(before, after);
    free(before);
    free(after);

    assert_int_equal(mm_store_advance(store, arena, P, "g1", MM_STATE_CREATOR_JOINED, NULL, &s),
                     MM_STORE_OK);
    assert_int_equal(s.game.state, MM_STATE_CREATOR_JOINED);
    assert_true(s.game.last_updated_us >= g.last_updated_us);
    assert_int_equal(sets_of("g1"), 2);
    assert_canonical("g1");
    /* publishing twice is a wrong state */
    assert_int_equal(mm_store_advance(store, arena, P, "g1", MM_STATE_CREATOR_JOINED, NULL, &s),
                     MM_STORE_WRONG_STATE);
    assert_int_equal(mm_store_advance(store, arena, P, "g1", MM_STATE_ALL_PLAYERS_JOINED, NULL, &s),
                     MM_STORE_OK);
    assert_int_equal(sets_of("g1"), 4);
    long long entered = zscore("__active_games:" P, "g1");
    usleep(5000);
    assert_int_equal(mm_store_advance(store, arena, P, "g1", MM_STATE_IN_PROGRESS, NULL, &s),
                     MM_STORE_OK);
    assert_int_equal(mm_store_advance(store, arena, P, "g1", MM_STATE_ENDED, NULL, &s),
                     MM_STORE_OK);
    assert_int_equal(s.game.state, MM_STATE_ENDED);
    assert_int_equal(sets_of("g1"), 4);
    assert_int_equal(zscore("__active_games:" P, "g1"), entered); /* time it entered */
    assert_int_equal(mm_store_advance(store, arena, P, "g1", MM_STATE_ENDED, NULL, &s),
                     MM_STORE_WRONG_STATE);
    assert_int_equal(mm_store_advance(store, arena, P, "nope", MM_STATE_ENDED, NULL, &s),
                     MM_STORE_NOT_FOUND);
}

static void reserve_checks_in_spec_order(void **state)
{
    mm_stored s;
    mm_game g = make_game("g1", 2);
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "nope", "u2", &s), MM_STORE_NOT_FOUND);
    /* not published yet */
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u2", &s), MM_STORE_WRONG_STATE);
    assert_int_equal(s.game.state, MM_STATE_CREATED);
    assert_int_equal(mm_store_advance(store, arena, P, "g1", MM_STATE_CREATOR_JOINED, NULL, &s),
                     MM_STORE_OK);
    /* the creator cannot take a second seat */
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u1", &s),
                     MM_STORE_ALREADY_JOINED);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u2", &s), MM_STORE_OK);
    assert_int_equal(s.game.nplayers, 2);
    assert_string_equal(s.game.players[1], "u2");
    assert_int_equal(sets_of("g1"), 4); /* full: lobby -> active */
    assert_canonical("g1");
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u2", &s),
                     MM_STORE_ALREADY_JOINED);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u3", &s), MM_STORE_FULL);
    assert_int_equal(s.game.nplayers, 2);
}

static void three_player_game_stays_listed_until_full(void **state)
{
    mm_stored s;
    create_published("g3", 3);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g3", "u2", &s), MM_STORE_OK);
    assert_int_equal(sets_of("g3"), 2);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g3", "u3", &s), MM_STORE_OK);
    assert_int_equal(sets_of("g3"), 4);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g3", "u4", &s), MM_STORE_FULL);
}

/* Quotes, backslashes and slashes in every kind of value survive a script's re-encoding
 * byte for byte (cjson writes "/" as an escape, which the scripts undo). */
static void scripts_keep_escapes_exact(void **state)
{
    (void)state;
    mm_game g = make_game("g1", 2);
    const char *players[] = {"a\\/b\"c"};
    g.creator_id = players[0];
    g.players = players;
    g.creator_name = "back\\slash /slash \\/ \"quoted\" \xc3\xa9";
    g.game_server_url = "http://127.0.0.1:8080/a/b";
    g.token = "t/\\/";
    mm_stored s;
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    assert_canonical("g1");
    assert_int_equal(mm_store_advance(store, arena, P, "g1", MM_STATE_CREATOR_JOINED, NULL, &s),
                     MM_STORE_OK);
    assert_canonical("g1");
    assert_string_equal(s.game.creator_name, g.creator_name);
    assert_string_equal(s.game.token, g.token);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "x/\\y", &s), MM_STORE_OK);
    assert_canonical("g1");
    assert_string_equal(s.game.players[0], players[0]);
    assert_string_equal(s.game.players[1], "x/\\y");
    assert_string_equal(s.game.game_server_url, g.game_server_url);
}

/* The fast form of a join answers the URL and the counts from the script, and the stored
 * document as it now is. */
static void take_seat_answers_without_decoding(void **state)
{
    (void)state;
    create_published("g3", 3);
    mm_seat seat;
    assert_int_equal(mm_store_take_seat(store, arena, P, "g3", "u2", NULL, &seat), MM_STORE_OK);
    assert_string_equal(seat.game_server_url, "http://127.0.0.1:8080");
    assert_int_equal(seat.nplayers, 2);
    assert_int_equal(seat.num_players, 3);
    char *doc = hget("__games:" P, "g3");
    assert_int_equal(seat.doc_len, strlen(doc));
    assert_string_equal(seat.doc, doc);
    free(doc);
    assert_int_equal(sets_of("g3"), 2); /* one seat left: still listed */
    assert_int_equal(mm_store_take_seat(store, arena, P, "g3", "u3", NULL, &seat), MM_STORE_OK);
    assert_int_equal(seat.nplayers, 3);
    assert_int_equal(sets_of("g3"), 4); /* full: active */
    assert_int_equal(mm_store_take_seat(store, arena, P, "g3", "u4", NULL, &seat), MM_STORE_FULL);
    assert_non_null(seat.doc); /* the game as found */
    assert_null(seat.game_server_url);
    assert_int_equal(mm_store_take_seat(store, arena, P, "g9", "u4", NULL, &seat),
                     MM_STORE_NOT_FOUND);
    assert_null(seat.doc);
}

/* Replies built in the arena have hiredis's shape: nested arrays, integers, nils, status and
 * error replies; one too large for its arena fails like a broken connection, and the next
 * command works. */
static void replies_built_in_the_arena(void **state)
{
    (void)state;
    const char *script = "return {1, 'two', {3, false, 'four'}, redis.status_reply('FINE'), "
                         "redis.error_reply('BAD thing')}";
    const char *argv[] = {"EVAL", script, "0"};
    redisReply *r = mm_rconn_command_argv_in(conn, arena, MM_RCONN_REPEATABLE, 3, argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 5);
    assert_int_equal(r->element[0]->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->element[0]->integer, 1);
    assert_int_equal(r->element[1]->type, REDIS_REPLY_STRING);
    assert_string_equal(r->element[1]->str, "two");
    assert_int_equal(r->element[1]->len, 3);
    const redisReply *inner = r->element[2];
    assert_int_equal(inner->type, REDIS_REPLY_ARRAY);
    assert_int_equal(inner->elements, 3);
    assert_int_equal(inner->element[0]->integer, 3);
    assert_int_equal(inner->element[1]->type, REDIS_REPLY_NIL);
    assert_string_equal(inner->element[2]->str, "four");
    assert_int_equal(r->element[3]->type, REDIS_REPLY_STATUS);
    assert_string_equal(r->element[3]->str, "FINE");
    assert_int_equal(r->element[4]->type, REDIS_REPLY_ERROR);
    assert_string_equal(r->element[4]->str, "BAD thing");
    const char *empty[] = {"EVAL", "return {}", "0"};
    r = mm_rconn_command_argv_in(conn, arena, MM_RCONN_REPEATABLE, 3, empty, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 0);

    /* 64 KiB of reply into an arena capped at 4 KiB */
    mm_arena *small = mm_arena_new(4096);
    assert_non_null(small);
    const char *big[] = {"EVAL", "return string.rep('x', 65536)", "0"};
    assert_null(mm_rconn_command_argv_in(conn, small, MM_RCONN_REPEATABLE, 3, big, NULL));
    mm_arena_free(small);
    r = mm_rconn_command_argv_in(conn, arena, MM_RCONN_REPEATABLE, 3, big, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, 65536);
    assert_int_equal(mm_rconn_ping(conn), MM_OK);
}

static void undo_gives_the_seat_back(void **state)
{
    mm_stored s;
    create_published("g1", 2);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u2", &s), MM_STORE_OK);
    assert_int_equal(mm_store_undo_seat(store, arena, P, "g1", "u1", &s), MM_STORE_NOT_PLAYER);
    assert_int_equal(mm_store_undo_seat(store, arena, P, "g1", "zz", &s), MM_STORE_NOT_PLAYER);
    assert_int_equal(mm_store_undo_seat(store, arena, P, "g1", "u2", &s), MM_STORE_OK);
    assert_int_equal(s.game.nplayers, 1);
    assert_int_equal(sets_of("g1"), 2); /* back in the lobby */
    assert_canonical("g1");
    /* and the seat can be taken again */
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u3", &s), MM_STORE_OK);
    assert_int_equal(mm_store_undo_seat(store, arena, P, "nope", "u3", &s), MM_STORE_NOT_FOUND);
}

static void reset_drops_a_player_and_relists(void **state)
{
    mm_stored s;
    const char *removed;
    create_published("g3", 3);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g3", "u2", &s), MM_STORE_OK);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g3", "u3", &s), MM_STORE_OK);
    assert_int_equal(mm_store_advance(store, arena, P, "g3", MM_STATE_ALL_PLAYERS_JOINED, NULL, &s),
                     MM_STORE_OK);
    assert_int_equal(mm_store_advance(store, arena, P, "g3", MM_STATE_IN_PROGRESS, NULL, &s),
                     MM_STORE_OK);
    /* a named player (the middle one) */
    assert_int_equal(mm_store_reset(store, arena, P, "g3", "u2", NULL, NULL, &s, &removed),
                     MM_STORE_OK);
    assert_string_equal(removed, "u2");
    assert_int_equal(s.game.state, MM_STATE_CREATOR_JOINED);
    assert_int_equal(s.game.nplayers, 2);
    assert_string_equal(s.game.players[1], "u3");
    assert_int_equal(sets_of("g3"), 2);
    assert_canonical("g3");
    /* the creator and strangers are not removed */
    assert_int_equal(mm_store_reset(store, arena, P, "g3", "u1", NULL, NULL, &s, &removed),
                     MM_STORE_NOT_PLAYER);
    assert_int_equal(mm_store_reset(store, arena, P, "g3", "u9", NULL, NULL, &s, &removed),
                     MM_STORE_NOT_PLAYER);
    /* the last one, only if the document is unchanged */
    assert_int_equal(
        mm_store_reset(store, arena, P, "g3", NULL, "{\"stale\": 1}", NULL, &s, &removed),
        MM_STORE_CHANGED);
    char *doc = hget("__games:" P, "g3");
    assert_int_equal(mm_store_reset(store, arena, P, "g3", NULL, doc, NULL, &s, &removed),
                     MM_STORE_OK);
    free(doc);
    assert_string_equal(removed, "u3");
    assert_int_equal(s.game.nplayers, 1);
    /* only the creator left */
    assert_int_equal(mm_store_reset(store, arena, P, "g3", NULL, NULL, NULL, &s, &removed),
                     MM_STORE_NOT_PLAYER);
    /* not from created or ended */
    mm_game g = make_game("g4", 2);
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    assert_int_equal(mm_store_reset(store, arena, P, "g4", NULL, NULL, NULL, &s, &removed),
                     MM_STORE_WRONG_STATE);
    assert_int_equal(mm_store_reset(store, arena, P, "zz", NULL, NULL, NULL, &s, &removed),
                     MM_STORE_NOT_FOUND);
}

static void delete_removes_every_key(void **state)
{
    mm_stored s;
    create_published("g1", 2);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u2", &s), MM_STORE_OK);
    assert_int_equal(mm_store_delete_exact(store, P, "g1", "{\"x\": 1}", 8), MM_STORE_CHANGED);
    /* hash, active set, wlock, u1's open game, u1's and u2's seats */
    assert_int_equal(keycount(), 6);
    char *doc = hget("__games:" P, "g1");
    assert_int_equal(mm_store_delete_exact(store, P, "g1", doc, strlen(doc)), MM_STORE_OK);
    free(doc);
    assert_int_equal(keycount(), 0);
    assert_int_equal(mm_store_delete(store, P, "g1"), MM_STORE_NOT_FOUND);
    assert_int_equal(mm_store_delete_exact(store, P, "g1", "{}", 2), MM_STORE_NOT_FOUND);
    /* a dangling set entry is cleaned by an unconditional delete */
    freeReplyObject(redisCommand(raw, "ZADD __lobby_games:" P " 1 ghost"));
    assert_int_equal(mm_store_delete(store, P, "ghost"), MM_STORE_NOT_FOUND);
    assert_int_equal(keycount(), 0);
}

static void get_and_corrupt_documents(void **state)
{
    mm_stored s;
    create_published("g1", 2);
    assert_int_equal(mm_store_get(store, arena, P, "g1", &s), MM_STORE_OK);
    assert_string_equal(s.game.game_id, "g1");
    assert_string_equal(s.game.token, "tok-123");
    assert_int_equal(mm_store_get(store, arena, P, "g2", &s), MM_STORE_NOT_FOUND);
    freeReplyObject(redisCommand(raw, "HSET __games:" P " bad {not-json"));
    freeReplyObject(redisCommand(raw, "ZADD __lobby_games:" P " 1 bad"));
    assert_int_equal(mm_store_get(store, arena, P, "bad", &s), MM_STORE_CORRUPT);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "bad", "u2", &s), MM_STORE_CORRUPT);
    assert_int_equal(mm_store_advance(store, arena, P, "bad", MM_STATE_ENDED, NULL, &s),
                     MM_STORE_CORRUPT);
    char *doc = hget("__games:" P, "bad");
    assert_string_equal(doc, "{not-json"); /* untouched */
    free(doc);
    /* a parsable document that breaks the model (players without the creator) */
    freeReplyObject(redisCommand(
        raw, "HSET __games:" P " odd %s",
        "{\"game_id\": \"odd\", \"product_id\": \"exrps\", \"game_server_url\": \"http://x\", "
        "\"creator_id\": \"u1\", \"creator_name\": \"a\", \"players\": [\"u7\"], "
        "\"settings\": {\"num_players\": 2}, \"token\": \"t\", "
        "\"_last_updated\": \"23-Nov-2026 (18:04:05.123456)\", \"state\": \"creator_joined\"}"));
    assert_int_equal(mm_store_get(store, arena, P, "odd", &s), MM_STORE_CORRUPT);
    /* an open game whose game_server_url is not a string: no seat is taken in it */
    static const char no_url[] =
        "{\"game_id\": \"nourl\", \"product_id\": \"exrps\", \"game_server_url\": 5, "
        "\"creator_id\": \"u1\", \"creator_name\": \"a\", \"players\": [\"u1\"], "
        "\"settings\": {\"num_players\": 2}, \"token\": \"t\", "
        "\"_last_updated\": \"23-Nov-2026 (18:04:05.123456)\", \"state\": \"creator_joined\"}";
    freeReplyObject(redisCommand(raw, "HSET __games:" P " nourl %s", no_url));
    mm_seat seat;
    assert_int_equal(mm_store_take_seat(store, arena, P, "nourl", "u2", NULL, &seat),
                     MM_STORE_CORRUPT);
    assert_null(seat.game_server_url);
    doc = hget("__games:" P, "nourl");
    assert_string_equal(doc, no_url);
    free(doc);
}

static void lobby_pages_oldest_first_skipping_missing(void **state)
{
    char id[16];
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof(id), "g%02d", i);
        create_published(id, 2);
        usleep(2000); /* distinct millisecond scores */
    }
    mm_stored *games;
    size_t n;
    assert_int_equal(mm_store_lobby_page(store, arena, P, 0, 10, &games, &n), MM_STORE_OK);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "g%02d", (int)i);
        assert_string_equal(games[i].game.game_id, id);
    }
    assert_int_equal(mm_store_lobby_page(store, arena, P, 20, 10, &games, &n), MM_STORE_OK);
    assert_int_equal(n, 10);
    assert_string_equal(games[0].game.game_id, "g20");
    assert_int_equal(mm_store_lobby_page(store, arena, P, 30, 10, &games, &n), MM_STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(mm_store_lobby_page(store, arena, P, 0, 0, &games, &n), MM_STORE_OK);
    assert_int_equal(n, 0);
    /* g01 loses its document, g02 gets a broken one: both skipped */
    freeReplyObject(redisCommand(raw, "HDEL __games:" P " g01"));
    freeReplyObject(redisCommand(raw, "HSET __games:" P " g02 [1,2"));
    assert_int_equal(mm_store_lobby_page(store, arena, P, 0, 5, &games, &n), MM_STORE_OK);
    assert_int_equal(n, 3);
    assert_string_equal(games[0].game.game_id, "g00");
    assert_string_equal(games[1].game.game_id, "g03");
    assert_string_equal(games[2].game.game_id, "g04");
}

static void candidates_are_the_oldest_below_the_cutoff(void **state)
{
    char id[16];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        mm_game g = make_game(id, 2);
        assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    }
    /* scores set by hand: c0..c4 entered at 1000, 2000, ... ms */
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        freeReplyObject(redisCommand(raw, "ZADD __pending_games:" P " %d %s", (i + 1) * 1000, id));
    }
    freeReplyObject(redisCommand(raw, "HDEL __games:" P " c1"));
    mm_candidate *c;
    size_t n;
    assert_int_equal(mm_store_candidates(store, arena, P, MM_SET_PENDING, 3000, 0, 100, &c, &n),
                     MM_STORE_OK);
    assert_int_equal(n, 3);
    assert_string_equal(c[0].game_id, "c0");
    assert_non_null(c[0].stored.doc);
    assert_string_equal(c[1].game_id, "c1");
    assert_null(c[1].stored.doc); /* missing document is reported, not hidden */
    assert_string_equal(c[2].game_id, "c2");
    assert_int_equal(mm_store_candidates(store, arena, P, MM_SET_PENDING, 10000, 0, 2, &c, &n),
                     MM_STORE_OK);
    assert_int_equal(n, 2);
    /* the next page, for curation resuming after games it kept */
    assert_int_equal(mm_store_candidates(store, arena, P, MM_SET_PENDING, 10000, 3, 2, &c, &n),
                     MM_STORE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(c[0].game_id, "c3");
    assert_string_equal(c[1].game_id, "c4");
    assert_int_equal(mm_store_candidates(store, arena, P, MM_SET_LOBBY, 10000, 0, 2, &c, &n),
                     MM_STORE_OK);
    assert_int_equal(n, 0);
}

static void scripts_are_reloaded_after_a_flush(void **state)
{
    mm_stored s;
    create_published("g1", 2);
    freeReplyObject(redisCommand(raw, "SCRIPT FLUSH"));
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u2", &s), MM_STORE_OK);
}

/* Many processes race for the seats of one game: exactly the free seats are
 * taken, everyone else is told the game is full, nobody twice. */
static void race(int num_players, int racers)
{
    create_published("race", num_players);
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pids[64];
    for (int i = 0; i < racers; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            mm_rconn *c;
            mm_store *st = itest_store_open(&c);
            mm_arena *a = mm_arena_new(0);
            mm_rconn_ping(c); /* connected before the start */
            char b;
            if (read(go[0], &b, 1) < 0)
                _exit(99);
            char user[16];
            snprintf(user, sizeof(user), "r%d", i);
            mm_stored s;
            mm_store_result r = mm_store_reserve_seat(st, a, P, "race", user, &s);
            _exit((int)r);
        }
    }
    close(go[0]);
    usleep(200000);
    close(go[1]); /* everyone reads EOF at once */
    int ok = 0, full = 0, other = 0;
    for (int i = 0; i < racers; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (code == MM_STORE_OK)
            ok++;
        else if (code == MM_STORE_FULL)
            full++;
        else
            other++;
    }
    assert_int_equal(other, 0);
    assert_int_equal(ok, num_players - 1);
    assert_int_equal(full, racers - (num_players - 1));
    mm_stored s;
    assert_int_equal(mm_store_get(store, arena, P, "race", &s), MM_STORE_OK);
    assert_int_equal(s.game.nplayers, num_players); /* decode refuses duplicates */
    assert_int_equal(sets_of("race"), 4);
}

static void fifty_racers_two_seats(void **state)
{
    race(2, 50);
}

static void fifty_racers_three_seats(void **state)
{
    race(3, 50);
}

/* The text of the member "settings" of doc must be exactly want. */
static void assert_settings_text(const char *doc, const char *want)
{
    const char *at = strstr(doc, "\"settings\": ");
    assert_non_null(at);
    at += strlen("\"settings\": ");
    if (strncmp(at, want, strlen(want)) != 0 || at[strlen(want)] != ',')
        fail_msg("settings changed:\n  want %s\n  have %.*s", want, (int)strlen(want) + 20, at);
}

/* SPEC 10: no script re-encodes settings. Arrays stay arrays (cjson would write an empty
 * one as {}), big integers keep every digit, key order and escapes stay as written, through
 * every script that rewrites the document. */
static void scripts_keep_settings_byte_for_byte(void **state)
{
    (void)state;
    static const char settings[] =
        "{\"maps\":[],\"seed\":12345678901234567,\"num_players\":3,"
        "\"rules\":{\"names\":[\"\xc3\xa9t\xc3\xa9\",\"a\\/b\",\"\\u00e9\"],\"ratio\":0.50,"
        "\"none\":null,\"deep\":[[{}],{\"k\":[1,2.5e3,-0]}]},\"empty\":{}}";
    mm_game g = make_game("g1", 3);
    g.settings_json = settings;
    mm_stored s;
    const char *removed;
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_OK);
    assert_int_equal(mm_store_advance(store, arena, P, "g1", MM_STATE_CREATOR_JOINED, NULL, &s),
                     MM_STORE_OK);
    assert_settings_text(s.doc, settings);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u2", &s), MM_STORE_OK);
    assert_settings_text(s.doc, settings);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u3", &s), MM_STORE_OK);
    assert_int_equal(mm_store_undo_seat(store, arena, P, "g1", "u3", &s), MM_STORE_OK);
    assert_settings_text(s.doc, settings);
    assert_int_equal(mm_store_reset(store, arena, P, "g1", "u2", NULL, NULL, &s, &removed),
                     MM_STORE_OK);
    char *doc = hget("__games:" P, "g1");
    assert_settings_text(doc, settings);
    free(doc);
}

/* Fields this version does not know are kept too, in their order and with their bytes,
 * even values cjson cannot encode again (a number out of a double's range). */
static void scripts_keep_unknown_fields_byte_for_byte(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"game_id\": \"g1\", \"product_id\": \"" P "\", \"game_server_url\": "
        "\"http://127.0.0.1:8080\", \"creator_id\": \"u1\", \"creator_name\": \"alice\", "
        "\"players\": [\"u1\"], \"settings\": {\"num_players\":2}, \"token\": \"t\", "
        "\"_last_updated\": \"23-Nov-2026 (18:04:05.123456)\", \"state\": \"created\", "
        "\"zeta\": [1, {}, []], \"alpha\": 1e999, \"mid\":{\"x\" : \"y\"}}";
    freeReplyObject(redisCommand(raw, "HSET __games:" P " g1 %s", doc));
    freeReplyObject(redisCommand(raw, "ZADD __pending_games:" P " 1 g1"));
    mm_stored s;
    mm_store_advance(store, arena, P, "g1", MM_STATE_CREATOR_JOINED, NULL, &s);
    char *after = hget("__games:" P, "g1");
    assert_non_null(strstr(after, "\"state\": \"creator_joined\", \"zeta\": [1, {}, []], "
                                  "\"alpha\": 1e999, \"mid\": {\"x\" : \"y\"}}"));
    free(after);
}

/* SPEC 10: a seat is given back only while the game is as the reservation left it. Here
 * the game server reported all players joined before the undo came: nothing is undone. */
static void undo_only_while_the_game_is_as_the_seat_left_it(void **state)
{
    (void)state;
    mm_stored s;
    create_published("g1", 2);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u2", &s), MM_STORE_OK);
    assert_int_equal(mm_store_advance(store, arena, P, "g1", MM_STATE_ALL_PLAYERS_JOINED, NULL, &s),
                     MM_STORE_OK);
    char *before = hget("__games:" P, "g1");
    assert_int_equal(mm_store_undo_seat(store, arena, P, "g1", "u2", &s), MM_STORE_CHANGED);
    char *after = hget("__games:" P, "g1");
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(sets_of("g1"), 4);
}

static pid_t redis_pid(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/redis.pid", itest_env("MM_TEST_RUN_DIR"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long pid = 0;
    assert_int_equal(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    return (pid_t)pid;
}

/* SPEC 10: a write that reaches Redis after the caller gave up does not take effect. Redis
 * is frozen while a create and a seat are asked for: both answer unavailable after the
 * timeout, and once Redis runs again neither has landed. */
static void writes_reaching_redis_after_their_deadline_are_refused(void **state)
{
    (void)state;
    create_published("open", 2);
    mm_stored s;
    assert_int_equal(mm_store_get(store, arena, P, "open", &s), MM_STORE_OK); /* connected */
    pid_t rp = redis_pid();
    assert_int_equal(kill(rp, SIGSTOP), 0);
    mm_game g = make_game("late", 2);
    double t0 = itest_now_s();
    mm_store_result created = mm_store_create(store, arena, &g);
    mm_seat seat;
    mm_store_result seated = mm_store_take_seat(store, arena, P, "open", "u2", NULL, &seat);
    double took = itest_now_s() - t0;
    assert_int_equal(kill(rp, SIGCONT), 0);
    assert_int_equal(created, MM_STORE_UNAVAILABLE);
    assert_int_equal(seated, MM_STORE_UNAVAILABLE);
    assert_true(took < 2.0); /* two timeouts of 0.5 s, no more */
    usleep(300000);          /* Redis runs what was queued */
    redisReply *r = redisCommand(raw, "HEXISTS __games:" P " late");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    assert_int_equal(sets_of("late"), 0);
    char *doc = hget("__games:" P, "open");
    assert_null(strstr(doc, "u2"));
    free(doc);
    /* and the store works again at once */
    assert_int_equal(mm_store_take_seat(store, arena, P, "open", "u3", NULL, &seat), MM_STORE_OK);
}

/* ---- a proxy in front of Redis that loses one answer ----
 * It passes bytes both ways between one client and Redis's socket; when told to, it drops
 * the next answer from Redis and closes the client's connection, as a Redis that died right
 * after running a command would look to the client. */
typedef struct {
    int listen_fd;
    char path[108];
    volatile int drop_next_answer;
    volatile int stop;
} proxy;

static int unix_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *proxy_run(void *arg)
{
    proxy *p = arg;
    while (!p->stop) {
        struct pollfd lp = {.fd = p->listen_fd, .events = POLLIN};
        if (poll(&lp, 1, 50) <= 0)
            continue;
        int client = accept(p->listen_fd, NULL, NULL);
        int server = unix_connect(itest_env("MM_TEST_REDIS_SOCK"));
        for (int open = client >= 0 && server >= 0; open && !p->stop;) {
            struct pollfd fds[2] = {{.fd = client, .events = POLLIN},
                                    {.fd = server, .events = POLLIN}};
            if (poll(fds, 2, 50) <= 0)
                continue;
            char buf[65536];
            for (int i = 0; i < 2 && open; i++) {
                if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                ssize_t n = read(fds[i].fd, buf, sizeof(buf));
                if (n <= 0 || (i == 1 && p->drop_next_answer)) {
                    p->drop_next_answer = 0;
                    open = 0;
                } else if (write(fds[1 - i].fd, buf, (size_t)n) != n) {
                    open = 0;
                }
            }
        }
        if (client >= 0)
            close(client);
        if (server >= 0)
            close(server);
    }
    return NULL;
}

/* A write whose connection broke after it was sent may have run: it is not sent again (a
 * second run would answer "already joined" to the player who just got the seat). */
static void a_write_is_not_sent_twice_when_its_answer_is_lost(void **state)
{
    (void)state;
    proxy p = {.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0)};
    snprintf(p.path, sizeof(p.path), "%s/proxy.sock", itest_env("MM_TEST_RUN_DIR"));
    unlink(p.path);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p.path);
    assert_int_equal(bind(p.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(p.listen_fd, 8), 0);
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, proxy_run, &p), 0);

    char url[200], err[128];
    snprintf(url, sizeof(url), "unix://%s", p.path);
    mm_redis_url u;
    assert_int_equal(mm_redis_url_parse(url, &u, err, sizeof(err)), MM_OK);
    mm_rconn *c = mm_rconn_new(&u, 500);
    mm_store *st = mm_store_new(c);
    create_published("g1", 3);
    create_published("g2", 3);
    mm_seat seat;
    /* the connection is up and the scripts are loaded */
    assert_int_equal(mm_store_take_seat(st, arena, P, "g1", "u2", NULL, &seat), MM_STORE_OK);
    p.drop_next_answer = 1;
    assert_int_equal(mm_store_take_seat(st, arena, P, "g2", "u2", NULL, &seat),
                     MM_STORE_UNAVAILABLE);
    /* it ran once: the seat is held once, and the next call works */
    char *doc = hget("__games:" P, "g2");
    assert_non_null(strstr(doc, "[\"u1\", \"u2\"]"));
    free(doc);
    assert_int_equal(mm_store_take_seat(st, arena, P, "g2", "u3", NULL, &seat), MM_STORE_OK);
    p.stop = 1;
    pthread_join(tid, NULL);
    mm_store_free(st);
    mm_rconn_free(c);
    close(p.listen_fd);
    unlink(p.path);
}

/* Redis URLs as users write them: an ACL user and a percent-encoded password (AUTH user
 * password), an IPv6 host. The test's Redis listens on a free TCP port for this. */
static void connects_with_an_acl_user_and_an_ipv6_host(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
    int port = ntohs(sa.sin_port);
    close(fd);
    redisReply *r = redisCommand(raw, "CONFIG SET port %d", port);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    freeReplyObject(redisCommand(raw, "ACL SETUSER app on >p@ss:w%%rd ~* &* +@all"));
    char url[160], err[128];
    mm_redis_url u;
    snprintf(url, sizeof(url), "redis://app:p%%40ss%%3Aw%%25rd@127.0.0.1:%d/0", port);
    assert_int_equal(mm_redis_url_parse(url, &u, err, sizeof(err)), MM_OK);
    mm_rconn *c = mm_rconn_new(&u, 500);
    assert_int_equal(mm_rconn_ping(c), MM_OK);
    r = mm_rconn_command(c, "ACL WHOAMI");
    assert_non_null(r);
    assert_string_equal(r->str, "app");
    freeReplyObject(r);
    mm_rconn_free(c);
    /* a wrong password is refused, not ignored */
    snprintf(url, sizeof(url), "redis://app:nope@127.0.0.1:%d/0", port);
    assert_int_equal(mm_redis_url_parse(url, &u, err, sizeof(err)), MM_OK);
    c = mm_rconn_new(&u, 500);
    assert_int_equal(mm_rconn_ping(c), MM_ERR_UNAVAILABLE);
    mm_rconn_free(c);
    /* the loopback over IPv6, where the machine has it */
    int v6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int have_v6 = v6 >= 0 && bind(v6, (struct sockaddr *)&sa6, sizeof(sa6)) == 0;
    if (v6 >= 0)
        close(v6);
    if (have_v6) {
        snprintf(url, sizeof(url), "redis://app:p%%40ss%%3Aw%%25rd@[::1]:%d", port);
        assert_int_equal(mm_redis_url_parse(url, &u, err, sizeof(err)), MM_OK);
        c = mm_rconn_new(&u, 500);
        assert_int_equal(mm_rconn_ping(c), MM_OK);
        mm_rconn_free(c);
    } else {
        print_message("no IPv6 loopback here: the [::1] connection is not tried\n");
    }
    freeReplyObject(redisCommand(raw, "ACL DELUSER app"));
    freeReplyObject(redisCommand(raw, "CONFIG SET port 0"));
}

/* SPEC 14: with redis_min_replicas_ack, a write step is answered only once that many
 * replicas have it; without a replica in time it is unavailable (503 to the player). */
static void writes_wait_for_the_replicas_asked(void **state)
{
    (void)state;
    mm_store_set_min_replicas_ack(store, 1);
    mm_game g = make_game("w1", 2);
    double t0 = itest_now_s();
    assert_int_equal(mm_store_create(store, arena, &g), MM_STORE_UNAVAILABLE);
    double took = itest_now_s() - t0;
    /* WAIT was given half the 500 ms timeout: for the step, then for its taking back */
    assert_true(took >= 0.2 && took < 1.0);
    /* the game the primary took is taken back: no one was answered it (SPEC 10) */
    assert_int_equal(hexists("__games:" P, "w1"), 0);
    assert_int_equal(sets_of("w1"), 0);
    assert_false(is_member("__user_games:" P ":u1", "w1"));
    mm_store_set_min_replicas_ack(store, 0);
    create_published("w2", 3);

    /* a seat, by id and by quick match, likewise: given back, the game listed as before */
    mm_store_set_min_replicas_ack(store, 1);
    mm_seat seat;
    assert_int_equal(mm_store_take_seat(store, arena, P, "w2", "u2", NULL, &seat),
                     MM_STORE_UNAVAILABLE);
    const char *quick_game = NULL;
    assert_int_equal(
        mm_store_quick_seat(store, arena, P, "u3", NULL, NULL, true, &seat, &quick_game),
        MM_STORE_UNAVAILABLE);
    mm_store_set_min_replicas_ack(store, 0);
    mm_stored got;
    assert_int_equal(mm_store_get(store, arena, P, "w2", &got), MM_STORE_OK);
    assert_int_equal(got.game.nplayers, 1);
    assert_int_equal(sets_of("w2"), 2);
    assert_false(is_member("__user_seats:" P ":u2", "w2"));
    assert_false(is_member("__user_seats:" P ":u3", "w2"));
    /* and with the replicas back, the same seat is taken */
    assert_int_equal(mm_store_take_seat(store, arena, P, "w2", "u2", NULL, &seat), MM_STORE_OK);
}

/* SPEC 14: a product on a Redis of its own: its games go there, the others' stay. */
static void each_product_on_its_own_redis(void **state)
{
    (void)state;
    char json[1024], err[256];
    snprintf(
        json, sizeof(json),
        "{\"redis_url\": \"unix://%s?db=0\", \"insecure_dev_secret\": true, \"products\": ["
        "{\"product_id\": \"a\", \"game_server_url\": \"http://h\", \"game_socket_url\": \"s\"},"
        "{\"product_id\": \"b\", \"game_server_url\": \"http://h\", \"game_socket_url\": \"s\","
        " \"redis_url\": \"unix://%s?db=2\"},"
        "{\"product_id\": \"c\", \"game_server_url\": \"http://h\", \"game_socket_url\": \"s\","
        " \"redis_url\": \"unix://%s?db=2\"}]}",
        itest_env("MM_TEST_REDIS_SOCK"), itest_env("MM_TEST_REDIS_SOCK"),
        itest_env("MM_TEST_REDIS_SOCK"));
    mm_config cfg;
    assert_int_equal(mm_config_parse(json, strlen(json), &cfg, err, sizeof(err)), MM_OK);
    mm_store_set *set = mm_store_set_new(&cfg, 500, err, sizeof(err));
    assert_non_null(set);
    assert_int_equal(mm_store_set_count(set), 2); /* b and c share a deployment */
    static const char *const ids[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        mm_game g = make_game("g", 2);
        g.product_id = ids[i];
        assert_int_equal(mm_store_create(mm_store_set_for(set, &cfg.products[i]), arena, &g),
                         MM_STORE_OK);
    }
    redisContext *db2 = itest_redis(2);
    redisReply *r = redisCommand(raw, "EXISTS __games:a __games:b __games:c");
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    r = redisCommand(db2, "EXISTS __games:a __games:b __games:c");
    assert_int_equal(r->integer, 2);
    freeReplyObject(r);
    freeReplyObject(redisCommand(db2, "FLUSHDB"));
    redisFree(db2);
    mm_store_set_free(set);
    mm_config_free(&cfg);
}

static void redis_restart_fails_fast_then_reconnects(void **state)
{
    mm_stored s;
    create_published("g1", 2);
    itest_stack("redis-stop");
    assert_int_equal(mm_store_get(store, arena, P, "g1", &s), MM_STORE_UNAVAILABLE);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g1", "u2", &s), MM_STORE_UNAVAILABLE);
    itest_stack("redis-start");
    /* a fresh server: no data (no persistence), but the store works at once */
    assert_int_equal(mm_store_get(store, arena, P, "g1", &s), MM_STORE_NOT_FOUND);
    create_published("g2", 2);
    assert_int_equal(mm_store_reserve_seat(store, arena, P, "g2", "u2", &s), MM_STORE_OK);
    redisFree(raw);
    raw = itest_redis(0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, fresh)
    const struct CMUnitTest tests[] = {
        T(create_writes_hash_pending_and_wlock),
        T(advance_publishes_then_walks_the_states),
        T(reserve_checks_in_spec_order),
        T(three_player_game_stays_listed_until_full),
        T(scripts_keep_escapes_exact),
        T(take_seat_answers_without_decoding),
        T(replies_built_in_the_arena),
        T(undo_gives_the_seat_back),
        T(reset_drops_a_player_and_relists),
        T(delete_removes_every_key),
        T(get_and_corrupt_documents),
        T(lobby_pages_oldest_first_skipping_missing),
        T(candidates_are_the_oldest_below_the_cutoff),
        T(scripts_are_reloaded_after_a_flush),
        T(fifty_racers_two_seats),
        T(fifty_racers_three_seats),
        T(scripts_keep_settings_byte_for_byte),
        T(scripts_keep_unknown_fields_byte_for_byte),
        T(undo_only_while_the_game_is_as_the_seat_left_it),
        T(writes_reaching_redis_after_their_deadline_are_refused),
        T(a_write_is_not_sent_twice_when_its_answer_is_lost),
        T(connects_with_an_acl_user_and_an_ipv6_host),
        T(writes_wait_for_the_replicas_asked),
        T(each_product_on_its_own_redis),
        T(redis_restart_fails_fast_then_reconnects),
    };
    return cmocka_run_group_tests_name("integration: store on real Redis", tests, setup, teardown);
}
