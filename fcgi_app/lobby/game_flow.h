/* The two flows several routes share (SPEC 2, 11, 12): making a game (create_game, and
 * quick_match when no game has a free seat) and joining one once its seat is reserved
 * (join_game, join_by_code, quick_match), with the answers they give, and the answer to a
 * per-user limit. Each writes its answer into res. */
#ifndef MM_GAME_FLOW_H
#define MM_GAME_FLOW_H

#include <stdbool.h>

#include "app.h"
#include "game_request.h"

/* Creates a game for user as gr asks (filters, private), on the product's game server,
 * then stores it. count_call: count the call in the user's minute (quick_match counted it
 * already). extra_name/extra_value: a string field added to the 200 answer, or NULL. */
void mm_flow_create(mm_app *app, const mm_request *req, const mm_product *prod,
                    const mm_jwt_claims *user, const mm_game_request *gr, bool count_call,
                    const char *extra_name, const char *extra_value, mm_response *res);

/* Joins user on the game server once their seat in game_id is reserved (seat). On success
 * answers 200 with the stored game, target_game_server and the extra field. On failure the
 * seat is given back (and remove_player sent when the game server may have seated them);
 * the error is answered unless quiet_refusal and the game server refused (quick_match then
 * tries another game). Returns the game server's result. */
mm_gs_result mm_flow_join(mm_app *app, const mm_request *req, const mm_product *prod,
                          const mm_jwt_claims *user, const char *game_id, const mm_seat *seat,
                          const char *extra_name, const char *extra_value, bool quiet_refusal,
                          mm_response *res);

/* The 404 of join_game (verb "join") and leave_game ("leave") for game id[0..len), echoed
 * back at most MM_ID_MAX bytes and as ASCII. */
void mm_flow_not_found(const mm_request *req, const mm_product *prod, const char *verb,
                       const char *id, size_t len, mm_response *res);

/* Answers a seat reservation that did not succeed (r is not MM_STORE_OK and not
 * MM_STORE_NOT_FOUND, which each route answers its own way): 400 invalid state, 409
 * already joined or full, 429, 503 or 500. */
void mm_flow_seat_refused(mm_app *app, const mm_request *req, const mm_product *prod,
                          mm_store_result r, const mm_seat *seat, mm_response *res);

/* When r is a per-user limit (SPEC 11), answers 429 with its message and Retry-After
 * (retry_ms for the call rate) and returns true. */
bool mm_flow_limited(mm_app *app, const mm_request *req, const mm_product *prod, mm_store_result r,
                     long retry_ms, mm_response *res);

#endif
