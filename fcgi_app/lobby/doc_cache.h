/* A small per-process memo of "stored game document -> its open_games
 * (partial) encoding". Decoding a document is by far the largest cost of
 * open_games, and the lobby's first pages are asked for again and again with
 * the same bytes. The value is a pure function of the document's bytes, so an
 * entry is found only by an exact byte comparison and never goes stale: a
 * changed game is a different document. The table has a fixed number of
 * slots (4-way set-associative) and a cap on the document size, so its memory
 * is bounded; a document that finds its set full replaces one of its entries.
 * mm_doc_cache_new/mm_doc_cache_free own every entry. */
#ifndef MM_DOC_CACHE_H
#define MM_DOC_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#define MM_DOC_CACHE_SLOTS 256
#define MM_DOC_CACHE_MAX_DOC 2048 /* larger documents (and values) are not kept */

typedef struct mm_doc_cache mm_doc_cache;

/* NULL when out of memory. */
mm_doc_cache *mm_doc_cache_new(void);
void mm_doc_cache_free(mm_doc_cache *c);

/* The value kept for exactly these document bytes: true and *value, *value_len
 * (owned by the cache, valid until the next mm_doc_cache_put), else false. */
bool mm_doc_cache_get(const mm_doc_cache *c, const char *doc, size_t len, const char **value,
                      size_t *value_len);

/* Keeps value for doc, replacing what the slot held. Does nothing for a
 * document or value over MM_DOC_CACHE_MAX_DOC, or when out of memory. */
void mm_doc_cache_put(mm_doc_cache *c, const char *doc, size_t len, const char *value,
                      size_t value_len);

#endif
