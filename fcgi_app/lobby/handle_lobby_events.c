/* GET /game_lobby/{product_id}/lobby_events: the live lobby's subscription (SPEC 13) is
 * served by nginx itself (nchan, nginx/matchmaker-live.conf), which holds the subscribers;
 * before it takes one, it asks here, once, whether the product exists
 * (nchan_authorize_request). The dispatcher has answered 400 "Invalid product ID." for an
 * unknown product, as on every route; a known one is allowed with an empty answer. */
#include "app.h"

void mm_handle_lobby_events(mm_app *app, const mm_request *req, const mm_route_params *params,
                            mm_response *res)
{
    res->status = 204;
}
