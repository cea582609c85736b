/* Game-server events as read from the Redis stream (SPEC section 6): the
 * field list of one stream entry decoded and validated into an mm_event.
 * Pure: no I/O; strings live in the caller's arena. */
#ifndef MM_EVENT_H
#define MM_EVENT_H

#include <stddef.h>

#include "arena.h"
#include "game_state.h"
#include "mm.h"

#define MM_EVENT_MAX_FIELDS 64 /* name/value pairs in one entry */
#define MM_EVENT_MAX_VALUE 1024

typedef enum {
    MM_EVENT_STATE_CHANGE,
    MM_EVENT_PLAYER_DISCONNECT,
    MM_EVENT_GAME_REMOVED,
    MM_EVENT_OTHER /* gameplay, game_over, ...: acknowledged and ignored */
} mm_event_type;

typedef struct {
    const char *product_id;
    const char *game_id;
    const char *type_name;
    mm_event_type type;
    mm_game_state new_state; /* state_change */
    const char *player_id;   /* player_disconnect */
} mm_event;

/* fields holds n strings (lens[i] bytes each): name, value, name, value...
 * MM_ERR_INVALID with a reason in *why when a field is missing, repeated,
 * too long, or not of its form. */
mm_status mm_event_decode(mm_arena *a, size_t n, const char *const *fields, const size_t *lens,
                          mm_event *out, const char **why);

#endif
