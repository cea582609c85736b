/* Helpers for integration tests: HTTP requests through the test stack's
 * nginx (libcurl over its unix socket), and control of the stack (stopping
 * and starting Redis). The stack is started by with_stack.sh, which exports
 * MM_TEST_NGINX_SOCK, MM_TEST_STACK, MM_TEST_REDIS_SOCK and MM_TEST_GS_URL. */
#ifndef MM_ITEST_H
#define MM_ITEST_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "arena.h"
#include "rconn.h"
#include "store.h"

#define ITEST_SECRET                                                                               \
    "itest-secret-of-thirty-two-bytes-at-least" /* the stack's secret_key (with_stack.sh) */

typedef struct {
    long status;
    char *body; /* NUL-terminated; owned, release with itest_response_free */
    size_t body_len;
    char *headers;  /* the raw response header block */
    double seconds; /* total time of the exchange */
} itest_response;

/* Sends method path through nginx with optional extra header lines (NULL-
 * terminated array, may be NULL) and body (may be NULL). Fails the test on a
 * transport error. */
void itest_request(const char *method, const char *path, const char *const *headers,
                   const char *body, size_t body_len, itest_response *out);
void itest_response_free(itest_response *r);

/* request[0..len) written byte for byte to nginx's socket (it should ask for
 * "Connection: close"), the answer read to EOF and split like itest_request's
 * (seconds: from the connection to EOF). Fails the test on a transport error or
 * an answer that is not HTTP/1.1. */
void itest_raw(const char *request, size_t len, itest_response *out);

/* A new connection to nginx's socket (the caller closes it). */
int itest_nginx_connect(void);

/* The same against the test game server (MM_TEST_GS_URL), e.g. its control
 * API: itest_gs("POST", "/_control/fail", "{...}", &r). */
void itest_gs(const char *method, const char *path, const char *body, itest_response *out);
/* The same against the second test game server of a stack started with
 * MM_GS2_PRODUCT (MM_TEST_GS2_URL). */
void itest_gs2(const char *method, const char *path, const char *body, itest_response *out);
/* POST /_control/fail {"op": op, "mode": mode, ...extra} on the game server. */
void itest_gs_fail(const char *op, const char *mode, const char *extra_json_fields);
/* POST /_control/reset on the game server. */
void itest_gs_reset(void);

/* How many calls of op the game server recorded (needle NULL), or how many
 * times needle appears in their record. */
int itest_gs_calls(const char *op, const char *needle);

/* The value of header name in r (case-insensitive), copied into out; returns
 * 0 when found. */
int itest_header(const itest_response *r, const char *name, char *out, size_t outlen);

/* Runs "stack.sh ACTION" (redis-stop, redis-start, ...); fails the test if it
 * fails. */
void itest_stack(const char *action);

/* A raw connection to the stack's Redis, database db; fails the test when
 * Redis does not answer. */
redisContext *itest_redis(int db);

/* The project's store on a connection of its own to the stack's Redis. */
mm_store *itest_store_open(mm_rconn **conn);

/* Seconds on the monotonic clock; a sleep of s seconds (nothing when s <= 0). */
double itest_now_s(void);
void itest_sleep_s(double s);

/* The fixture of the tests that look at Redis and drive the store directly, in the test
 * file's variables: a raw connection to database 0, the store on a connection of its own,
 * an arena. Open returns 0, or -1 when one is missing (cmocka's group setup fails). */
int itest_fixture_open(redisContext **raw, mm_rconn **conn, mm_store **store, mm_arena **arena);
void itest_fixture_close(redisContext *raw, mm_rconn *conn, mm_store *store, mm_arena *arena);
/* Before each test: Redis emptied (FLUSHALL) and the arena reset. */
void itest_fixture_fresh(redisContext *raw, mm_arena *arena);

/* "Authorization: Bearer <jwt>" for the user, signed with ITEST_SECRET, valid
 * for an hour, with the claims a game portal adds; in a. */
const char *itest_auth(mm_arena *a, const char *user_id, const char *username);

/* POST /game_lobby/{product}/create_game as user with "{}": fails the test unless it
 * answers 200; the new game's id, in a. */
const char *itest_create_game(mm_arena *a, const char *product, const char *user);

/* What a game server reports when the game's creator connects, as it reports it: a
 * state_change entry on the event stream (the worker then lists the game). */
void itest_creator_joined(const char *product, const char *game_id);

/* Stops the test stack's own worker (SIGTERM, by its pid file), for tests that run
 * workers of their own and count what those alone do. */
void itest_stop_stack_worker(void);

/* Environment value that must be set; fails the test otherwise. */
const char *itest_env(const char *name);

/* Waits up to 1 s for a line of the pool's log (fcgi.log of the test stack) that holds
 * needle; copies it (newline included) into line and returns 0, or returns -1. */
int itest_log_line(const char *needle, char *line, size_t cap);

#endif
