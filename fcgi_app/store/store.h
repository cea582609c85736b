/* store/ -- uses core only; lobby and worker build on it (fcgi_app/README.md).
 * The game store: every change to a game is ONE atomic Redis step (a Lua
 * script run with EVALSHA) that re-checks its preconditions inside Redis.
 * Keys follow SPEC section 5. Games handed back are decoded into the
 * caller's arena; the raw document is kept in mm_stored.doc for
 * compare-and-act (curation). */
#ifndef MM_STORE_H
#define MM_STORE_H

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
    MM_STORE_UNAVAILABLE,    /* Redis did not answer (or a write reached it after its
                                deadline and was refused) */
    MM_STORE_ERROR           /* anything else (logged) */
} mm_store_result;

typedef enum { MM_SET_PENDING = 0, MM_SET_LOBBY, MM_SET_ACTIVE, MM_SET_COUNT } mm_game_set;

typedef struct {
    mm_game game;
    const char *doc; /* the stored JSON, as read or written */
    size_t doc_len;
} mm_stored;

typedef struct mm_store mm_store;

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
const char *mm_store_result_name(mm_store_result r);

/* Stores g (state created) in the hash and the pending set. */
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
} mm_seat;

/* Adds user_id to a creator_joined game with a free seat; full -> lobby to active. */
mm_store_result mm_store_take_seat(mm_store *s, mm_arena *a, const char *product_id,
                                   const char *game_id, const char *user_id, mm_seat *out);
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
 * stored.doc_len only (ids without a document are skipped, logged). The caller
 * decodes, and skips a document that does not parse. */
mm_store_result mm_store_lobby_docs(mm_store *s, mm_arena *a, const char *product_id, long offset,
                                    long count, mm_candidate **out, size_t *n);

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

/* Unix time now, microseconds (the clock every write stamps). */
int64_t mm_store_now_us(void);

#endif
