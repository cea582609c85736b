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

/* Join codes of private games (SPEC 12): MM_JOIN_CODE_LEN characters of MM_JOIN_CODE_ALPHABET
 * (no 0/O, 1/I look-alikes). */
#define MM_JOIN_CODE_LEN 6
#define MM_JOIN_CODE_ALPHABET "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
/* A new random code and a NUL in out; 0, or -1 if the random source failed. */
int mm_join_code_new(char out[MM_JOIN_CODE_LEN + 1]);
/* A code as a player typed it, case-insensitive, into its canonical (upper case) form in
 * out; false when s[0..len) is not a code. */
bool mm_join_code_normalize(const char *s, size_t len, char out[MM_JOIN_CODE_LEN + 1]);

#endif
