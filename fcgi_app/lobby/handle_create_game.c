/* POST /game_lobby/{product_id}/create_game: a new game on the product's game
 * server, then stored in state created (pending until the creator connects),
 * as the body asks (SPEC 12: lobby filters, private with a join code), within
 * the user's limits (SPEC 11). The flow is game_flow.c's. */
#include "app.h"
#include "game_flow.h"

void mm_handle_create_game(mm_app *app, const mm_request *req, const mm_route_params *params,
                           mm_response *res)
{
    mm_game_request gr;
    if (mm_game_request_parse(params->product, params->body, params->body_len, &gr) != MM_OK) {
        mm_response_error(res, req->arena, 400, "Invalid lobby filter.");
        return;
    }
    mm_flow_create(app, req, params->product, params->user, &gr, true, NULL, NULL, res);
}
