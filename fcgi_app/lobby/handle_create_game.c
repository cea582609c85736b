/* POST /game_lobby/{product_id}/create_game: a new game on the product's game
 * server, then stored in state created (pending until the creator connects).
 * If storing fails, or the game server gave no usable answer to a request it
 * got, the game server's game is removed again. */
#include <string.h>

#include "app.h"
#include "game_server_client.h"
#include "ids.h"
#include "log.h"
#include "store.h"

void mm_handle_create_game(mm_app *app, const mm_request *req, const mm_route_params *params,
                           mm_response *res)
{
    const mm_product *prod = params->product;
    const mm_jwt_claims *user = params->user;
    char game_id[MM_GAME_ID_LEN + 1];
    if (mm_game_id_new(game_id) != 0) {
        mm_log_error("msg=\"no random source for a game id\"");
        mm_response_error(res, req->arena, 500, "Internal error.");
        return;
    }
    const char *token = NULL;
    mm_gs_result gr = mm_gs_create_game(app->gs, req->arena, prod->game_server_url, game_id,
                                        user->user_id, user->username, &token);
    mm_metrics_gs_call(app->metrics, prod, MM_GS_OP_CREATE_GAME, gr);
    if (gr == MM_GS_REFUSED) {
        mm_response_error(res, req->arena, 400, "Unable to create game on target game server.");
        return;
    }
    if (gr != MM_GS_OK) {
        /* a game server that got the request and gave no usable answer may have made the
         * game: it is told to remove it (best effort), since no one will ever join it */
        if (mm_gs_may_have_acted(app->gs))
            mm_metrics_gs_call(
                app->metrics, prod, MM_GS_OP_REMOVE_GAME,
                mm_gs_remove_game(app->gs, req->arena, prod->game_server_url, game_id));
        mm_response_error(res, req->arena, 502, "Game server unavailable.");
        return;
    }

    const char *players[] = {user->user_id};
    mm_game g = {
        .game_id = game_id,
        .product_id = prod->product_id,
        .game_server_url = prod->game_server_url,
        .creator_id = user->user_id,
        .creator_name = user->username,
        .players = players,
        .nplayers = 1,
        .settings_json = prod->settings_json,
        .num_players = prod->num_players,
        .token = token,
        .last_updated_us = mm_store_now_us(),
        .state = MM_STATE_CREATED,
    };
    mm_store_result sr = mm_store_create(app->store, req->arena, &g);
    if (sr != MM_STORE_OK) {
        mm_log_error("msg=\"game not saved; removing it from the game server\" product=%s "
                     "game_id=%s result=%s",
                     prod->product_id, game_id, mm_store_result_name(sr));
        mm_metrics_gs_call(app->metrics, prod, MM_GS_OP_REMOVE_GAME,
                           mm_gs_remove_game(app->gs, req->arena, prod->game_server_url, game_id));
        if (sr == MM_STORE_UNAVAILABLE)
            mm_response_error(res, req->arena, 503, "Service temporarily unavailable.");
        else
            mm_response_error(res, req->arena, 500,
                              "Game Lobby: Error saving the game. Please contact support.");
        return;
    }
    size_t len;
    char *body = mm_game_encode(req->arena, &g, MM_GAME_FULL, prod->game_socket_url, &len);
    if (body == NULL) {
        mm_response_error(res, req->arena, 500, "Internal error.");
        return;
    }
    mm_metrics_game_created(app->metrics, prod);
    res->log_fields = mm_arena_printf(req->arena, "event=game_created game_id=%s", game_id);
    mm_response_json(res, 200, body, len);
}
