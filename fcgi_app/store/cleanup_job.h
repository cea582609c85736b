/* A cleanup job: a game-server call curation decided on (remove_game after
 * an expired game is deleted, remove_player after a seat is reset), queued in
 * Redis with the change itself (store.h: mm_store_via, the cleanup queue) and
 * made later by the worker, off its event path. A job is a small JSON object;
 * its attempt count is part of it. Encoding and decoding do no I/O; decoded
 * strings live in the caller's arena. */
#ifndef MM_CLEANUP_JOB_H
#define MM_CLEANUP_JOB_H

#include <stddef.h>

#include "arena.h"
#include "mm.h"

#define MM_CLEANUP_MAX_JOB 4096 /* a longer text is not a job */

typedef enum { MM_CLEANUP_REMOVE_GAME = 0, MM_CLEANUP_REMOVE_PLAYER } mm_cleanup_op;

typedef struct {
    mm_cleanup_op op;
    const char *game_server_url; /* http(s), no trailing slash */
    const char *game_id;
    const char *user_id; /* remove_player only; NULL otherwise */
    int attempt;         /* calls made so far, 0.. */
} mm_cleanup_job;

/* The job's text (NUL-terminated, in a), or NULL when memory is short or a field is
 * missing. */
char *mm_cleanup_job_encode(mm_arena *a, const mm_cleanup_job *job);

/* MM_ERR_INVALID for anything but a job as mm_cleanup_job_encode writes it (unknown op, a
 * missing or mistyped field, an attempt outside 0..1000, a URL that is not http(s)). */
mm_status mm_cleanup_job_decode(mm_arena *a, const char *text, size_t len, mm_cleanup_job *out);

/* "remove_game" or "remove_player". */
const char *mm_cleanup_op_name(mm_cleanup_op op);

#endif
