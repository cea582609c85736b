/* The game document (SPEC section 3): the decoded form, its JSON encoding in
 * full and partial form, the _last_updated clock format, capacity and expiry.
 * Decoded strings live in the caller's arena; nothing here does I/O. */
#ifndef MM_GAME_H
#define MM_GAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "game_state.h"
#include "ids.h"
#include "mm.h"

#define MM_GAME_MAX_DOC ((size_t)64 * 1024) /* a stored document larger than this is refused */
#define MM_GAME_TIME_LEN 32                 /* "23-Nov-2026 (18:04:05.123456)" + NUL fits */

typedef struct {
    const char *game_id;
    const char *product_id;
    const char *game_server_url;
    const char *creator_id;
    const char *creator_name;
    const char **players; /* nplayers entries; players[0] is the creator */
    size_t nplayers;
    const char *settings_json; /* the settings object as JSON text */
    const char *token;
    int64_t last_updated_us; /* Unix time, microseconds, UTC */
    int num_players;         /* settings.num_players, 2..64, default 2 */
    mm_game_state state;
    bool private_game;     /* SPEC 12: never listed; joined by its code */
    const char *join_code; /* a private game's code (NULL: none) */
} mm_game;

typedef enum {
    MM_GAME_FULL,   /* everything, as stored in Redis */
    MM_GAME_PARTIAL /* without token, _last_updated and state (open_games) */
} mm_game_form;

/* Formats us (Unix microseconds) as "%d-%b-%Y (%H:%M:%S.%f)" in UTC. */
void mm_game_format_time(int64_t us, char out[MM_GAME_TIME_LEN]);
/* Parses that format back; returns false on anything else. */
bool mm_game_parse_time(const char *s, size_t len, int64_t *us);

/* Decodes a stored document. MM_ERR_INVALID when it is not an object, lacks
 * or mistypes a required field, has an unknown state, a players list that is
 * empty, does not hold the creator or holds more than num_players or a
 * duplicate; MM_ERR_TOO_LARGE over MM_GAME_MAX_DOC. */
mm_status mm_game_decode(mm_arena *a, const char *json, size_t len, mm_game *out);

/* Encodes g; target, when not NULL, adds "target_game_server": target.
 * Returns NUL-terminated JSON in the arena (length in *len), or NULL. */
char *mm_game_encode(mm_arena *a, const mm_game *g, mm_game_form form, const char *target,
                     size_t *len);

/* A stored document (a JSON object, as mm_game_encode or the store scripts write it) with
 * "target_game_server": target added as its last field: for a document d of game g,
 * the same bytes as mm_game_encode(g, MM_GAME_FULL, target). Whitespace around the object
 * is dropped. NULL if doc is not "{...}" or memory is short. */
char *mm_game_add_target(mm_arena *a, const char *doc, size_t len, const char *target,
                         size_t *out_len);
/* The same for any field: "name": value (a string, JSON-escaped) added last. name is a plain
 * identifier the caller writes (no escaping). */
char *mm_game_add_field(mm_arena *a, const char *doc, size_t len, const char *name,
                        const char *value, size_t *out_len);

bool mm_game_is_full(const mm_game *g);
/* True when last_updated + expiry_seconds[state] < now. */
bool mm_game_expired(const mm_game *g, const long expiry_seconds[MM_STATE_COUNT], int64_t now_us);

#endif
