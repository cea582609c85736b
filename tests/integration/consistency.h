/* The stored-state invariants of SPEC section 5, checked over a live Redis:
 * every game document in exactly one of the three sets, every set member has
 * a document that parses, players <= num_players, no duplicate player. Used
 * by the fault drills and by the soak tool; no test framework inside. */
#ifndef MM_CONSISTENCY_H
#define MM_CONSISTENCY_H

#include <hiredis/hiredis.h>
#include <stddef.h>

typedef struct {
    long games;      /* documents seen */
    long violations; /* broken invariants */
    char first[512]; /* the first violation, for the failure message */
} mm_consistency;

/* Checks the products named in the NULL-terminated array over c (already on
 * the games' database). Returns 0 when Redis answered, -1 otherwise. */
int mm_consistency_check(redisContext *c, const char *const *products, mm_consistency *out);

#endif
