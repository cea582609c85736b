#include "game_flow.h"

#include <stdio.h>
#include <string.h>

#include "game_server_client.h"
#include "ids.h"
#include "log.h"
#include "store.h"

#define CODE_DRAWS 8 /* join codes tried before giving up (32^6 codes: a clash is rare) */

bool mm_flow_limited(mm_app *app, const mm_request *req, const mm_product *prod, mm_store_result r,
                     long retry_ms, mm_response *res)
{
    const char *msg;
    mm_limit_kind kind;
    long seconds;
    switch (r) {
    case MM_STORE_RATE:
        msg = "Too many requests.";
        kind = MM_LIMIT_RATE;
        seconds = (retry_ms + 999) / 1000;
        break;
    case MM_STORE_LIMIT_GAMES:
        msg = "Too many open games for this user.";
        kind = MM_LIMIT_GAMES;
        /* a game not started frees its place when it starts or expires */
        seconds = app->cfg.expiry_seconds[MM_STATE_CREATOR_JOINED];
        break;
    case MM_STORE_LIMIT_SEATS:
        msg = "Too many games joined by this user.";
        kind = MM_LIMIT_SEATS;
        seconds = app->cfg.expiry_seconds[MM_STATE_CREATOR_JOINED];
        break;
    default: return false;
    }
    mm_metrics_limited(app->metrics, prod, kind);
    mm_response_error(res, req->arena, 429, msg);
    char *after = mm_arena_printf(req->arena, "%ld", seconds > 0 ? seconds : 1);
    if (after != NULL)
        mm_response_add_header(res, "Retry-After", after);
    return true;
}

void mm_flow_not_found(const mm_request *req, const mm_product *prod, const char *verb,
                       const char *id, size_t len, mm_response *res)
{
    /* the id is echoed back, but never more of it than an id can hold, and only as ASCII:
     * raw bytes from the request line could be invalid UTF-8, which would make the whole
     * answer invalid JSON */
    size_t shown_len = len > MM_ID_MAX ? MM_ID_MAX : len;
    char shown[MM_ID_MAX + 1];
    for (size_t i = 0; i < shown_len; i++) {
        unsigned char c = (unsigned char)id[i];
        shown[i] = (char)(c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ? '?' : c);
    }
    shown[shown_len] = '\0';
    char *msg = mm_arena_printf(req->arena,
                                "Game Lobby: Unable to %s game - game not found. Game ID: "
                                "\"%s%s\", Product ID: %s.",
                                verb, shown, len > MM_ID_MAX ? "..." : "", prod->product_id);
    mm_response_error(res, req->arena, 404, msg ? msg : "Game Lobby: game not found.");
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

void mm_flow_seat_refused(mm_app *app, const mm_request *req, const mm_product *prod,
                          mm_store_result r, const mm_seat *seat, mm_response *res)
{
    switch (r) {
    case MM_STORE_WRONG_STATE: {
        const char *state = state_of(req, seat);
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
    default:
        if (!mm_flow_limited(app, req, prod, r, seat->retry_ms, res))
            mm_app_store_error(req, r, res);
        return;
    }
}

/* The 200 answer: body with the extra field when there is one. */
static void answer(const mm_request *req, const char *body, size_t len, const char *extra_name,
                   const char *extra_value, mm_response *res)
{
    if (body != NULL && extra_name != NULL)
        body = mm_game_add_field(req->arena, body, len, extra_name, extra_value, &len);
    if (body == NULL) {
        mm_response_error(res, req->arena, 500, "Internal error.");
        return;
    }
    mm_response_json(res, 200, body, len);
}

/* Stores g, drawing another join code while the one drawn is taken. */
static mm_store_result store_game(mm_app *app, const mm_request *req, const mm_product *prod,
                                  mm_game *g, char code[MM_JOIN_CODE_LEN + 1])
{
    mm_store_result sr = MM_STORE_CODE_TAKEN;
    for (int draw = 0; draw < CODE_DRAWS && sr == MM_STORE_CODE_TAKEN; draw++) {
        if (g->private_game) {
            if (mm_join_code_new(code) != 0)
                return MM_STORE_ERROR;
            g->join_code = code;
        }
        sr = mm_store_create(mm_app_store(app, prod), req->arena, g);
    }
    return sr;
}

void mm_flow_create(mm_app *app, const mm_request *req, const mm_product *prod,
                    const mm_jwt_claims *user, const mm_game_request *gr, bool count_call,
                    const char *extra_name, const char *extra_value, mm_response *res)
{
    long retry_ms = 0;
    mm_store_result sr = mm_store_admit(mm_app_store(app, prod), prod->product_id, user->user_id,
                                        count_call, &retry_ms);
    if (mm_flow_limited(app, req, prod, sr, retry_ms, res))
        return;
    if (sr != MM_STORE_OK) {
        mm_app_store_error(req, sr, res);
        return;
    }
    char game_id[MM_GAME_ID_LEN + 1];
    const char *settings = mm_game_request_settings(req->arena, prod, gr);
    if (mm_game_id_new(game_id) != 0 || settings == NULL) {
        mm_log_error("msg=\"no random source or memory for a new game\"");
        mm_response_error(res, req->arena, 500, "Internal error.");
        return;
    }
    const char *token = NULL;
    mm_gs_result gr_ = mm_gs_create_game(app->gs, req->arena, prod->game_server_url, game_id,
                                         user->user_id, user->username, &token);
    mm_metrics_gs_call(app->metrics, prod, MM_GS_OP_CREATE_GAME, gr_);
    if (gr_ == MM_GS_REFUSED) {
        mm_response_error(res, req->arena, 400, "Unable to create game on target game server.");
        return;
    }
    if (gr_ != MM_GS_OK) {
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
        .settings_json = settings,
        .num_players = prod->num_players,
        .token = token,
        .last_updated_us = mm_store_now_us(),
        .state = MM_STATE_CREATED,
        .private_game = gr->private_game,
    };
    char code[MM_JOIN_CODE_LEN + 1];
    sr = store_game(app, req, prod, &g, code);
    if (sr != MM_STORE_OK) {
        mm_log_error("msg=\"game not saved; removing it from the game server\" product=%s "
                     "game_id=%s result=%s",
                     prod->product_id, game_id, mm_store_result_name(sr));
        mm_metrics_gs_call(app->metrics, prod, MM_GS_OP_REMOVE_GAME,
                           mm_gs_remove_game(app->gs, req->arena, prod->game_server_url, game_id));
        if (mm_flow_limited(app, req, prod, sr, 0, res))
            return; /* another create of the user's won the race for the last place */
        if (sr == MM_STORE_UNAVAILABLE || sr == MM_STORE_NO_MEMORY)
            mm_response_error(res, req->arena, 503, "Service temporarily unavailable.");
        else
            mm_response_error(res, req->arena, 500,
                              "Game Lobby: Error saving the game. Please contact support.");
        return;
    }
    size_t len;
    char *body = mm_game_encode(req->arena, &g, MM_GAME_FULL, prod->game_socket_url, &len);
    mm_metrics_game_created(app->metrics, prod);
    res->log_fields = mm_arena_printf(req->arena, "event=game_created game_id=%s%s", game_id,
                                      g.private_game ? " private=1" : "");
    answer(req, body, len, extra_name, extra_value, res);
}

/* Gives the seat back after the game server refused or did not answer, unless the game
 * moved on since the seat was taken (then nothing is undone: logged). When the request
 * reached the game server and no answer came back, the game server may have seated the
 * player: once the record no longer holds them (the seat given back, or already gone), it
 * is told to remove them (best effort). A game that moved on with the player in it (the
 * game server reported them all joined) keeps them, there as here; and when the undo
 * failed, the record still holds them, as the game server may. */
static void undo(mm_app *app, const mm_request *req, const mm_product *prod, const char *game_id,
                 const char *user_id, const char *game_server_url)
{
    bool maybe_seated = mm_gs_may_have_acted(app->gs);
    mm_stored after;
    mm_store_result r = mm_store_undo_seat(mm_app_store(app, prod), req->arena, prod->product_id,
                                           game_id, user_id, &after);
    if (r == MM_STORE_CHANGED || r == MM_STORE_NOT_FOUND || r == MM_STORE_NOT_PLAYER)
        mm_log_warn("msg=\"seat not given back: the game changed since it was taken\" "
                    "game_id=%s result=%s",
                    game_id, mm_store_result_name(r));
    else if (r != MM_STORE_OK)
        mm_log_error("msg=\"seat not given back; curation will reset it\" game_id=%s "
                     "result=%s",
                     game_id, mm_store_result_name(r));
    if (maybe_seated && (r == MM_STORE_OK || r == MM_STORE_NOT_PLAYER))
        mm_metrics_gs_call(
            app->metrics, prod, MM_GS_OP_REMOVE_PLAYER,
            mm_gs_remove_player(app->gs, req->arena, game_server_url, game_id, user_id));
}

mm_gs_result mm_flow_join(mm_app *app, const mm_request *req, const mm_product *prod,
                          const mm_jwt_claims *user, const char *game_id, const mm_seat *seat,
                          const char *extra_name, const char *extra_value, bool quiet_refusal,
                          mm_response *res)
{
    mm_gs_result gr = mm_gs_join_game(app->gs, req->arena, seat->game_server_url, game_id,
                                      user->user_id, user->username);
    mm_metrics_gs_call(app->metrics, prod, MM_GS_OP_JOIN_GAME, gr);
    if (gr != MM_GS_OK) {
        undo(app, req, prod, game_id, user->user_id, seat->game_server_url);
        if (gr == MM_GS_REFUSED && quiet_refusal)
            return gr;
        if (gr == MM_GS_REFUSED)
            mm_response_error(res, req->arena, 400, "Unable to join game on target game server.");
        else
            mm_response_error(res, req->arena, 502, "Game server unavailable.");
        return gr;
    }
    /* The answer is the game as stored (SPEC section 3) plus target_game_server. */
    size_t len;
    char *body =
        mm_game_add_target(req->arena, seat->doc, seat->doc_len, prod->game_socket_url, &len);
    mm_metrics_game_joined(app->metrics, prod);
    res->log_fields = mm_arena_printf(req->arena, "event=player_joined game_id=%s players=%ld/%ld",
                                      game_id, seat->nplayers, seat->num_players);
    answer(req, body, len, extra_name, extra_value, res);
    return gr;
}
