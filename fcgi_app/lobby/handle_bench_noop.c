/* GET /game_lobby/_bench/noop: a constant answer that touches neither Redis
 * nor a game server. It measures what the FastCGI path itself costs (nginx,
 * the socket, libfcgi, routing, the response); scripts/bench.sh uses it as a
 * ceiling. Routed only when the configuration sets "bench_noop_route". */
#include "app.h"

void mm_handle_bench_noop(mm_app *app, const mm_request *req, const mm_route_params *params,
                          mm_response *res)
{
    static const char body[] = "{\"noop\":true}";
    mm_response_json(res, 200, body, sizeof(body) - 1);
}
