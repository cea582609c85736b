/* What a player asks of a new game or a lobby page (SPEC 12): lobby filters and whether the
 * game is private, read from a create/quick_match body or an open_games query and checked
 * against the product's declared filters; the filter index a query reads; a new game's
 * settings with its lobby object. Pure: no I/O; results live in the caller's arena. */
#ifndef MM_GAME_REQUEST_H
#define MM_GAME_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "config.h"
#include "http.h"
#include "mm.h"

typedef struct {
    const mm_lobby_filter *filter; /* the product's declared filter */
    const char *value;             /* one of its declared values (NUL-terminated) */
} mm_filter_pick;

typedef struct {
    mm_filter_pick picks[MM_FILTERS_MAX]; /* in the product's declared order */
    int npicks;
    bool private_game;
} mm_game_request;

/* A create or quick_match body. A body that is not a JSON object (or empty) asks for
 * nothing; unknown keys are ignored; "private": true asks for a private game. "lobby" must
 * be an object whose every key is a declared filter with one of its declared values (a
 * string): else MM_ERR_INVALID (400 "Invalid lobby filter."). */
mm_status mm_game_request_parse(const mm_product *p, const char *body, size_t len,
                                mm_game_request *out);

/* The filters of an open_games query: each declared key present must carry a declared
 * value (else MM_ERR_INVALID); keys not declared are ignored. */
mm_status mm_game_request_from_query(const mm_product *p, const char *query, mm_game_request *out);

/* The filter index of the picks ("|key=value|..." sorted by key, as the store scripts name
 * them; "" for none), in a; NULL when memory is short. */
char *mm_game_request_index(mm_arena *a, const mm_game_request *r);

/* The settings of a new game: the product's settings object with "lobby": {picks...} added
 * last (in declared order), or the product's own text when there are no picks. In a. */
char *mm_game_request_settings(mm_arena *a, const mm_product *p, const mm_game_request *r);

#endif
