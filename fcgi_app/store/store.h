/* store/ -- uses core only; lobby and worker build on it (fcgi_app/README.md).
 * The game store: every change to a game is ONE atomic Redis step (a Lua
 * script run with EVALSHA) that re-checks its preconditions inside Redis.
 * Keys follow SPEC section 5. Games handed back are decoded into the
 * caller's arena; the raw document is kept in mm_stored.doc for
 * compare-and-act (curation). */
#ifndef MM_STORE_H
#define MM_STORE_H

#include <stdbool.h>

#include "arena.h"
#include "game.h"
#include "rconn.h"

typedef enum {
    MM_STORE_OK = 0,
    MM_STORE_NOT_FOUND,
    MM_STORE_EXISTS,         /* create: the id is taken */
    MM_STORE_WRONG_STATE,    /* the state does not allow it (mm_stored.game.state says which) */
    MM_STORE_ALREADY_JOINED, /* reserve: the player is in the game */
    MM_STORE_FULL,           /* reserve: no free seat */
    MM_STORE_NOT_PLAYER,     /* undo/reset: no such (non-creator) player */
    MM_STORE_CHANGED,        /* the document is not the one expected */
    MM_STORE_CORRUPT,        /* the stored document does not parse */
    MM_STORE_STALE,          /* an event older than the last one applied to the game */
    MM_STORE_LIMIT_GAMES,    /* the user has max_open_games_per_user games not started */
    MM_STORE_LIMIT_SEATS,    /* the user holds max_seats_per_user seats */
    MM_STORE_RATE,           /* the user made user_requests_per_minute calls this minute */
    MM_STORE_CODE_TAKEN,     /* create: another live game of the product has the join code */
    MM_STORE_STARTED,        /* leave: the game is in progress or ended */
    MM_STORE_NONE,           /* quick match: no listed game to join */
    MM_STORE_NO_MEMORY,      /* Redis is at maxmemory and refused the step's first write:
                                nothing was written (SPEC 11: 503) */
    MM_STORE_UNAVAILABLE,    /* Redis did not answer (or a write reached it after its
                                deadline and was refused) */
    MM_STORE_ERROR           /* anything else (logged) */
} mm_store_result;

/* The sets a game is in (one at a time): created, listed, full or started, and listed to
 * no one (a private game waiting for players, SPEC 12). */
typedef enum {
    MM_SET_PENDING = 0,
    MM_SET_LOBBY,
    MM_SET_ACTIVE,
    MM_SET_PRIVATE,
    MM_SET_COUNT
} mm_game_set;

/* A lobby filter index: "|key=value|..." with the keys sorted, after the lobby set's key. */
#define MM_FILTER_INDEX_MAX 512

typedef struct {
    mm_game game;
    const char *doc; /* the stored JSON, as read or written */
    size_t doc_len;
} mm_stored;

typedef struct mm_store mm_store;

/* SPEC 11's per-user limits, per product (0: none). */
typedef struct {
    long max_open_games;      /* games created and not started */
    long max_seats;           /* seats in games not in progress */
    long requests_per_minute; /* create/join/quick_match calls */
} mm_user_limits;

/* What a step did to the listed lobby (SPEC 13). */
typedef enum { MM_LOBBY_LISTED, MM_LOBBY_UPDATED, MM_LOBBY_UNLISTED } mm_lobby_effect;

/* Called after each step that changed what the lobby lists, with the game's document after
 * the step (before it, for a delete; NULL when unknown). Private games are never listed,
 * so they never come here. */
typedef void (*mm_store_observer)(void *ctx, const char *product_id, const char *game_id,
                                  mm_lobby_effect effect, const char *doc, size_t doc_len);

/* What a write made for the worker carries besides its own arguments (NULL: nothing). */
typedef struct {
    const char *event_id;    /* the stream id of the event applied: the write is refused as
                                MM_STORE_STALE if the game has had a newer event applied, and
                                records this one otherwise (SPEC 10: events in stream order) */
    const char *cleanup_job; /* a game-server call (cleanup.h) queued with the change, in the
                                same atomic step, so that it cannot be lost */
} mm_store_via;

/* conn is borrowed; it must outlive the store. */
mm_store *mm_store_new(mm_rconn *conn);
void mm_store_free(mm_store *s);
/* The limits creates and seats are held to (none until set). */
void mm_store_set_limits(mm_store *s, const mm_user_limits *limits);
/* SPEC 14: after each write step, WAIT until n replicas have it; fewer in time makes the
 * step MM_STORE_UNAVAILABLE (it may have been applied on the primary only). 0: no wait. */
void mm_store_set_min_replicas_ack(mm_store *s, long n);
/* Sets the observer of lobby changes (NULL: none). */
void mm_store_set_observer(mm_store *s, mm_store_observer fn, void *ctx);
const char *mm_store_result_name(mm_store_result r);

/* Before a create calls the game server: counts the call (count_call) and checks the user's
 * rate, open games and seats. MM_STORE_RATE (with *retry_ms), MM_STORE_LIMIT_GAMES,
 * MM_STORE_LIMIT_SEATS, or MM_STORE_OK. */
mm_store_result mm_store_admit(mm_store *s, const char *product_id, const char *user_id,
                               bool count_call, long *retry_ms);
/* Stores g (state created) in the hash and the pending set, with its join code when it has
 * one (MM_STORE_CODE_TAKEN: draw another), checking the creator's limits again in the same
 * step (MM_STORE_LIMIT_GAMES, MM_STORE_LIMIT_SEATS). */
mm_store_result mm_store_create(mm_store *s, mm_arena *a, const mm_game *g);
/* Moves a game to the next state; to creator_joined it also moves pending -> lobby
 * (publish), past it the game is in the active set. */
mm_store_result mm_store_advance(mm_store *s, mm_arena *a, const char *product_id,
                                 const char *game_id, mm_game_state to, const mm_store_via *via,
                                 mm_stored *out);
/* A seat taken by mm_store_take_seat. doc is the stored document as the script
 * answered it (after the change on MM_STORE_OK; as found on WRONG_STATE,
 * ALREADY_JOINED and FULL; NULL otherwise). The other fields are set on
 * MM_STORE_OK only: they come from the script, so the hot path of a join never
 * decodes the document in C. */
typedef struct {
    const char *doc;
    size_t doc_len;
    const char *game_server_url;
    long nplayers;    /* players seated now, the new one included */
    long num_players; /* the game's capacity */
    long retry_ms;    /* MM_STORE_RATE: until the user's minute ends */
} mm_seat;

/* Adds user_id to a creator_joined game with a free seat; full -> lobby to active. The call
 * counts for the user's rate and the seat for their seats (MM_STORE_RATE,
 * MM_STORE_LIMIT_SEATS). With a join code, the code must still name this game
 * (MM_STORE_NOT_FOUND otherwise). */
mm_store_result mm_store_take_seat(mm_store *s, mm_arena *a, const char *product_id,
                                   const char *game_id, const char *user_id, const char *code,
                                   mm_seat *out);
/* Quick match: takes a seat in the oldest listed game of the filter index (NULL or "": the
 * whole lobby) that has one free and does not hold the user, passing over the games listed
 * in pass_over (ids joined by ','). count_call: the call counts for the user's rate (a
 * retry after a game server's refusal does not). MM_STORE_NONE when there is none;
 * *game_id names the game on MM_STORE_OK. */
mm_store_result mm_store_quick_seat(mm_store *s, mm_arena *a, const char *product_id,
                                    const char *user_id, const char *filter_index,
                                    const char *pass_over, bool count_call, mm_seat *out,
                                    const char **game_id);

/* What a leave did: the game deleted (its creator left) or the player taken out. */
typedef struct {
    bool game_removed;
    const char *doc; /* the game after the step (before it, when deleted) */
    size_t doc_len;
    const char *game_server_url;
} mm_leave;
/* user_id leaves game_id (SPEC 12): MM_STORE_OK, MM_STORE_NOT_FOUND, MM_STORE_NOT_PLAYER,
 * MM_STORE_STARTED. */
mm_store_result mm_store_leave(mm_store *s, mm_arena *a, const char *product_id,
                               const char *game_id, const char *user_id, mm_leave *out);
/* The game a join code names (in a), MM_STORE_NOT_FOUND when none. */
mm_store_result mm_store_code_game(mm_store *s, mm_arena *a, const char *product_id,
                                   const char *code, const char **game_id);
/* mm_store_take_seat, with the document decoded into out->game as the other
 * writes do (MM_STORE_CORRUPT if the changed document does not decode). */
mm_store_result mm_store_reserve_seat(mm_store *s, mm_arena *a, const char *product_id,
                                      const char *game_id, const char *user_id, mm_stored *out);
/* Gives user_id's seat back (not the creator's), only while the game is as a reservation
 * leaves it (creator_joined, user seated): MM_STORE_CHANGED once it moved on. Back to the
 * lobby if it had left it. */
mm_store_result mm_store_undo_seat(mm_store *s, mm_arena *a, const char *product_id,
                                   const char *game_id, const char *user_id, mm_stored *out);
/* Drops user_id (NULL: the last player), state back to creator_joined, relisted in the
 * lobby. Allowed from creator_joined, all_players_joined and in_progress. When expect_doc
 * is not NULL, acts only if the stored document is exactly that. *removed gets the id. */
mm_store_result mm_store_reset(mm_store *s, mm_arena *a, const char *product_id,
                               const char *game_id, const char *user_id, const char *expect_doc,
                               const mm_store_via *via, mm_stored *out, const char **removed);
/* Deletes the game: hash field, all three sets, wlock (MM_STORE_NOT_FOUND when the document
 * was already gone; its set entries are cleaned all the same). */
mm_store_result mm_store_delete(mm_store *s, const char *product_id, const char *game_id);
/* The same, only if the stored document is exactly doc[0..len) (which may hold any byte):
 * MM_STORE_CHANGED otherwise. */
mm_store_result mm_store_delete_exact(mm_store *s, const char *product_id, const char *game_id,
                                      const char *doc, size_t len);
/* Removes the set entries and wlock of a game whose document is missing, only while it is
 * still missing (MM_STORE_CHANGED when a document is there). */
mm_store_result mm_store_delete_orphan(mm_store *s, const char *product_id, const char *game_id);
/* mm_store_delete (doc NULL) or mm_store_delete_exact, with what via carries. */
mm_store_result mm_store_delete_via(mm_store *s, const char *product_id, const char *game_id,
                                    const char *doc, size_t len, const mm_store_via *via);

/* The product's cleanup queue (__cleanup:{product_id}): game-server calls curation decided
 * on, made by the worker off its event path. claim takes up to max jobs that are due and
 * leases them for lease_ms (a worker that dies with them leaves them to be taken again);
 * *jobs (in a) are the jobs' texts. settle removes a job taken and, when next_job is not
 * NULL, queues it due in delay_ms. */
mm_store_result mm_store_cleanup_claim(mm_store *s, mm_arena *a, const char *product_id,
                                       long lease_ms, long max, const char ***jobs, size_t *n);
mm_store_result mm_store_cleanup_settle(mm_store *s, const char *product_id, const char *job,
                                        const char *next_job, long delay_ms);
mm_store_result mm_store_get(mm_store *s, mm_arena *a, const char *product_id, const char *game_id,
                             mm_stored *out);

/* Lobby entries [offset, offset+count) oldest first, ids and documents in one round
 * trip; ids whose document is missing or does not parse are skipped (logged). */
mm_store_result mm_store_lobby_page(mm_store *s, mm_arena *a, const char *product_id, long offset,
                                    long count, mm_stored **games, size_t *n);
/* Up to limit of the oldest members of set whose score (ms) is <= cutoff_ms, skipping the
 * first offset of them, with their documents; doc is NULL for a member whose document is
 * missing or corrupt. */
typedef struct {
    const char *game_id;
    mm_stored stored; /* stored.doc NULL: no usable document */
    const char *raw;  /* the stored bytes, usable or not; NULL when there are none */
    size_t raw_len;
} mm_candidate;
mm_store_result mm_store_candidates(mm_store *s, mm_arena *a, const char *product_id,
                                    mm_game_set set, int64_t cutoff_ms, long offset, long limit,
                                    mm_candidate **out, size_t *n);
/* As mm_store_lobby_page, but the documents are not decoded: stored.doc and
 * stored.doc_len only (ids without a document are skipped, logged), from the lobby filter
 * index filter_index (NULL or "": the whole lobby). The caller decodes, and skips a
 * document that does not parse. */
mm_store_result mm_store_lobby_docs(mm_store *s, mm_arena *a, const char *product_id,
                                    const char *filter_index, long offset, long count,
                                    mm_candidate **out, size_t *n);

/* The event stream's own steps, for a store made on the stream's connection. dead_letter
 * moves entry_id of stream to the dead_letter stream (its fields plus reason and
 * original_id; that stream kept to about max_len entries) and acknowledges it for group, in
 * one step. stream_trim trims stream towards max_len entries (approximately, at most 10000
 * per call) but never past floor_id, the oldest entry some group has not acknowledged
 * (NULL: none); *trimmed says how many went. */
mm_store_result mm_store_dead_letter(mm_store *s, const char *stream, const char *dead_letter,
                                     const char *group, const char *entry_id, const char *reason,
                                     long max_len);
mm_store_result mm_store_stream_trim(mm_store *s, const char *stream, long max_len,
                                     const char *floor_id, long long *trimmed);

/* Idempotency-Key records (SPEC 12; lobby/idempotency.h says what they hold). claim sets
 * key to marker for running_ms unless it holds something: MM_STORE_EXISTS and *held (in a)
 * its value; like every write, it does nothing once past its deadline (Redis frozen:
 * MM_STORE_UNAVAILABLE, nothing left behind). keep sets key to value[0..len) for keep_ms,
 * or deletes it when value is NULL. */
mm_store_result mm_store_idem_claim(mm_store *s, mm_arena *a, const char *key,
                                    const char *marker, long running_ms, const char **held,
                                    size_t *held_len);
mm_store_result mm_store_idem_keep(mm_store *s, mm_arena *a, const char *key, const char *value,
                                   size_t len, long keep_ms);

/* Unix time now, microseconds (the clock every write stamps). */
int64_t mm_store_now_us(void);

#endif
