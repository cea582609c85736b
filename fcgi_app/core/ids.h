/* Ids that arrive from outside: product ids, game ids. A valid id is 1 to
 * MM_ID_MAX bytes of [A-Za-z0-9_-]. Pure functions. */
#ifndef MM_IDS_H
#define MM_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define MM_ID_MAX 128
#define MM_GAME_ID_LEN 32

bool mm_id_valid(const char *s, size_t len);
/* Writes a new random game id: 32 lowercase hex characters (a v4 UUID
 * without dashes) and a NUL into out[33]. Returns 0, or -1 if the system
 * random source failed. */
int mm_game_id_new(char out[MM_GAME_ID_LEN + 1]);

#endif
