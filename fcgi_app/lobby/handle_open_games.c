/* GET /game_lobby/{product_id}/open_games?count=N&page=P: one page of the
 * lobby, oldest first, in the partial form (no token, state, _last_updated).
 * With the product's lobby filters in the query, the page comes from the
 * index of those filters (SPEC 12), in the same order and paging.
 * One Redis round trip (ids and documents together); the partial form of a
 * document is remembered per process by its exact bytes, so a busy page costs
 * no JSON decoding once seen. */
#include <string.h>

#include "app.h"
#include "doc_cache.h"
#include "game_request.h"
#include "log.h"
#include "query.h"
#include "store.h"

/* The partial form of one stored document, in the request's arena:
 * remembered per process by the document's exact bytes (doc_cache.h; a hit is
 * a copy, so the puts of later misses in this page cannot touch it), decoded
 * and encoded on a miss. */
static mm_status partial_form(mm_app *app, mm_arena *a, const mm_candidate *c, const char **out,
                              size_t *len)
{
    const mm_stored *d = &c->stored;
    char *hit;
    if (app->doc_cache != NULL &&
        mm_doc_cache_get(app->doc_cache, a, d->doc, d->doc_len, &hit, len)) {
        *out = hit;
        return MM_OK;
    }
    mm_game g;
    mm_status st = mm_game_decode(a, d->doc, d->doc_len, &g);
    if (st != MM_OK)
        return st == MM_ERR_NOMEM ? MM_ERR_NOMEM : MM_ERR_INVALID;
    char *text = mm_game_encode(a, &g, MM_GAME_PARTIAL, NULL, len);
    if (text == NULL)
        return MM_ERR_NOMEM;
    if (app->doc_cache != NULL)
        mm_doc_cache_put(app->doc_cache, d->doc, d->doc_len, text, *len);
    *out = text;
    return MM_OK;
}

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
    /* SPEC 12: the product's filters in the query pick the index the page is read from */
    const char *index = "";
    if (params->product->nfilters > 0) {
        mm_game_request filters;
        if (mm_game_request_from_query(params->product, req->query, &filters) != MM_OK) {
            mm_response_error(res, req->arena, 400, "Invalid lobby filter.");
            return;
        }
        if ((index = mm_game_request_index(req->arena, &filters)) == NULL)
            goto nomem;
    }
    mm_candidate *docs = NULL;
    size_t n = 0;
    mm_store_result r = count == 0 ? MM_STORE_OK
                                   : mm_store_lobby_docs(mm_app_store(app, params->product),
                                                         req->arena, params->product->product_id,
                                                         index, page * count, count, &docs, &n);
    if (r != MM_STORE_OK) {
        mm_app_store_error(req, r, res);
        return;
    }
    const char **parts = n ? mm_arena_calloc(req->arena, n, sizeof(*parts)) : NULL;
    size_t *lens = n ? mm_arena_calloc(req->arena, n, sizeof(*lens)) : NULL;
    if (n > 0 && (parts == NULL || lens == NULL))
        goto nomem;
    size_t total = 2, k = 0;
    for (size_t i = 0; i < n; i++) {
        mm_status st = partial_form(app, req->arena, &docs[i], &parts[k], &lens[k]);
        if (st == MM_ERR_NOMEM)
            goto nomem;
        if (st != MM_OK) {
            mm_log_warn("msg=\"game in a set has no usable document\" product=%s game_id=%.*s",
                        params->product->product_id, MM_ID_MAX, docs[i].game_id);
            continue;
        }
        total += lens[k] + 2;
        k++;
    }
    n = k;
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
