/* GET /metrics: the whole pool's counters in the Prometheus text format
 * (nginx limits who may ask). */
#include <stdlib.h>
#include <string.h>

#include "app.h"

void mm_handle_metrics(mm_app *app, const mm_request *req, const mm_route_params *params,
                       mm_response *res)
{
    (void)params;
    size_t len;
    char *text = mm_metrics_render(app->metrics, &len);
    char *body = text ? mm_arena_alloc(req->arena, len) : NULL;
    if (body == NULL) {
        free(text);
        mm_response_error(res, req->arena, 500, "Internal error.");
        return;
    }
    memcpy(body, text, len);
    free(text);
    res->status = 200;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    res->body = body;
    res->body_len = len;
}
