/* POST /game_lobby/{product_id}/join_by_code/{code} (SPEC 12): exactly a join_game of the
 * private game the code names; the code is read case-insensitively. The seat is taken only
 * if the code still names that game in the same atomic step. */
#include <string.h>

#include "app.h"
#include "game_flow.h"
#include "ids.h"
#include "store.h"

static void unknown_code(const mm_request *req, mm_response *res)
{
    mm_response_error(res, req->arena, 404, "Game Lobby: Unable to join game - unknown join code.");
}

void mm_handle_join_by_code(mm_app *app, const mm_request *req, const mm_route_params *params,
                            mm_response *res)
{
    const mm_product *prod = params->product;
    char code[MM_JOIN_CODE_LEN + 1];
    if (!mm_join_code_normalize(params->game_id, params->game_id_len, code)) {
        unknown_code(req, res);
        return;
    }
    const char *game_id;
    mm_store_result sr =
        mm_store_code_game(mm_app_store(app, prod), req->arena, prod->product_id, code, &game_id);
    if (sr == MM_STORE_OK && !mm_id_valid(game_id, strlen(game_id)))
        sr = MM_STORE_NOT_FOUND;
    if (sr == MM_STORE_NOT_FOUND) {
        unknown_code(req, res);
        return;
    }
    if (sr != MM_STORE_OK) {
        mm_app_store_error(req, sr, res);
        return;
    }
    mm_seat seat;
    sr = mm_store_take_seat(mm_app_store(app, prod), req->arena, prod->product_id, game_id,
                            params->user->user_id, code, &seat);
    if (sr == MM_STORE_NOT_FOUND || sr == MM_STORE_CORRUPT) {
        unknown_code(req, res); /* the game went, or the code was freed, in between */
        return;
    }
    if (sr != MM_STORE_OK) {
        mm_flow_seat_refused(app, req, prod, sr, &seat, res);
        return;
    }
    mm_flow_join(app, req, prod, params->user, game_id, &seat, NULL, NULL, false, res);
}
