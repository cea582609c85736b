/* Routing: a table of routes (method, path pattern, handler, flags) and the
 * pure matcher that maps a method and path to one of them. Patterns are
 * literal segments and the placeholders {product_id} and {game_id}; ids are
 * matched as whole segments (a game id never empty) and validated by the
 * dispatcher, not here. */
#ifndef MM_ROUTER_H
#define MM_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http.h"
#include "jwt.h"

struct mm_app;

typedef struct {
    const char *product_id; /* NULL when the pattern has none */
    size_t product_id_len;
    const char *game_id;
    size_t game_id_len;
    /* set by the dispatcher before the handler runs */
    const mm_product *product; /* the registered product, when the path names one */
    const mm_jwt_claims *user; /* the verified caller, on routes that need auth */
    const char *body;          /* the request body (NUL-terminated), on routes that read it */
    size_t body_len;
} mm_route_params;

typedef void (*mm_handler)(struct mm_app *app, const mm_request *req, const mm_route_params *params,
                           mm_response *res);

/* Route flags. */
#define MM_ROUTE_AUTH 1u       /* the caller must present a valid token */
#define MM_ROUTE_BENCH 2u      /* the benchmark's no-op: routed only when the configuration asks */
#define MM_ROUTE_IDEMPOTENT 4u /* honours Idempotency-Key (SPEC 12) */

typedef struct {
    const char *method;  /* "GET", "POST" */
    const char *pattern; /* "/game_lobby/{product_id}/join_game/{game_id}" */
    mm_handler handler;
    unsigned flags; /* MM_ROUTE_* */
    /* The most bytes of request body the handler reads: the dispatcher reads a body of
     * up to that size into the request's arena before the handler runs. 0: the body is
     * not read (nor held in memory) at all. */
    uint32_t body_max;
    int endpoint; /* the caller's label for the route (metrics) */
} mm_route;

typedef enum {
    MM_ROUTE_FOUND,
    MM_ROUTE_NOT_FOUND,
    MM_ROUTE_METHOD_NOT_ALLOWED /* the path matched, the method did not */
} mm_route_result;

#define MM_ALLOW_MAX 64

/* Finds the route for method and path among the n rows of table, leaving out rows with
 * any of the flags in absent (those paths are then as unknown as any other). On
 * MM_ROUTE_FOUND, *route and *params are set; on MM_ROUTE_METHOD_NOT_ALLOWED, allow holds
 * e.g. "GET, OPTIONS". */
mm_route_result mm_router_match(const mm_route *table, size_t n, unsigned absent,
                                const char *method, const char *path, size_t path_len,
                                const mm_route **route, mm_route_params *params,
                                char allow[MM_ALLOW_MAX]);

#endif
