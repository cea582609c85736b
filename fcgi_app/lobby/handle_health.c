/* GET /health: 200 when Redis answers a PING, else 503 (for load balancers). */
#include "app.h"

void mm_handle_health(mm_app *app, const mm_request *req, const mm_route_params *params,
                      mm_response *res)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    static const char down[] = "{\"status\":\"unavailable\"}";
    if (mm_rconn_ping(mm_store_set_conn(app->stores, 0)) == MM_OK)
        mm_response_json(res, 200, ok, sizeof(ok) - 1);
    else
        mm_response_json(res, 503, down, sizeof(down) - 1);
}
