/* POST /game_lobby/{product_id}/quick_match (SPEC 12): a seat in the oldest listed game
 * that matches the body's filters, has a seat free and does not hold the user -- picked
 * and reserved in one atomic step -- else a new game. A game server that refuses the join
 * sends the player to the next candidate, at most QUICK_TRIES of them, then a game is
 * made. The answer is the join's or the create's with "quick_match": "joined"/"created". */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "game_flow.h"
#include "ids.h"
#include "store.h"

#define QUICK_TRIES 3

void mm_handle_quick_match(mm_app *app, const mm_request *req, const mm_route_params *params,
                           mm_response *res)
{
    const mm_product *prod = params->product;
    mm_game_request gr;
    if (mm_game_request_parse(prod, params->body, params->body_len, &gr) != MM_OK) {
        mm_response_error(res, req->arena, 400, "Invalid lobby filter.");
        return;
    }
    const char *index = mm_game_request_index(req->arena, &gr);
    char passed[QUICK_TRIES * (MM_ID_MAX + 1) + 1] = "";
    size_t plen = 0;
    for (int attempt = 0; attempt < QUICK_TRIES && index != NULL; attempt++) {
        mm_seat seat;
        const char *game_id;
        /* only the first attempt counts as the user's call */
        mm_store_result sr = mm_store_quick_seat(mm_app_store(app, prod), req->arena,
                                                 prod->product_id, params->user->user_id, index,
                                                 passed, attempt == 0, &seat, &game_id);
        if (sr == MM_STORE_NONE)
            break;
        if (sr != MM_STORE_OK) {
            mm_flow_seat_refused(app, req, prod, sr, &seat, res);
            return;
        }
        if (mm_flow_join(app, req, prod, params->user, game_id, &seat, "quick_match", "joined",
                         true, res) != MM_GS_REFUSED)
            return;
        size_t glen = strlen(game_id);
        if (plen + glen + 2 < sizeof(passed)) {
            plen += (size_t)snprintf(passed + plen, sizeof(passed) - plen, "%s%s",
                                     plen > 0 ? "," : "", game_id);
        }
    }
    if (index == NULL) {
        mm_response_error(res, req->arena, 500, "Internal error.");
        return;
    }
    mm_flow_create(app, req, prod, params->user, &gr, false, "quick_match", "created", res);
}
