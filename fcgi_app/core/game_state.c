#include "game_state.h"

#include <string.h>

static const char *const state_names[MM_STATE_COUNT] = {
    "created", "creator_joined", "all_players_joined", "in_progress", "ended",
};

const char *mm_game_state_name(mm_game_state s)
{
    if ((unsigned)s >= MM_STATE_COUNT)
        return NULL;
    return state_names[s];
}

bool mm_game_state_parse(const char *name, size_t len, mm_game_state *out)
{
    for (int i = 0; i < MM_STATE_COUNT; i++) {
        if (strlen(state_names[i]) == len && memcmp(state_names[i], name, len) == 0) {
            *out = (mm_game_state)i;
            return true;
        }
    }
    return false;
}
