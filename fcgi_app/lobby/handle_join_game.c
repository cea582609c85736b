/* POST /game_lobby/{product_id}/join_game/{game_id}: reserve a seat
 * atomically (the SPEC's checks and the user's limits run inside that one
 * step), then join on the game server; if the game server does not take the
 * player, the seat is given back (game_flow.c). */
#include <string.h>

#include "app.h"
#include "game_flow.h"
#include "ids.h"
#include "store.h"

void mm_handle_join_game(mm_app *app, const mm_request *req, const mm_route_params *params,
                         mm_response *res)
{
    const mm_product *prod = params->product;
    if (!mm_id_valid(params->game_id, params->game_id_len)) {
        mm_flow_not_found(req, prod, "join", params->game_id, params->game_id_len, res);
        return;
    }
    char game_id[MM_ID_MAX + 1];
    memcpy(game_id, params->game_id, params->game_id_len);
    game_id[params->game_id_len] = '\0';
    mm_seat seat;
    mm_store_result sr = mm_store_take_seat(mm_app_store(app, prod), req->arena, prod->product_id,
                                            game_id, params->user->user_id, NULL, &seat);
    if (sr == MM_STORE_NOT_FOUND || sr == MM_STORE_CORRUPT) {
        mm_flow_not_found(req, prod, "join", params->game_id, params->game_id_len, res);
        return;
    }
    if (sr != MM_STORE_OK) {
        mm_flow_seat_refused(app, req, prod, sr, &seat, res);
        return;
    }
    mm_flow_join(app, req, prod, params->user, game_id, &seat, NULL, NULL, false, res);
}
