/* The game's five states and their names on the wire. The only transitions
 * allowed (each state to the next one) are checked where they are made, inside
 * the store's atomic step (redis/lua/advance.lua). */
#ifndef MM_GAME_STATE_H
#define MM_GAME_STATE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    MM_STATE_CREATED = 0,
    MM_STATE_CREATOR_JOINED,
    MM_STATE_ALL_PLAYERS_JOINED,
    MM_STATE_IN_PROGRESS,
    MM_STATE_ENDED,
    MM_STATE_COUNT
} mm_game_state;

/* "created", "creator_joined", ...; NULL for a value out of range. */
const char *mm_game_state_name(mm_game_state s);
/* Returns true and sets *out when name (len bytes) is a state's name. */
bool mm_game_state_parse(const char *name, size_t len, mm_game_state *out);

#endif
