/* POST /game_lobby/{product_id}/join_game/{game_id}: reserve a seat
 * atomically (the SPEC's checks run inside that one step), then join on the
 * game server; if the game server does not take the player, the seat is
 * given back. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "game_server_client.h"
#include "ids.h"
#include "log.h"
#include "store.h"

static void not_found(const mm_request *req, const mm_route_params *params, mm_response *res)
{
    /* the id is echoed back, but never more of it than an id can hold, and
     * only as ASCII: raw bytes from the request line could be invalid UTF-8,
     * which would make the whole answer invalid JSON */
    size_t glen = params->game_id_len > MM_ID_MAX ? MM_ID_MAX : params->game_id_len;
    char shown[MM_ID_MAX + 1];
    for (size_t i = 0; i < glen; i++) {
        unsigned char c = (unsigned char)params->game_id[i];
        shown[i] = params->game_id[i];
        if (c < 0x20 || c >= 0x7f)
            shown[i] = '?';
    }
    shown[glen] = '\0';
    char *msg = mm_arena_printf(req->arena,
                                "Game Lobby: Unable to join game - game not found. Game ID: "
                                "\"%s%s\", Product ID: %s.",
                                shown, params->game_id_len > MM_ID_MAX ? "..." : "",
                                params->product->product_id);
    mm_response_error(res, req->arena, 404, msg ? msg : "Game Lobby: game not found.");
}

/* Gives the seat back after the game server refused or did not answer, unless the game
 * moved on since the seat was taken (then nothing is undone: logged). When the request
 * reached the game server and no answer came back, the game server may have seated the
 * player: it is told to remove them (best effort). */
static void undo(mm_app *app, const mm_request *req, const mm_product *prod, const char *game_id,
                 const char *user_id, const char *game_server_url)
{
    bool maybe_seated = mm_gs_may_have_acted(app->gs);
    mm_stored after;
    mm_store_result r =
        mm_store_undo_seat(app->store, req->arena, prod->product_id, game_id, user_id, &after);
    if (r == MM_STORE_CHANGED || r == MM_STORE_NOT_FOUND || r == MM_STORE_NOT_PLAYER)
        mm_log_warn("msg=\"seat not given back: the game changed since it was taken\" "
                    "game_id=%s result=%s",
                    game_id, mm_store_result_name(r));
    else if (r != MM_STORE_OK)
        mm_log_error("msg=\"seat not given back; curation will reset it\" game_id=%s "
                     "result=%s",
                     game_id, mm_store_result_name(r));
    if (maybe_seated)
        mm_metrics_gs_call(
            app->metrics, prod, MM_GS_OP_REMOVE_PLAYER,
            mm_gs_remove_player(app->gs, req->arena, game_server_url, game_id, user_id));
}

/* The state named in the 400 for a game that is not open: only this rare answer decodes
 * the document. */
static const char *state_of(const mm_request *req, const mm_seat *seat)
{
    mm_game g;
    if (seat->doc == NULL || mm_game_decode(req->arena, seat->doc, seat->doc_len, &g) != MM_OK)
        return NULL;
    return mm_game_state_name(g.state);
}

void mm_handle_join_game(mm_app *app, const mm_request *req, const mm_route_params *params,
                         mm_response *res)
{
    const mm_product *prod = params->product;
    const mm_jwt_claims *user = params->user;
    if (!mm_id_valid(params->game_id, params->game_id_len)) {
        not_found(req, params, res);
        return;
    }
    char game_id[MM_ID_MAX + 1];
    memcpy(game_id, params->game_id, params->game_id_len);
    game_id[params->game_id_len] = '\0';

    mm_seat seat;
    mm_store_result sr =
        mm_store_take_seat(app->store, req->arena, prod->product_id, game_id, user->user_id, &seat);
    switch (sr) {
    case MM_STORE_OK: break;
    case MM_STORE_NOT_FOUND:
    case MM_STORE_CORRUPT: not_found(req, params, res); return;
    case MM_STORE_WRONG_STATE: {
        const char *state = state_of(req, &seat);
        char *msg = mm_arena_printf(req->arena,
                                    "Unable to join game - invalid state: %s. Required state: "
                                    "creator_joined",
                                    state ? state : "unknown");
        mm_response_error(res, req->arena, 400, msg ? msg : "Unable to join game.");
        return;
    }
    case MM_STORE_ALREADY_JOINED:
        mm_response_error(res, req->arena, 409, "Unable to join game - player already joined.");
        return;
    case MM_STORE_FULL:
        mm_response_error(res, req->arena, 409, "Unable to join game - game is full.");
        return;
    default: mm_app_store_error(req, sr, res); return;
    }

    mm_gs_result gr = mm_gs_join_game(app->gs, req->arena, seat.game_server_url, game_id,
                                      user->user_id, user->username);
    mm_metrics_gs_call(app->metrics, prod, MM_GS_OP_JOIN_GAME, gr);
    if (gr != MM_GS_OK) {
        undo(app, req, prod, game_id, user->user_id, seat.game_server_url);
        if (gr == MM_GS_REFUSED)
            mm_response_error(res, req->arena, 400, "Unable to join game on target game server.");
        else
            mm_response_error(res, req->arena, 502, "Game server unavailable.");
        return;
    }
    /* The answer is the game as stored (SPEC section 3) plus target_game_server. */
    size_t len;
    char *body =
        mm_game_add_target(req->arena, seat.doc, seat.doc_len, prod->game_socket_url, &len);
    if (body == NULL) {
        mm_response_error(res, req->arena, 500, "Internal error.");
        return;
    }
    mm_metrics_game_joined(app->metrics, prod);
    res->log_fields = mm_arena_printf(req->arena, "event=player_joined game_id=%s players=%ld/%ld",
                                      game_id, seat.nplayers, seat.num_players);
    mm_response_json(res, 200, body, len);
}
