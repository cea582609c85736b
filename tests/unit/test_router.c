/* Router: pattern matching, placeholders, 404 versus 405 with Allow. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "router.h"

static void h_a(struct mm_app *app, const mm_request *q, const mm_route_params *p, mm_response *r)
{
}
static void h_b(struct mm_app *app, const mm_request *q, const mm_route_params *p, mm_response *r)
{
}

static const mm_route table[] = {
    {"POST", "/game_lobby/{product_id}/create_game", h_a, MM_ROUTE_AUTH, 0, 0},
    {"POST", "/game_lobby/{product_id}/join_game/{game_id}", h_b, MM_ROUTE_AUTH, 0, 0},
    {"GET", "/game_lobby/{product_id}/open_games", h_a, 0, 0, 0},
    {"GET", "/health", h_b, 0, 0, 0},
};

typedef struct {
    const char *method;
    const char *path;
    mm_route_result want;
    int route; /* index in table when found */
    const char *product;
    const char *game;
    const char *allow;
} row;

static const row rows[] = {
    {"GET", "/health", MM_ROUTE_FOUND, 3, NULL, NULL, NULL},
    {"POST", "/health", MM_ROUTE_METHOD_NOT_ALLOWED, 0, NULL, NULL, "GET, OPTIONS"},
    {"GET", "/health/", MM_ROUTE_NOT_FOUND, 0, NULL, NULL, NULL},
    {"GET", "/healthz", MM_ROUTE_NOT_FOUND, 0, NULL, NULL, NULL},
    {"POST", "/game_lobby/exrps/create_game", MM_ROUTE_FOUND, 0, "exrps", NULL, NULL},
    {"GET", "/game_lobby/exrps/create_game", MM_ROUTE_METHOD_NOT_ALLOWED, 0, NULL, NULL,
     "POST, OPTIONS"},
    {"POST", "/game_lobby/exrps/join_game/abc123", MM_ROUTE_FOUND, 1, "exrps", "abc123", NULL},
    /* an empty game id names no game: the path is as unknown as any other (SPEC 10) */
    {"POST", "/game_lobby/exrps/join_game/", MM_ROUTE_NOT_FOUND, 0, NULL, NULL, NULL},
    {"GET", "/game_lobby/exrps/join_game/", MM_ROUTE_NOT_FOUND, 0, NULL, NULL, NULL},
    {"POST", "/game_lobby//join_game/", MM_ROUTE_NOT_FOUND, 0, NULL, NULL, NULL},
    {"GET", "/game_lobby/exrps/join_game/x", MM_ROUTE_METHOD_NOT_ALLOWED, 0, NULL, NULL,
     "POST, OPTIONS"},
    {"POST", "/game_lobby/exrps/join_game", MM_ROUTE_NOT_FOUND, 0, NULL, NULL, NULL},
    {"POST", "/game_lobby/exrps/join_game/a/b", MM_ROUTE_NOT_FOUND, 0, NULL, NULL, NULL},
    {"GET", "/game_lobby/p%2Fq/open_games", MM_ROUTE_FOUND, 2, "p%2Fq", NULL, NULL},
    {"GET", "/game_lobby//open_games", MM_ROUTE_FOUND, 2, "", NULL, NULL},
    {"GET", "/game_lobby/exrps/open_games/", MM_ROUTE_NOT_FOUND, 0, NULL, NULL, NULL},
    {"GET", "", MM_ROUTE_NOT_FOUND, 0, NULL, NULL, NULL},
    {"GET", "/", MM_ROUTE_NOT_FOUND, 0, NULL, NULL, NULL},
    {"DELETE", "/game_lobby/x/open_games", MM_ROUTE_METHOD_NOT_ALLOWED, 0, NULL, NULL,
     "GET, OPTIONS"},
};

static void table_of_paths(void **state)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row *w = &rows[i];
        const mm_route *route = NULL;
        mm_route_params p;
        char allow[MM_ALLOW_MAX];
        mm_route_result got =
            mm_router_match(table, 4, 0, w->method, w->path, strlen(w->path), &route, &p, allow);
        if (got != w->want)
            fail_msg("%s %s: got %d want %d", w->method, w->path, got, w->want);
        if (got == MM_ROUTE_FOUND) {
            assert_ptr_equal(route, &table[w->route]);
            if (w->product == NULL) {
                assert_null(p.product_id);
            } else {
                assert_int_equal(p.product_id_len, strlen(w->product));
                assert_memory_equal(p.product_id, w->product, p.product_id_len);
            }
            if (w->game == NULL) {
                assert_null(p.game_id);
            } else {
                assert_int_equal(p.game_id_len, strlen(w->game));
                assert_memory_equal(p.game_id, w->game, p.game_id_len);
            }
        }
        if (got == MM_ROUTE_METHOD_NOT_ALLOWED)
            assert_string_equal(allow, w->allow);
    }
}

static void path_length_bounds_the_match(void **state)
{
    const mm_route *route;
    mm_route_params p;
    char allow[MM_ALLOW_MAX];
    /* the bytes after path_len (a query string) are not part of the path */
    const char *uri = "/health?x=1";
    assert_int_equal(mm_router_match(table, 4, 0, "GET", uri, 7, &route, &p, allow),
                     MM_ROUTE_FOUND);
    assert_int_equal(mm_router_match(table, 4, 0, "GET", uri, 6, &route, &p, allow),
                     MM_ROUTE_NOT_FOUND);
}

/* A row flagged for the benchmark is routed only when the caller does not leave such
 * rows out: otherwise its path is unknown, not a 405. */
static void flagged_rows_can_be_left_out(void **state)
{
    static const mm_route bench[] = {
        {"GET", "/health", h_a, 0, 0, 0},
        {"GET", "/game_lobby/_bench/noop", h_b, MM_ROUTE_BENCH, 0, 0},
    };
    const mm_route *route = NULL;
    mm_route_params p;
    char allow[MM_ALLOW_MAX];
    const char *noop = "/game_lobby/_bench/noop";
    assert_int_equal(mm_router_match(bench, 2, 0, "GET", noop, strlen(noop), &route, &p, allow),
                     MM_ROUTE_FOUND);
    assert_ptr_equal(route, &bench[1]);
    assert_int_equal(
        mm_router_match(bench, 2, MM_ROUTE_BENCH, "GET", noop, strlen(noop), &route, &p, allow),
        MM_ROUTE_NOT_FOUND);
    assert_int_equal(
        mm_router_match(bench, 2, MM_ROUTE_BENCH, "POST", noop, strlen(noop), &route, &p, allow),
        MM_ROUTE_NOT_FOUND);
    assert_int_equal(
        mm_router_match(bench, 2, MM_ROUTE_BENCH, "GET", "/health", 7, &route, &p, allow),
        MM_ROUTE_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_of_paths),
        cmocka_unit_test(path_length_bounds_the_match),
        cmocka_unit_test(flagged_rows_can_be_left_out),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
