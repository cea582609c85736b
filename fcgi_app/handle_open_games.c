/* GET /game_lobby/{product_id}/open_games?count=N&page=P: one page of the
 * lobby, oldest first, in the partial form (no token, state, _last_updated). */
#include <string.h>

#include "app.h"
#include "query.h"
#include "store.h"

/* Reads one optional page parameter; false when present but not valid. */
static bool page_param(const mm_request *req, const char *name, long def, long *out)
{
    const char *v;
    size_t len;
    *out = def;
    if (!mm_query_param(req->query, name, &v, &len))
        return true;
    return mm_query_uint(v, len, out);
}

void mm_handle_open_games(mm_app *app, const mm_request *req, const mm_route_params *params,
                          mm_response *res)
{
    long count, page;
    if (!page_param(req, "count", app->cfg.lobby_default_page_size, &count) ||
        !page_param(req, "page", 0, &page)) {
        mm_response_error(res, req->arena, 400,
                          "Invalid request - page size and entry count must be integers.");
        return;
    }
    if (count > app->cfg.lobby_max_page_size)
        count = app->cfg.lobby_max_page_size;
    mm_stored *games = NULL;
    size_t n = 0;
    mm_store_result r =
        count == 0 ? MM_STORE_OK
                   : mm_store_lobby_page(app->store, req->arena, params->product->product_id,
                                         page * count, count, &games, &n);
    if (r != MM_STORE_OK) {
        mm_app_store_error(req, r, res);
        return;
    }
    char **parts = n ? mm_arena_calloc(req->arena, n, sizeof(*parts)) : NULL;
    size_t *lens = n ? mm_arena_calloc(req->arena, n, sizeof(*lens)) : NULL;
    size_t total = 2;
    for (size_t i = 0; i < n; i++) {
        if (parts == NULL || lens == NULL)
            goto nomem;
        parts[i] = mm_game_encode(req->arena, &games[i].game, MM_GAME_PARTIAL, NULL, &lens[i]);
        if (parts[i] == NULL)
            goto nomem;
        total += lens[i] + 2;
    }
    char *body = mm_arena_alloc(req->arena, total + 1);
    if (body == NULL)
        goto nomem;
    size_t off = 0;
    body[off++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            body[off++] = ',';
            body[off++] = ' ';
        }
        memcpy(body + off, parts[i], lens[i]);
        off += lens[i];
    }
    body[off++] = ']';
    body[off] = '\0';
    mm_response_json(res, 200, body, off);
    return;
nomem:
    mm_response_error(res, req->arena, 500, "Internal error.");
}
