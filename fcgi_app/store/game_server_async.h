/* Game-server calls made many at a time, without blocking: libcurl's multi
 * interface, for the worker's cleanup calls (remove_game, remove_player). A
 * call is started with a tag and finishes later, in mm_gs_multi_run, which
 * never waits longer than it is told; a hanging game server holds only its
 * own calls, each bounded by the client's timeouts. Connections are kept and
 * reused across calls. mm_gs_multi_new has one matching mm_gs_multi_free
 * (which abandons what is in flight, without callbacks). */
#ifndef MM_GAME_SERVER_ASYNC_H
#define MM_GAME_SERVER_ASYNC_H

#include "cleanup_job.h"
#include "game_server_client.h"

typedef struct mm_gs_multi mm_gs_multi;

/* Called once per call started, when it ends; tag is the one given to start. */
typedef void (*mm_gs_multi_done_fn)(void *ctx, void *tag, mm_gs_result r);

/* At most max_in_flight calls at once. NULL on bad arguments or failure. */
mm_gs_multi *mm_gs_multi_new(long connect_timeout_ms, long timeout_ms, int max_in_flight);
void mm_gs_multi_free(mm_gs_multi *m);

/* How many more calls may be started now. */
int mm_gs_multi_free_slots(const mm_gs_multi *m);
int mm_gs_multi_in_flight(const mm_gs_multi *m);

/* Starts the call a job describes. MM_ERR_NOMEM when no slot is free or memory is short. */
mm_status mm_gs_multi_start(mm_gs_multi *m, const mm_cleanup_job *job, void *tag);

/* Moves the calls on, waiting up to wait_ms for one of them to make progress (0: not at
 * all), and reports each that ended through done. */
void mm_gs_multi_run(mm_gs_multi *m, long wait_ms, mm_gs_multi_done_fn done, void *ctx);

/* Ends every call in flight at once, reporting each through done as MM_GS_UNAVAILABLE. */
void mm_gs_multi_abandon(mm_gs_multi *m, mm_gs_multi_done_fn done, void *ctx);

#endif
