/* A small per-process memo of "stored game document -> its open_games
 * (partial) encoding". Decoding a document is by far the largest cost of
 * open_games, and the lobby's first pages are asked for again and again with
 * the same bytes. The value is a pure function of the document's bytes, so an
 * entry is found only by an exact byte comparison and never goes stale: a
 * changed game is a different document. The table has a fixed number of
 * slots (4-way set-associative) and a cap on the document size, so its memory
 * is bounded; a document that finds its set full replaces one of its entries.
 * mm_doc_cache_new/mm_doc_cache_free own every entry, and no pointer into an
 * entry ever leaves this module: a hit is copied into the caller's arena, so
 * a later put (which may free that entry) cannot change what the caller
 * holds. */
#ifndef MM_DOC_CACHE_H
#define MM_DOC_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

#define MM_DOC_CACHE_SLOTS 256
#define MM_DOC_CACHE_MAX_DOC 2048 /* larger documents (and values) are not kept */

typedef struct mm_doc_cache mm_doc_cache;

/* NULL when out of memory. */
mm_doc_cache *mm_doc_cache_new(void);
void mm_doc_cache_free(mm_doc_cache *c);

/* The value kept for exactly these document bytes: true, with a copy of it in
 * a (NUL-terminated, *value_len bytes before the NUL). False on a miss, and
 * when a cannot take the copy (the caller then does the work itself, as on a
 * miss). */
bool mm_doc_cache_get(const mm_doc_cache *c, mm_arena *a, const char *doc, size_t len, char **value,
                      size_t *value_len);

/* Keeps a copy of value for doc, in doc's own slot, a free one, or the one its
 * set gives up next. What the slot held is dropped first, so a get afterwards
 * finds exactly this value or nothing: nothing for a value over
 * MM_DOC_CACHE_MAX_DOC or when out of memory. A document over
 * MM_DOC_CACHE_MAX_DOC is never kept. */
void mm_doc_cache_put(mm_doc_cache *c, const char *doc, size_t len, const char *value,
                      size_t value_len);

#endif
