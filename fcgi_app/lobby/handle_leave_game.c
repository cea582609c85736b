/* POST /game_lobby/{product_id}/leave_game/{game_id} (SPEC 12): the creator of a game not
 * yet started cancels it (deleted, remove_game sent); another player leaves it (taken out,
 * the game listed again, remove_player sent). One atomic step decides; the game server is
 * told after it, best effort. */
#include <string.h>

#include "app.h"
#include "game_flow.h"
#include "game_server_client.h"
#include "ids.h"
#include "log.h"
#include "store.h"

void mm_handle_leave_game(mm_app *app, const mm_request *req, const mm_route_params *params,
                          mm_response *res)
{
    const mm_product *prod = params->product;
    if (!mm_id_valid(params->game_id, params->game_id_len)) {
        mm_flow_not_found(req, prod, "leave", params->game_id, params->game_id_len, res);
        return;
    }
    char game_id[MM_ID_MAX + 1];
    memcpy(game_id, params->game_id, params->game_id_len);
    game_id[params->game_id_len] = '\0';
    const char *user_id = params->user->user_id;
    mm_leave left;
    mm_store_result sr = mm_store_leave(mm_app_store(app, prod), req->arena, prod->product_id,
                                        game_id, user_id, &left);
    switch (sr) {
    case MM_STORE_OK: break;
    case MM_STORE_NOT_FOUND:
    case MM_STORE_CORRUPT:
        mm_flow_not_found(req, prod, "leave", params->game_id, params->game_id_len, res);
        return;
    case MM_STORE_NOT_PLAYER:
        mm_response_error(res, req->arena, 409, "Game Lobby: Unable to leave game - not a player.");
        return;
    case MM_STORE_STARTED:
        mm_response_error(res, req->arena, 409,
                          "Game Lobby: Unable to leave game - game already started.");
        return;
    default: mm_app_store_error(req, sr, res); return;
    }
    mm_gs_result gr;
    if (left.game_removed) {
        gr = mm_gs_remove_game(app->gs, req->arena, left.game_server_url, game_id);
        mm_metrics_gs_call(app->metrics, prod, MM_GS_OP_REMOVE_GAME, gr);
    } else {
        gr = mm_gs_remove_player(app->gs, req->arena, left.game_server_url, game_id, user_id);
        mm_metrics_gs_call(app->metrics, prod, MM_GS_OP_REMOVE_PLAYER, gr);
    }
    if (gr != MM_GS_OK)
        mm_log_warn("msg=\"the game server was not told of a leave\" game_id=%s result=%s", game_id,
                    mm_gs_result_name(gr));
    res->log_fields =
        mm_arena_printf(req->arena, "event=%s game_id=%s",
                        left.game_removed ? "game_cancelled" : "player_left", game_id);
    static const char removed[] = "{\"left\": true, \"game_removed\": true}";
    static const char kept[] = "{\"left\": true, \"game_removed\": false}";
    if (left.game_removed)
        mm_response_json(res, 200, removed, sizeof(removed) - 1);
    else
        mm_response_json(res, 200, kept, sizeof(kept) - 1);
}
