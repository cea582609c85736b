/* The live lobby on two nginx hosts sharing their channels through Redis (SPEC 13), run by
 * test_live_hosts.sh: host A is the stack's nginx, to which the pool and the worker
 * publish; host B a second nginx in front of the same pool. A subscriber on either host
 * gets every change, whichever host it was made or published through, and resumes on one
 * host from an id it was given by the other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "itest.h"
#include "sse.h"

#define P "exrps"
#define URL "http://localhost/game_lobby/" P "/lobby_events"
#define WAIT_MS 3000

static mm_arena *arena;

static sse_sub *subscribe(const char *sock, const char *last_event_id)
{
    sse_sub *s = sse_open(sock, URL, last_event_id);
    assert_non_null(s);
    assert_int_equal(sse_status(s, WAIT_MS), 200);
    return s;
}

/* The next message's data, which must hold each of the needles. */
static const char *expect(sse_sub *s, const char *type, const char *game, sse_event *ev)
{
    if (sse_next(s, WAIT_MS, ev) != 0)
        fail_msg("no %s message for %s within %d ms", type, game, WAIT_MS);
    char want[128];
    snprintf(want, sizeof(want), "{\"type\": \"%s\"", type);
    if (strncmp(ev->data, want, strlen(want)) != 0 || strstr(ev->data, game) == NULL)
        fail_msg("expected %s of %s, got %s", type, game, ev->data);
    return mm_arena_strdup(arena, ev->id);
}

static void leave(const char *user, const char *game)
{
    const char *h[] = {itest_auth(arena, user, user), NULL};
    itest_response r;
    itest_request("POST", mm_arena_printf(arena, "/game_lobby/" P "/leave_game/%s", game), h, NULL,
                  0, &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
}

/* Waits until the host on sock takes a subscription: nchan answers 503 until its link to
 * Redis is up, a moment after nginx starts. Any other answer, or 503 for 10 s, fails. */
static int host_ready(const char *name, const char *sock)
{
    double start = itest_now_s();
    for (;;) {
        sse_sub *s = sse_open(sock, URL, NULL);
        long status = s ? sse_status(s, WAIT_MS) : 0;
        sse_close(s);
        if (status == 200) {
            print_message("host %s took a subscription after %.2f s\n", name,
                          itest_now_s() - start);
            return 0;
        }
        if (status != 503 || itest_now_s() - start > 10) {
            print_error("host %s answers a subscription with %ld\n", name, status);
            return -1;
        }
        itest_sleep_s(0.05);
    }
}

static int setup(void **state)
{
    if (host_ready("A", itest_env("MM_TEST_NGINX_SOCK")) != 0 ||
        host_ready("B", itest_env("MM_TEST_HOSTB_SOCK")) != 0)
        return -1;
    arena = mm_arena_new(0);
    return 0;
}

static int teardown(void **state)
{
    mm_arena_free(arena);
    return 0;
}

/* Changes made through host A (the pool and the worker publish there) reach a subscriber
 * on host B, in order; host B refuses an unknown product as host A does. */
static void host_b_sees_what_is_done_through_host_a(void **state)
{
    const char *b = itest_env("MM_TEST_HOSTB_SOCK");
    sse_sub *on_b = subscribe(b, NULL);
    sse_sub *on_a = subscribe(itest_env("MM_TEST_NGINX_SOCK"), NULL);
    const char *game = itest_create_game(arena, P, "hosts-a");
    itest_creator_joined(P, game);
    sse_event ev, ev_a;
    const char *listed = expect(on_b, "listed", game, &ev);
    expect(on_a, "listed", game, &ev_a);
    assert_string_equal(ev_a.id, listed); /* one message, one id, on both hosts */
    leave("hosts-a", game);
    expect(on_b, "unlisted", game, &ev);
    expect(on_a, "unlisted", game, &ev_a);
    sse_close(on_b);
    sse_close(on_a);

    sse_sub *s = sse_open(b, "http://localhost/game_lobby/nosuch/lobby_events", NULL);
    assert_int_equal(sse_status(s, WAIT_MS), 400);
    sse_close(s);
}

/* A message published through host B's publisher reaches host A's subscribers. */
static void host_a_sees_what_is_published_through_host_b(void **state)
{
    sse_sub *on_a = subscribe(itest_env("MM_TEST_NGINX_SOCK"), NULL);
    static const char msg[] = "{\"type\": \"unlisted\", \"product_id\": \"" P "\", \"game_id\": "
                              "\"from-host-b\"}";
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, itest_env("MM_TEST_HOSTB_PUBLISHER"));
    curl_easy_setopt(c, CURLOPT_URL, "http://localhost/lobby/" P);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, msg);
    FILE *devnull = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    assert_true(status >= 200 && status < 300);
    curl_easy_cleanup(c);
    fclose(devnull);
    sse_event ev;
    expect(on_a, "unlisted", "from-host-b", &ev);
    assert_string_equal(ev.data, msg);
    sse_close(on_a);
}

/* A subscriber of host A that comes back on host B (the load balancer sent it elsewhere)
 * gets what it missed. */
static void a_subscriber_resumes_on_the_other_host(void **state)
{
    sse_sub *on_a = subscribe(itest_env("MM_TEST_NGINX_SOCK"), NULL);
    const char *game = itest_create_game(arena, P, "hosts-b");
    itest_creator_joined(P, game);
    sse_event ev;
    const char *seen = expect(on_a, "listed", game, &ev);
    sse_close(on_a);
    leave("hosts-b", game);
    sse_sub *on_b = subscribe(itest_env("MM_TEST_HOSTB_SOCK"), seen);
    expect(on_b, "unlisted", game, &ev);
    sse_close(on_b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_b_sees_what_is_done_through_host_a),
        cmocka_unit_test(host_a_sees_what_is_published_through_host_b),
        cmocka_unit_test(a_subscriber_resumes_on_the_other_host),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, setup, teardown);
}
