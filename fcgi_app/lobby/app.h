/* lobby/ -- matchmaker-fcgi; uses core and store, never worker (fcgi_app/README.md).
 * The FastCGI application: what a process holds for its whole life (config,
 * Redis connection) and the dispatcher that turns one mm_request into one
 * mm_response: routing, CORS preflight, product-id checks, then the handler.
 * mm_app_init/mm_app_free own everything in struct mm_app. */
#ifndef MM_APP_H
#define MM_APP_H

#include "config.h"
#include "doc_cache.h"
#include "game_server_client.h"
#include "http.h"
#include "lobby_publisher.h"
#include "pool_metrics.h"
#include "rconn.h"
#include "router.h"
#include "store.h"
#include "store_set.h"

typedef struct mm_app {
    mm_config cfg;
    mm_store_set *stores; /* one per Redis deployment (SPEC 14: products may have their own) */
    mm_gs_client *gs;
    mm_metrics *metrics;
    unsigned long redis_errors_counted;
    mm_doc_cache *doc_cache;           /* open_games: document -> partial form */
    mm_lobby_publisher *publisher;     /* the store's lobby changes -> nginx (SPEC 13) */
    mm_publish_counts publish_counted; /* what the pool's metrics have of them */
} mm_app;

/* Takes ownership of cfg (moved into app). */
mm_status mm_app_init(mm_app *app, mm_config *cfg, char *err, size_t errlen);
void mm_app_free(mm_app *app);

/* Answers req into res; always produces a complete response. *kind says
 * which endpoint and product it was, for the metrics. */
void mm_app_handle(mm_app *app, const mm_request *req, mm_response *res, mm_request_kind *kind);

/* Counts a finished request (with the Redis errors it met) in the metrics. */
void mm_app_count(mm_app *app, const mm_request_kind *kind, int status, int64_t duration_us);

/* The store of the product's games. */
mm_store *mm_app_store(const mm_app *app, const mm_product *p);

/* The answer to a store failure that is not the request's fault: 503 when
 * Redis is unreachable, else 500 (logged). */
void mm_app_store_error(const mm_request *req, mm_store_result r, mm_response *res);

/* The route table every request is matched against (router.h), with its handlers: app.c
 * says what each row holds. The fuzzer of the router reads it too. */
extern const mm_route mm_app_routes[];
extern const size_t mm_app_nroutes;

/* Handlers (one file each, named after the route). */
void mm_handle_health(mm_app *app, const mm_request *req, const mm_route_params *params,
                      mm_response *res);
void mm_handle_create_game(mm_app *app, const mm_request *req, const mm_route_params *params,
                           mm_response *res);
void mm_handle_join_game(mm_app *app, const mm_request *req, const mm_route_params *params,
                         mm_response *res);
void mm_handle_metrics(mm_app *app, const mm_request *req, const mm_route_params *params,
                       mm_response *res);
void mm_handle_open_games(mm_app *app, const mm_request *req, const mm_route_params *params,
                          mm_response *res);
void mm_handle_bench_noop(mm_app *app, const mm_request *req, const mm_route_params *params,
                          mm_response *res);
void mm_handle_quick_match(mm_app *app, const mm_request *req, const mm_route_params *params,
                           mm_response *res);
void mm_handle_join_by_code(mm_app *app, const mm_request *req, const mm_route_params *params,
                            mm_response *res);
void mm_handle_leave_game(mm_app *app, const mm_request *req, const mm_route_params *params,
                          mm_response *res);
void mm_handle_lobby_events(mm_app *app, const mm_request *req, const mm_route_params *params,
                            mm_response *res);

#endif
