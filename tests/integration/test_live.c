/* The live lobby (SPEC 13) through the stack's nginx: subscriptions served by nchan, the
 * messages the pool and the worker publish after each change of what the lobby lists, in
 * order, with ids a subscriber resumes from; private games never published; a publisher
 * that is gone fails no player's request. Run by with_stack.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "itest.h"
#include "sse.h"

#define P "exrps3" /* three seats: a join can leave the game listed */
#define EVENTS "/game_lobby/" P "/lobby_events"
#define WAIT_MS 3000
#define QUIET_MS 400 /* how long "nothing is published" is watched for */

static mm_arena *arena;
static redisContext *events;

static const char *sock(void)
{
    return itest_env("MM_TEST_NGINX_SOCK");
}

static sse_sub *subscribe(const char *product, const char *last_event_id)
{
    char url[256];
    snprintf(url, sizeof(url), "http://localhost/game_lobby/%s/lobby_events", product);
    sse_sub *s = sse_open(sock(), url, last_event_id);
    assert_non_null(s);
    assert_int_equal(sse_status(s, WAIT_MS), 200);
    return s;
}

static const char *post(const char *path, const char *user, const char *body, long want)
{
    const char *h[] = {itest_auth(arena, user, user), NULL};
    itest_response r;
    itest_request("POST", path, h, body, body ? strlen(body) : 0, &r);
    if (r.status != want)
        fail_msg("POST %s as %s: %ld %s", path, user, r.status, r.body);
    const char *copy = mm_arena_strdup(arena, r.body);
    itest_response_free(&r);
    return copy;
}

static const char *create(const char *user, const char *body)
{
    const char *answer = post("/game_lobby/" P "/create_game", user, body, 200);
    json_object *j = json_tokener_parse(answer);
    json_object *id;
    assert_true(json_object_object_get_ex(j, "game_id", &id));
    const char *game = mm_arena_strdup(arena, json_object_get_string(id));
    json_object_put(j);
    return game;
}

static const char *path_of(const char *route, const char *game)
{
    return mm_arena_printf(arena, "/game_lobby/" P "/%s/%s", route, game);
}

/* What a game server reports, as it reports it: an entry on the event stream. */
static void emit(const char *game, const char *type, const char *k, const char *v)
{
    redisReply *r =
        k ? redisCommand(events,
                         "XADD game_event_stream * product_id " P " game_id %s type %s %s %s", game,
                         type, k, v)
          : redisCommand(events, "XADD game_event_stream * product_id " P " game_id %s type %s",
                         game, type);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
}

/* Waits (up to WAIT_MS) until the worker has made the game creator_joined: for a private
 * game, no message says so. */
static void until_creator_joined(const char *game)
{
    redisContext *db = itest_redis(0);
    bool done = false;
    for (int i = 0; i < WAIT_MS / 10 && !done; i++) {
        redisReply *r = redisCommand(db, "HGET __games:" P " %s", game);
        done = r->type == REDIS_REPLY_STRING && strstr(r->str, "\"state\": \"creator_joined\"");
        freeReplyObject(r);
        if (!done)
            usleep(10 * 1000);
    }
    redisFree(db);
    assert_true(done);
}

/* The next message: its type, game and players checked; the game's partial form holds no
 * token, state or _last_updated. Returns the message's id (in the arena). */
static const char *expect(sse_sub *s, const char *type, const char *game, const char *players)
{
    sse_event ev;
    if (sse_next(s, WAIT_MS, &ev) != 0)
        fail_msg("no \"%s\" message for %s within %d ms", type, game, WAIT_MS);
    json_object *j = json_tokener_parse(ev.data);
    if (j == NULL)
        fail_msg("not JSON: %s", ev.data);
    json_object *v;
    assert_true(json_object_object_get_ex(j, "type", &v));
    if (strcmp(json_object_get_string(v), type) != 0)
        fail_msg("expected %s for %s, got %s", type, game, ev.data);
    assert_true(json_object_object_get_ex(j, "product_id", &v));
    assert_string_equal(json_object_get_string(v), P);
    assert_true(json_object_object_get_ex(j, "game_id", &v));
    assert_string_equal(json_object_get_string(v), game);
    json_object *g = NULL;
    bool has_game = json_object_object_get_ex(j, "game", &g);
    if (strcmp(type, "unlisted") == 0) {
        assert_false(has_game);
    } else {
        assert_true(has_game);
        assert_true(json_object_object_get_ex(g, "game_id", &v));
        assert_string_equal(json_object_get_string(v), game);
        assert_false(json_object_object_get_ex(g, "token", NULL));
        assert_false(json_object_object_get_ex(g, "state", NULL));
        assert_false(json_object_object_get_ex(g, "_last_updated", NULL));
        assert_false(json_object_object_get_ex(g, "join_code", NULL));
        assert_true(json_object_object_get_ex(g, "players", &v));
        const char *got = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        if (strcmp(got, players) != 0)
            fail_msg("%s %s: players %s, expected %s", type, game, got, players);
    }
    json_object_put(j);
    return mm_arena_strdup(arena, ev.id);
}

static void expect_nothing(sse_sub *s)
{
    sse_event ev;
    if (sse_next(s, QUIET_MS, &ev) == 0)
        fail_msg("unexpected message: %s", ev.data);
}

static int setup(void **state)
{
    arena = mm_arena_new(0);
    events = itest_redis(1);
    return 0;
}

static int teardown(void **state)
{
    redisFree(events);
    mm_arena_free(arena);
    return 0;
}

/* ---- the subscription ------------------------------------------------------------------- */

static void an_unknown_product_gets_the_api_400(void **state)
{
    sse_sub *s = sse_open(sock(), "http://localhost/game_lobby/nosuch/lobby_events", NULL);
    assert_int_equal(sse_status(s, WAIT_MS), 400);
    assert_true(sse_has_header(s, "access-control-allow-origin: *"));
    sse_close(s);
    const char *accept[] = {"Accept: text/event-stream", NULL};
    itest_response r;
    itest_request("GET", "/game_lobby/nosuch/lobby_events", accept, NULL, 0, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "{\"error\": \"Game Lobby: Invalid product ID.\"}");
    itest_response_free(&r);
    /* not an id at all: the same answer, from the pool's generic route */
    itest_request("GET", "/game_lobby/no.such/lobby_events", accept, NULL, 0, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "{\"error\": \"Game Lobby: Invalid product ID.\"}");
    itest_response_free(&r);
}

static void preflight_methods_and_plain_gets(void **state)
{
    itest_response r;
    char v[256];
    itest_request("OPTIONS", EVENTS, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(itest_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)), 0);
    assert_string_equal(v, "*");
    assert_int_equal(itest_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)), 0);
    assert_string_equal(v, "GET, POST, OPTIONS");
    assert_int_equal(itest_header(&r, "Access-Control-Allow-Headers", v, sizeof(v)), 0);
    assert_non_null(strstr(v, "Last-Event-ID"));
    itest_response_free(&r);
    /* another method: the pool's 405, as on every route */
    itest_request("POST", EVENTS, NULL, "{}", 2, &r);
    assert_int_equal(r.status, 405);
    assert_int_equal(itest_header(&r, "Allow", v, sizeof(v)), 0);
    assert_string_equal(v, "GET, OPTIONS");
    assert_string_equal(r.body, "{\"error\": \"Method not allowed.\"}");
    itest_response_free(&r);
    /* a GET that asks for neither SSE nor a WebSocket */
    itest_request("GET", EVENTS, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 406);
    assert_int_equal(itest_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)), 0);
    json_object *j = json_tokener_parse(r.body);
    assert_true(json_object_object_get_ex(j, "error", NULL));
    json_object_put(j);
    itest_response_free(&r);
    /* the subscription itself */
    sse_sub *s = subscribe(P, NULL);
    assert_true(sse_has_header(s, "content-type: text/event-stream"));
    assert_true(sse_has_header(s, "access-control-allow-origin: *"));
    sse_close(s);
}

/* ---- what is published ------------------------------------------------------------------ */

/* A whole round: create (nothing), the creator connects (the worker lists), joins (updated,
 * then unlisted when full), a disconnect (the worker relists), a guest leaves (updated),
 * the creator leaves (unlisted); ids grow. */
static void every_change_of_the_lobby_is_pushed_in_order(void **state)
{
    sse_sub *s = subscribe(P, NULL);
    const char *game = create("live-a", "{}");
    expect_nothing(s); /* create never lists */
    emit(game, "state_change", "new_state", "creator_joined");
    const char *id1 = expect(s, "listed", game, "[\"live-a\"]");
    post(path_of("join_game", game), "live-b", NULL, 200);
    const char *id2 = expect(s, "updated", game, "[\"live-a\",\"live-b\"]");
    post(path_of("join_game", game), "live-c", NULL, 200);
    expect(s, "unlisted", game, NULL);
    emit(game, "player_disconnect", "player_id", "live-c");
    expect(s, "listed", game, "[\"live-a\",\"live-b\"]");
    post(path_of("leave_game", game), "live-b", NULL, 200);
    expect(s, "updated", game, "[\"live-a\"]");
    post(path_of("leave_game", game), "live-a", NULL, 200);
    const char *last = expect(s, "unlisted", game, NULL);
    assert_true(strcmp(id1, id2) != 0 && strcmp(id2, last) != 0);
    expect_nothing(s);
    sse_close(s);
}

/* The other rows of SPEC 13's table: a quick match's join (updated), a game that starts
 * before it is full (unlisted) and a game the game server removes (unlisted). */
static void quick_match_start_and_removal_are_pushed(void **state)
{
    sse_sub *s = subscribe(P, NULL);
    const char *a = create("live-q1", "{}");
    emit(a, "state_change", "new_state", "creator_joined");
    expect(s, "listed", a, "[\"live-q1\"]");
    post("/game_lobby/" P "/quick_match", "live-q2", NULL, 200);
    expect(s, "updated", a, "[\"live-q1\",\"live-q2\"]");
    emit(a, "state_change", "new_state", "in_progress");
    expect(s, "unlisted", a, NULL);
    const char *b = create("live-r1", "{}");
    emit(b, "state_change", "new_state", "creator_joined");
    expect(s, "listed", b, "[\"live-r1\"]");
    emit(b, "game_removed", NULL, NULL);
    expect(s, "unlisted", b, NULL);
    expect_nothing(s);
    sse_close(s);
}

static void private_games_are_never_published(void **state)
{
    sse_sub *s = subscribe(P, NULL);
    const char *answer =
        post("/game_lobby/" P "/create_game", "live-p", "{\"private\": true}", 200);
    json_object *j = json_tokener_parse(answer), *v;
    assert_true(json_object_object_get_ex(j, "game_id", &v));
    const char *game = mm_arena_strdup(arena, json_object_get_string(v));
    assert_true(json_object_object_get_ex(j, "join_code", &v));
    const char *code = mm_arena_strdup(arena, json_object_get_string(v));
    json_object_put(j);
    emit(game, "state_change", "new_state", "creator_joined");
    until_creator_joined(game);
    post(mm_arena_printf(arena, "/game_lobby/" P "/join_by_code/%s", code), "live-q", NULL, 200);
    post(path_of("leave_game", game), "live-q", NULL, 200);
    post(path_of("leave_game", game), "live-p", NULL, 200);
    /* then a public game: the first message is its */
    const char *open = create("live-r", NULL);
    emit(open, "state_change", "new_state", "creator_joined");
    expect(s, "listed", open, "[\"live-r\"]");
    post(path_of("leave_game", open), "live-r", NULL, 200);
    expect(s, "unlisted", open, NULL);
    sse_close(s);
}

/* A subscriber that comes back with the id of the last message it had gets what it missed,
 * in order; a new one gets only what follows its subscription. */
static void a_subscriber_resumes_from_its_last_event_id(void **state)
{
    sse_sub *s = subscribe(P, NULL);
    const char *game = create("live-d", NULL);
    emit(game, "state_change", "new_state", "creator_joined");
    const char *seen = expect(s, "listed", game, "[\"live-d\"]");
    sse_close(s);
    post(path_of("join_game", game), "live-e", NULL, 200);
    post(path_of("leave_game", game), "live-e", NULL, 200);
    post(path_of("leave_game", game), "live-d", NULL, 200);
    sse_sub *back = subscribe(P, seen);
    expect(back, "updated", game, "[\"live-d\",\"live-e\"]");
    expect(back, "updated", game, "[\"live-d\"]");
    expect(back, "unlisted", game, NULL);
    expect_nothing(back);
    sse_close(back);
    sse_sub *fresh = subscribe(P, NULL);
    expect_nothing(fresh);
    sse_close(fresh);
}

static void a_websocket_gets_the_same_messages(void **state)
{
    ws_sub *w = ws_open(sock(), EVENTS);
    assert_non_null(w);
    sse_sub *s = subscribe(P, NULL);
    const char *game = create("live-w", NULL);
    emit(game, "state_change", "new_state", "creator_joined");
    sse_event ev;
    assert_int_equal(sse_next(s, WAIT_MS, &ev), 0);
    const char *msg = ws_next(w, WAIT_MS);
    assert_non_null(msg);
    assert_string_equal(msg, ev.data);
    assert_non_null(strstr(msg, "\"type\": \"listed\""));
    post(path_of("leave_game", game), "live-w", NULL, 200);
    assert_int_equal(sse_next(s, WAIT_MS, &ev), 0);
    msg = ws_next(w, WAIT_MS);
    assert_non_null(msg);
    assert_string_equal(msg, ev.data);
    sse_close(s);
    ws_close(w);
}

/* ---- a publisher that is gone ----------------------------------------------------------- */

static long metric(const char *needle)
{
    itest_response r;
    itest_request("GET", "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    const char *line = strstr(r.body, needle);
    long v = line ? strtol(line + strlen(needle), NULL, 10) : -1;
    itest_response_free(&r);
    return v;
}

/* nginx re-reads its configuration: the programs' kept-alive connections to the old
 * workers are closed, so their next publish connects again. */
static void reload_nginx(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/nginx.pid", itest_env("MM_TEST_RUN_DIR"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long pid = 0;
    assert_int_equal(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    assert_int_equal(kill((pid_t)pid, SIGHUP), 0);
    usleep(600 * 1000); /* the new workers start, the old ones finish */
}

static void a_publish_failure_fails_no_request(void **state)
{
    const char *dir = itest_env("MM_TEST_RUN_DIR");
    char live[512], away[512];
    snprintf(live, sizeof(live), "%s/live.sock", dir);
    snprintf(away, sizeof(away), "%s/live.sock.away", dir);
    const char *failed = "matchmaker_lobby_publish_total{result=\"failed\"} ";
    long before = metric(failed);
    long published = metric("matchmaker_lobby_publish_total{result=\"published\"} ");
    assert_true(before >= 0 && published >= 0);
    /* the publisher's socket disappears (nginx keeps listening on the moved one) */
    assert_int_equal(rename(live, away), 0);
    reload_nginx();
    const char *game = create("live-f", NULL);
    emit(game, "state_change", "new_state", "creator_joined"); /* the worker's fails too */
    until_creator_joined(game);
    post(path_of("join_game", game), "live-g", NULL, 200); /* updated: not published */
    post(path_of("leave_game", game), "live-g", NULL, 200);
    post(path_of("leave_game", game), "live-f", NULL, 200);
    assert_int_equal(metric(failed) - before, 3);
    char line[1024];
    assert_int_equal(itest_log_line("msg=\"lobby change not published\"", line, sizeof(line)), 0);
    assert_non_null(strstr(line, "product=" P));
    /* back: publishing works again */
    assert_int_equal(rename(away, live), 0);
    reload_nginx();
    sse_sub *s = subscribe(P, NULL);
    const char *again = create("live-h", NULL);
    emit(again, "state_change", "new_state", "creator_joined");
    expect(s, "listed", again, "[\"live-h\"]");
    post(path_of("leave_game", again), "live-h", NULL, 200);
    expect(s, "unlisted", again, NULL);
    sse_close(s);
    assert_int_equal(metric(failed) - before, 3);
    /* counted when written: the leave's publish is in already */
    assert_true(metric("matchmaker_lobby_publish_total{result=\"published\"} ") > published);
}

/* ---- subscriptions held per address (matchmaker-live.conf) ---- */
#define LIVE_PER_ADDRESS 32

/* A subscription from address (X-Forwarded-For through the stack's unix socket, taken as
 * the client's address as from a trusted balancer) on a raw connection: the answer's status
 * once its head is in (0: none within 3 s), the head and what followed in buf. */
static long raw_subscribe(const char *address, int *fd_out, char *buf, size_t cap)
{
    int fd = itest_nginx_connect();
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET " EVENTS " HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
                     "X-Forwarded-For: %s\r\n\r\n",
                     address);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    size_t got = 0;
    buf[0] = '\0';
    while (got + 1 < cap && strstr(buf, "\r\n\r\n") == NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 3000) != 1)
            break;
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        buf[got] = '\0';
    }
    /* a refusal's body follows its head: read it too */
    if (strncmp(buf, "HTTP/1.1 429", 12) == 0 && strchr(buf, '}') == NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;
        if (poll(&p, 1, 1000) == 1 && (r = recv(fd, buf + got, cap - 1 - got, 0)) > 0)
            buf[got + (size_t)r] = '\0';
    }
    long status = 0;
    sscanf(buf, "HTTP/1.1 %ld", &status);
    *fd_out = fd;
    return status;
}

/* One address holds at most LIVE_PER_ADDRESS subscriptions: the next is refused at once with
 * the API's 429 JSON, another address is served, and a place given up is taken again. */
static void subscriptions_held_per_address_are_limited(void **state)
{
    (void)state;
    int fds[LIVE_PER_ADDRESS], extra;
    char buf[2048];
    for (int i = 0; i < LIVE_PER_ADDRESS; i++)
        if (raw_subscribe("198.51.100.30", &fds[i], buf, sizeof(buf)) != 200)
            fail_msg("subscription %d of one address refused: %.200s", i + 1, buf);
    assert_int_equal(raw_subscribe("198.51.100.30", &extra, buf, sizeof(buf)), 429);
    if (strstr(buf, "{\"error\": \"Too many requests.\"}") == NULL ||
        strstr(buf, "Access-Control-Allow-Origin: *") == NULL)
        fail_msg("the refusal is not the API's 429: %.400s", buf);
    close(extra);
    assert_int_equal(raw_subscribe("198.51.100.31", &extra, buf, sizeof(buf)), 200);
    close(extra);
    close(fds[0]);
    long status = 0;
    for (int attempt = 0; attempt < 50 && status != 200; attempt++) {
        usleep(20000);
        status = raw_subscribe("198.51.100.30", &fds[0], buf, sizeof(buf));
        if (status != 200)
            close(fds[0]);
    }
    assert_int_equal(status, 200);
    for (int i = 0; i < LIVE_PER_ADDRESS; i++)
        close(fds[i]);
    /* a subscription whose client address comes from X-Forwarded-For once crashed nginx's
     * worker (nchan's authorization request and the realip module): none did */
    char path[512], line[512];
    snprintf(path, sizeof(path), "%s/nginx-error.log", itest_env("MM_TEST_RUN_DIR"));
    FILE *log = fopen(path, "r");
    assert_non_null(log);
    while (fgets(line, sizeof(line), log) != NULL)
        if (strstr(line, "exited on signal") != NULL)
            fail_msg("nginx: %s", line);
    fclose(log);
    print_message("subscriptions: %d held from one address, the next refused 429, another "
                  "address served\n",
                  LIVE_PER_ADDRESS);
}

/* Subscriptions start at the API's per-address rate (20/s, a burst of 40): one address
 * subscribing and leaving in a tight loop is refused with the API's 429 within the burst
 * and a little more, and another address is not. */
static void subscriptions_start_at_the_api_rate(void **state)
{
    (void)state;
    char buf[2048];
    int fd, refused_at = 0;
    for (int i = 1; i <= 100 && refused_at == 0; i++) {
        long status = raw_subscribe("198.51.100.32", &fd, buf, sizeof(buf));
        close(fd);
        if (status == 429)
            refused_at = i;
        else if (status != 200)
            fail_msg("subscription %d: %.200s", i, buf);
    }
    print_message("subscriptions: the %dth in a row from one address refused for the rate\n",
                  refused_at);
    assert_true(refused_at > 40 && refused_at <= 80);
    if (strstr(buf, "{\"error\": \"Too many requests.\"}") == NULL)
        fail_msg("the refusal is not the API's 429: %.400s", buf);
    assert_int_equal(raw_subscribe("198.51.100.33", &fd, buf, sizeof(buf)), 200);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_unknown_product_gets_the_api_400),
        cmocka_unit_test(preflight_methods_and_plain_gets),
        cmocka_unit_test(every_change_of_the_lobby_is_pushed_in_order),
        cmocka_unit_test(quick_match_start_and_removal_are_pushed),
        cmocka_unit_test(private_games_are_never_published),
        cmocka_unit_test(a_subscriber_resumes_from_its_last_event_id),
        cmocka_unit_test(a_websocket_gets_the_same_messages),
        cmocka_unit_test(subscriptions_held_per_address_are_limited),
        cmocka_unit_test(subscriptions_start_at_the_api_rate),
        cmocka_unit_test(a_publish_failure_fails_no_request),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
