/* /health and the routes that do not exist, through nginx to the FastCGI
 * pool, with Redis up, down and back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

static void health_ok_when_redis_answers(void **state)
{
    itest_response r;
    itest_request("GET", "/health", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    char v[256];
    assert_int_equal(itest_header(&r, "Content-Type", v, sizeof(v)), 0);
    assert_string_equal(v, "application/json");
    assert_int_equal(itest_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)), 0);
    assert_string_equal(v, "*");
    assert_int_equal(itest_header(&r, "X-Request-Id", v, sizeof(v)), 0);
    assert_int_equal(strlen(v), 32);
    itest_response_free(&r);
}

static void health_503_while_redis_is_down_then_200(void **state)
{
    itest_stack("redis-stop");
    /* every process of the pool must notice, not just one */
    for (int i = 0; i < 6; i++) {
        itest_response r;
        itest_request("GET", "/health", NULL, NULL, 0, &r);
        assert_int_equal(r.status, 503);
        assert_string_equal(r.body, "{\"status\":\"unavailable\"}");
        assert_true(r.seconds < 2.0);
        itest_response_free(&r);
    }
    itest_stack("redis-start");
    for (int i = 0; i < 6; i++) {
        itest_response r;
        itest_request("GET", "/health", NULL, NULL, 0, &r);
        assert_int_equal(r.status, 200);
        itest_response_free(&r);
    }
}

static void unknown_lobby_path_is_json_404(void **state)
{
    static const char *const paths[] = {
        "/game_lobby/",
        "/game_lobby/exrps",
        "/game_lobby/exrps/nope",
        "/game_lobby/exrps/open_games/extra",
        "/game_lobby/../health",
        /* the benchmark's no-op route: off unless the config enables it */
        "/game_lobby/_bench/noop",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        itest_response r;
        itest_request("GET", paths[i], NULL, NULL, 0, &r);
        assert_int_equal(r.status, 404);
        assert_string_equal(r.body, "{\"error\": \"Not found.\"}");
        itest_response_free(&r);
    }
}

static void wrong_method_on_health_is_405_with_allow(void **state)
{
    itest_response r;
    itest_request("POST", "/health", NULL, "{}", 2, &r);
    assert_int_equal(r.status, 405);
    char v[256];
    assert_int_equal(itest_header(&r, "Allow", v, sizeof(v)), 0);
    assert_string_equal(v, "GET, OPTIONS");
    itest_response_free(&r);
}

static void preflight_on_lobby_path_is_204(void **state)
{
    itest_response r;
    itest_request("OPTIONS", "/game_lobby/exrps/create_game", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 204);
    char v[256];
    assert_int_equal(itest_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)), 0);
    assert_string_equal(v, "GET, POST, OPTIONS");
    assert_int_equal(itest_header(&r, "Access-Control-Allow-Headers", v, sizeof(v)), 0);
    assert_string_equal(v, "Authorization, Content-Type");
    itest_response_free(&r);
}

static void body_over_64k_is_413_json(void **state)
{
    static char big[64 * 1024 + 1];
    memset(big, 'x', sizeof(big));
    itest_response r;
    itest_request("POST", "/game_lobby/exrps/create_game", NULL, big, sizeof(big), &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "\"error\""));
    itest_response_free(&r);
}

/* The access log has one key=value line per request, UTC timestamp and
 * level first, with the request id the client got in X-Request-Id. */
static void access_log_line_carries_the_request_id(void **state)
{
    itest_response r;
    itest_request("GET", "/game_lobby/exrps/open_games?count=2", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    char rid[128], want[192], line[4096];
    assert_int_equal(itest_header(&r, "X-Request-Id", rid, sizeof(rid)), 0);
    itest_response_free(&r);
    snprintf(want, sizeof(want), " rid=%s", rid);
    if (itest_log_line(want, line, sizeof(line)) != 0)
        fail_msg("no log line with%s", want);
    assert_true(strncmp(line, "ts=20", 5) == 0);
    assert_non_null(strstr(line, "Z level=info prog=matchmaker-fcgi pid="));
    assert_non_null(strstr(line, " msg=request method=GET path=\"/game_lobby/exrps/open_games\" "
                                 "status=200 ms="));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_ok_when_redis_answers),
        cmocka_unit_test(access_log_line_carries_the_request_id),
        cmocka_unit_test(unknown_lobby_path_is_json_404),
        cmocka_unit_test(wrong_method_on_health_is_405_with_allow),
        cmocka_unit_test(preflight_on_lobby_path_is_204),
        cmocka_unit_test(body_over_64k_is_413_json),
        cmocka_unit_test(health_503_while_redis_is_down_then_200),
    };
    return cmocka_run_group_tests_name("integration: health and routing", tests, NULL, NULL);
}
