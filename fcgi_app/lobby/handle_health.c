/* GET /health: 200 when Redis answers a PING, else 503 (for load balancers). The 200 names
 * the server that answered (SPEC 14: with sentinels, the primary found), so an operator
 * sees at a glance which Redis each host uses after a failover. */
#include <string.h>

#include "app.h"
#include "text.h"

void mm_handle_health(mm_app *app, const mm_request *req, const mm_route_params *params,
                      mm_response *res)
{
    static const char down[] = "{\"status\":\"unavailable\"}";
    mm_rconn *redis = mm_store_set_conn(app->stores, 0);
    if (mm_rconn_ping(redis) != MM_OK) {
        mm_response_json(res, 503, down, sizeof(down) - 1);
        return;
    }
    static const char head[] = "{\"status\":\"ok\",\"primary\":\"", tail[] = "\"}";
    const char *peer = mm_rconn_peer(redis);
    size_t plen = strlen(peer), elen = mm_json_escape(NULL, 0, peer, plen);
    size_t len = sizeof(head) - 1 + elen + sizeof(tail) - 1;
    char *body = mm_arena_alloc(req->arena, len);
    if (body == NULL) {
        static const char ok[] = "{\"status\":\"ok\"}";
        mm_response_json(res, 200, ok, sizeof(ok) - 1);
        return;
    }
    memcpy(body, head, sizeof(head) - 1);
    mm_json_escape(body + sizeof(head) - 1, elen, peer, plen);
    memcpy(body + sizeof(head) - 1 + elen, tail, sizeof(tail) - 1);
    mm_response_json(res, 200, body, len);
}
