#include "app.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "game_request.h"
#include "idempotency.h"
#include "ids.h"
#include "log.h"

/* Every route the process answers: method, path, handler, flags (MM_ROUTE_AUTH: the
 * caller must be authenticated; MM_ROUTE_BENCH: the benchmark's no-op, routed only when
 * the configuration enables it, otherwise its path is as unknown as any other), how much
 * request body the handler reads (0: none; the body is then drained unread), metrics
 * label. Validation that all routes share (ids, product lookup, preflight, 404/405, auth,
 * the body) is done once in mm_app_handle. */
#define WRITES (MM_ROUTE_AUTH | MM_ROUTE_IDEMPOTENT) /* the routes that change games */

const mm_route mm_app_routes[] = {
    {"GET", "/health", mm_handle_health, 0, 0, MM_EP_HEALTH},
    {"GET", "/metrics", mm_handle_metrics, 0, 0, MM_EP_METRICS},
    {"POST", "/game_lobby/{product_id}/create_game", mm_handle_create_game, WRITES, MM_MAX_BODY,
     MM_EP_CREATE_GAME},
    {"POST", "/game_lobby/{product_id}/join_game/{game_id}", mm_handle_join_game, WRITES, 0,
     MM_EP_JOIN_GAME},
    {"POST", "/game_lobby/{product_id}/quick_match", mm_handle_quick_match, WRITES, MM_MAX_BODY,
     MM_EP_QUICK_MATCH},
    /* {game_id} takes the code: a segment of the path, as an id is */
    {"POST", "/game_lobby/{product_id}/join_by_code/{game_id}", mm_handle_join_by_code, WRITES, 0,
     MM_EP_JOIN_BY_CODE},
    {"POST", "/game_lobby/{product_id}/leave_game/{game_id}", mm_handle_leave_game, WRITES, 0,
     MM_EP_LEAVE_GAME},
    {"GET", "/game_lobby/{product_id}/open_games", mm_handle_open_games, 0, 0, MM_EP_OPEN_GAMES},
    /* nginx serves the subscription itself (nchan); it asks here whether the product exists */
    {"GET", "/game_lobby/{product_id}/lobby_events", mm_handle_lobby_events, 0, 0,
     MM_EP_LOBBY_EVENTS},
    {"GET", "/game_lobby/_bench/noop", mm_handle_bench_noop, MM_ROUTE_BENCH, 0, MM_EP_BENCH},
};
const size_t mm_app_nroutes = MM_ARRAY_LEN(mm_app_routes);

mm_status mm_app_init(mm_app *app, mm_config *cfg, char *err, size_t errlen)
{
    memset(app, 0, sizeof(*app));
    app->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    app->stores = mm_store_set_new(&app->cfg, app->cfg.redis_timeout_ms, err, errlen);
    if (app->stores == NULL)
        return MM_ERR_INVALID;
    app->gs = mm_gs_client_new(app->cfg.game_server_connect_timeout_ms,
                               app->cfg.game_server_timeout_ms, mm_breaker_open_pool(&app->cfg));
    app->doc_cache = mm_doc_cache_new();
    app->publisher =
        mm_lobby_publisher_new(app->cfg.lobby_publisher, app->cfg.lobby_publish_timeout_ms);
    if (app->publisher != NULL)
        mm_store_set_observe(app->stores, mm_lobby_publisher_observe, app->publisher);
    char warning[512];
    app->metrics = mm_metrics_open(app->cfg.metrics_file, &app->cfg, warning, sizeof(warning));
    if (app->gs == NULL || app->doc_cache == NULL || app->metrics == NULL ||
        app->publisher == NULL) {
        snprintf(err, errlen, "out of memory");
        return MM_ERR_NOMEM;
    }
    if (!mm_metrics_shared(app->metrics))
        mm_log_warn("msg=\"metrics cover this process only\" reason=\"%s\"", warning);
    return MM_OK;
}

void mm_app_free(mm_app *app)
{
    mm_metrics_close(app->metrics);
    mm_lobby_publisher_free(app->publisher);
    mm_doc_cache_free(app->doc_cache);
    mm_gs_client_free(app->gs);
    mm_store_set_free(app->stores);
    mm_config_free(&app->cfg);
    memset(app, 0, sizeof(*app));
}

static bool under_lobby(const mm_request *req)
{
    static const char prefix[] = "/game_lobby/";
    return req->path_len >= sizeof(prefix) - 1 &&
           memcmp(req->path, prefix, sizeof(prefix) - 1) == 0;
}

/* A write with an Idempotency-Key (SPEC 12): run once per user, route and key; a retry
 * gets the first answer, a retry while the first runs a 409. */
static void handle_once(mm_app *app, const mm_request *req, const mm_route *route,
                        const mm_route_params *params, mm_response *res)
{
    const char *key = req->idempotency_key;
    if (!mm_idem_key_valid(key)) {
        mm_response_error(res, req->arena, 400, "Invalid Idempotency-Key.");
        return;
    }
    int status;
    const char *body;
    size_t len;
    mm_store *store = mm_app_store(app, params->product);
    switch (mm_idem_begin(store, req->arena, key, req->path, req->path_len, params->user->user_id,
                          &status, &body, &len)) {
    case MM_IDEM_PROCEED: break;
    case MM_IDEM_REPLAY:
        mm_response_json(res, status, body, len);
        res->log_fields = "idempotent=replayed";
        return;
    case MM_IDEM_RUNNING:
        mm_response_error(res, req->arena, 409, "Request already in progress.");
        return;
    case MM_IDEM_UNAVAILABLE:
        mm_response_error(res, req->arena, 503, "Service temporarily unavailable.");
        return;
    }
    route->handler(app, req, params, res);
    mm_idem_finish(store, req->arena, key, req->path, req->path_len, params->user->user_id,
                   res->status, res->body, res->body_len);
}

void mm_app_handle(mm_app *app, const mm_request *req, mm_response *res, mm_request_kind *kind)
{
    memset(res, 0, sizeof(*res));
    memset(kind, 0, sizeof(*kind));
    kind->endpoint = MM_EP_OTHER;
    if (strcmp(req->method, "OPTIONS") == 0 && under_lobby(req)) {
        kind->endpoint = MM_EP_PREFLIGHT;
        res->status = 204;
        mm_response_add_header(res, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        mm_response_add_header(res, "Access-Control-Allow-Headers",
                               "Authorization, Content-Type, Idempotency-Key");
        return;
    }
    const mm_route *route = NULL;
    mm_route_params params;
    char allow[MM_ALLOW_MAX];
    unsigned absent = app->cfg.bench_noop_route ? 0 : MM_ROUTE_BENCH;
    switch (mm_router_match(mm_app_routes, mm_app_nroutes, absent, req->method, req->path,
                            req->path_len, &route, &params, allow)) {
    case MM_ROUTE_NOT_FOUND: mm_response_error(res, req->arena, 404, "Not found."); return;
    case MM_ROUTE_METHOD_NOT_ALLOWED: {
        char *a = mm_arena_strdup(req->arena, allow);
        mm_response_error(res, req->arena, 405, "Method not allowed.");
        if (a != NULL)
            mm_response_add_header(res, "Allow", a);
        return;
    }
    case MM_ROUTE_FOUND: break;
    }
    kind->endpoint = (mm_endpoint)route->endpoint;
    if (params.product_id != NULL) {
        if (mm_id_valid(params.product_id, params.product_id_len))
            params.product = mm_config_product(&app->cfg, params.product_id, params.product_id_len);
        kind->product = params.product;
        kind->unknown_product = params.product == NULL;
        if (params.product == NULL) {
            mm_response_error(res, req->arena, 400, "Game Lobby: Invalid product ID.");
            return;
        }
    }
    mm_jwt_claims user;
    if ((route->flags & MM_ROUTE_AUTH)) {
        if (req->authorization == NULL) {
            mm_response_error(res, req->arena, 401, "Game Lobby: Not authorized.");
            return;
        }
        const char *secret = app->cfg.secret_key;
        mm_jwt_result jr = mm_jwt_verify_header(
            req->arena, req->authorization, strlen(req->authorization),
            (const unsigned char *)secret, strlen(secret), (int64_t)time(NULL), &user);
        if (jr == MM_JWT_NOMEM) {
            mm_response_error(res, req->arena, 500, "Internal error.");
            return;
        }
        if (jr != MM_JWT_OK) {
            mm_log_info("msg=\"token refused\" reason=%s", mm_jwt_result_name(jr));
            mm_response_error(res, req->arena, 401,
                              "Game Lobby: Unable to fetch user profile for user. Relog may be "
                              "required.");
            return;
        }
        params.user = &user;
    }
    if (route->body_max > 0) {
        switch (mm_request_read_body(req, route->body_max, &params.body, &params.body_len)) {
        case MM_OK: break;
        case MM_ERR_TOO_LARGE:
            mm_response_error(res, req->arena, 413, "Request body too large.");
            return;
        case MM_ERR_NOMEM: mm_response_error(res, req->arena, 500, "Internal error."); return;
        default: mm_response_error(res, req->arena, 400, "Invalid request body."); return;
        }
    }
    if ((route->flags & MM_ROUTE_IDEMPOTENT) && req->idempotency_key != NULL)
        handle_once(app, req, route, &params, res);
    else
        route->handler(app, req, &params, res);
}

mm_store *mm_app_store(const mm_app *app, const mm_product *p)
{
    return mm_store_set_for(app->stores, p);
}

void mm_app_store_error(const mm_request *req, mm_store_result r, mm_response *res)
{
    if (r == MM_STORE_UNAVAILABLE || r == MM_STORE_NO_MEMORY) {
        mm_response_error(res, req->arena, 503, "Service temporarily unavailable.");
        return;
    }
    mm_log_error("msg=\"store failed\" result=%s", mm_store_result_name(r));
    mm_response_error(res, req->arena, 500, "Internal error.");
}

void mm_app_count(mm_app *app, const mm_request_kind *kind, int status, int64_t duration_us)
{
    /* Redis errors are counted by the connection; the pool's counter gets
     * what this process has added since its last request. */
    unsigned long errors = 0;
    for (size_t i = 0; i < mm_store_set_count(app->stores); i++)
        errors += mm_rconn_errors(mm_store_set_conn(app->stores, i));
    mm_metrics_redis_errors(app->metrics, errors - app->redis_errors_counted);
    app->redis_errors_counted = errors;
    mm_publish_counts pc;
    mm_lobby_publisher_counts(app->publisher, &pc);
    mm_metrics_lobby_published(app->metrics, pc.published - app->publish_counted.published,
                               pc.failed - app->publish_counted.failed,
                               pc.unconfirmed - app->publish_counted.unconfirmed);
    app->publish_counted = pc;
    mm_metrics_request(app->metrics, kind, status, duration_us);
}
