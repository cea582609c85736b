/* The game-server client (SPEC section 4): JSON POSTs over libcurl through one reused easy
 * handle per process, so connections stay alive between requests, each call checked with
 * and reported to the game server's circuit breaker (breaker.h, SPEC 11) when the client
 * has one. mm_gs_client_new has one matching mm_gs_client_free; a game token is copied
 * into the caller's arena. */
#ifndef MM_GAME_SERVER_CLIENT_H
#define MM_GAME_SERVER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "breaker.h"

#define MM_GS_MAX_ANSWER ((size_t)64 * 1024) /* a bigger answer aborts the transfer */
#define MM_GS_MAX_TOKEN ((size_t)4096)

typedef enum {
    MM_GS_OK = 0,
    MM_GS_REFUSED,    /* the game server answered, with a status other than 2xx */
    MM_GS_UNAVAILABLE /* no usable answer: connect failure, timeout, transport error, an
                         answer over MM_GS_MAX_ANSWER, or on create an answer without a
                         string gameToken of 1..MM_GS_MAX_TOKEN bytes; or not called,
                         its circuit breaker being open */
} mm_gs_result;

typedef struct mm_gs_client mm_gs_client;

/* Both timeouts must be > 0 (a zero would mean "wait forever" to libcurl). The client takes
 * breaker (NULL: calls are never refused) and closes it when freed, also when it fails.
 * Calls curl_global_init the first time, which is not thread-safe: the processes are
 * single-threaded and create their client at start-up. NULL on bad timeouts or failure. */
mm_gs_client *mm_gs_client_new(long connect_timeout_ms, long timeout_ms, mm_breaker *breaker);
/* NULL is accepted. */
void mm_gs_client_free(mm_gs_client *c);

/* Each call POSTs {base_url}/{op}; base_url has no trailing slash. On MM_GS_OK,
 * *token_out is the game server's gameToken, in a. On any other result it is NULL. */
mm_gs_result mm_gs_create_game(mm_gs_client *c, mm_arena *a, const char *base_url,
                               const char *game_id, const char *user_id, const char *username,
                               const char **token_out);
mm_gs_result mm_gs_join_game(mm_gs_client *c, mm_arena *a, const char *base_url,
                             const char *game_id, const char *user_id, const char *username);
mm_gs_result mm_gs_remove_game(mm_gs_client *c, mm_arena *a, const char *base_url,
                               const char *game_id);
mm_gs_result mm_gs_remove_player(mm_gs_client *c, mm_arena *a, const char *base_url,
                                 const char *game_id, const char *user_id);

/* Classifies an answer; no I/O. status is the HTTP status (0: none; outside 100..599 is no
 * answer, any other non-2xx is REFUSED), body/len the answer (over MM_GS_MAX_ANSWER is no
 * answer). With want_token a 2xx must carry one JSON object whose "gameToken" is a non-empty
 * string, copied into a (and through token_out when not NULL); otherwise its body is ignored. */
mm_gs_result mm_gs_classify(mm_arena *a, long status, const char *body, size_t len, bool want_token,
                            const char **token_out);

/* "ok", "refused", "unavailable". */
const char *mm_gs_result_name(mm_gs_result r);

/* Whether the last call was MM_GS_UNAVAILABLE after its request reached the game server (a
 * timeout waiting for the answer, a connection lost mid-answer, an answer that could not be
 * used): the game server may have acted on it. False after a success, a refusal, a
 * failure to connect, or a call its breaker refused. */
bool mm_gs_may_have_acted(const mm_gs_client *c);

/* New connections this client has opened so far (for tests: keep-alive means 1). */
long mm_gs_client_connects(const mm_gs_client *c);

#endif
