/* store/ -- uses core only. The live lobby's publisher (SPEC 13): after a store step changed
 * what the lobby lists, one message goes to the channel of the game's product on the host's
 * nginx (nchan's publisher location, nginx/matchmaker-live-publisher.conf), written on a
 * kept-alive WebSocket per product that the process opens on its first message. A publish
 * that fails is logged and counted, never reported to the step's caller: the change is
 * made, only its push is missing, and clients read open_games again whenever their
 * subscription reconnects. mm_lobby_publisher_new has one matching mm_lobby_publisher_free. */
#ifndef MM_LOBBY_PUBLISHER_H
#define MM_LOBBY_PUBLISHER_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "mm.h"
#include "store.h"

typedef struct mm_lobby_publisher mm_lobby_publisher;

typedef struct {
    uint64_t published;   /* messages written to nginx */
    uint64_t failed;      /* messages lost: no connection, a write that failed or timed out,
                             or a document that did not make a message */
    uint64_t unconfirmed; /* published, on a connection that closed before nginx answered
                             them (by a reload of nginx, say): maybe lost */
} mm_publish_counts;

/* address as the configuration's lobby_publisher: "unix:/path" (the publisher socket of the
 * host's nginx) or "http://host[:port]"; "" publishes nothing. timeout_ms (> 0) bounds one
 * publish: connecting and upgrading, or writing. NULL when memory is short or the address
 * does not resolve. */
mm_lobby_publisher *mm_lobby_publisher_new(const char *address, long timeout_ms);
/* NULL is accepted. */
void mm_lobby_publisher_free(mm_lobby_publisher *p);

/* An mm_store_observer (mm_store_set_observer(store, mm_lobby_publisher_observe, p)):
 * publishes the change's message. */
void mm_lobby_publisher_observe(void *ctx, const char *product_id, const char *game_id,
                                mm_lobby_effect effect, const char *doc, size_t doc_len);

/* What the publisher did so far, once what nginx has answered is taken in (no waiting): a
 * connection nginx closed is seen here. */
void mm_lobby_publisher_counts(mm_lobby_publisher *p, mm_publish_counts *out);

/* The message of one lobby change, no I/O: {"type": "listed" | "updated" | "unlisted",
 * "product_id", "game_id", "game"} with the game's partial form (SPEC 3) for listed and
 * updated, none for unlisted. MM_OK with *msg in a (length in *len), or with *msg NULL for
 * a private game's document (never published); MM_ERR_INVALID when a listed or updated
 * change comes without a document that decodes; MM_ERR_NOMEM. */
mm_status mm_lobby_message(mm_arena *a, const char *product_id, const char *game_id,
                           mm_lobby_effect effect, const char *doc, size_t doc_len,
                           const char **msg, size_t *len);

/* "listed", "updated", "unlisted". */
const char *mm_lobby_effect_name(mm_lobby_effect effect);

#endif
