#include "event.h"

#include <string.h>

#include "ids.h"
#include "text.h"

static bool is(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

mm_status mm_event_decode(mm_arena *a, size_t n, const char *const *fields, const size_t *lens,
                          mm_event *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    *why = NULL;
    if (n % 2 != 0 || n / 2 > MM_EVENT_MAX_FIELDS) {
        *why = "bad field list";
        return MM_ERR_INVALID;
    }
    const char *product = NULL, *game = NULL, *type = NULL, *state = NULL, *player = NULL;
    size_t plen = 0, glen = 0, tlen = 0, slen = 0, pllen = 0;
    for (size_t i = 0; i < n; i += 2) {
        const char *k = fields[i], *v = fields[i + 1];
        size_t klen = lens[i], vlen = lens[i + 1];
        const char **slot = NULL;
        size_t *slot_len = NULL;
        if (is(k, klen, "product_id")) {
            slot = &product;
            slot_len = &plen;
        } else if (is(k, klen, "game_id")) {
            slot = &game;
            slot_len = &glen;
        } else if (is(k, klen, "type")) {
            slot = &type;
            slot_len = &tlen;
        } else if (is(k, klen, "new_state")) {
            slot = &state;
            slot_len = &slen;
        } else if (is(k, klen, "player_id")) {
            slot = &player;
            slot_len = &pllen;
        }
        if (slot == NULL)
            continue; /* extra fields are the game server's business */
        if (*slot != NULL) {
            *why = "repeated field";
            return MM_ERR_INVALID;
        }
        if (vlen > MM_EVENT_MAX_VALUE) {
            *why = "field too long";
            return MM_ERR_INVALID;
        }
        *slot = v;
        *slot_len = vlen;
    }
    if (product == NULL || !mm_id_valid(product, plen)) {
        *why = "missing or invalid product_id";
        return MM_ERR_INVALID;
    }
    if (game == NULL || !mm_id_valid(game, glen)) {
        *why = "missing or invalid game_id";
        return MM_ERR_INVALID;
    }
    if (type == NULL || tlen == 0 || tlen > 64 || mm_text_has_control(type, tlen)) {
        *why = "missing or invalid type";
        return MM_ERR_INVALID;
    }
    out->type = MM_EVENT_OTHER;
    if (is(type, tlen, "state_change")) {
        out->type = MM_EVENT_STATE_CHANGE;
        if (state == NULL || !mm_game_state_parse(state, slen, &out->new_state)) {
            *why = "state_change without a valid new_state";
            return MM_ERR_INVALID;
        }
    } else if (is(type, tlen, "player_disconnect")) {
        out->type = MM_EVENT_PLAYER_DISCONNECT;
        if (player == NULL || pllen == 0 || pllen > MM_ID_MAX ||
            mm_text_has_control(player, pllen)) {
            *why = "player_disconnect without a valid player_id";
            return MM_ERR_INVALID;
        }
        out->player_id = mm_arena_strndup(a, player, pllen);
    } else if (is(type, tlen, "game_removed")) {
        out->type = MM_EVENT_GAME_REMOVED;
    }
    out->product_id = mm_arena_strndup(a, product, plen);
    out->game_id = mm_arena_strndup(a, game, glen);
    out->type_name = mm_arena_strndup(a, type, tlen);
    if (out->product_id == NULL || out->game_id == NULL || out->type_name == NULL ||
        (out->type == MM_EVENT_PLAYER_DISCONNECT && out->player_id == NULL)) {
        *why = "out of memory";
        return MM_ERR_NOMEM;
    }
    return MM_OK;
}
