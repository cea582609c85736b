#include "doc_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *mem; /* the document, then the value, in one block; NULL when empty */
    size_t doc_len, value_len;
} slot;

/* Slots are grouped in sets of WAYS: a document may sit in any slot of its
 * set, so a page whose documents share a set does not keep evicting itself
 * (with one slot per set, 10 documents in 256 slots collide 16% of the time). */
#define WAYS 4
#define SETS (MM_DOC_CACHE_SLOTS / WAYS)

struct mm_doc_cache {
    slot slots[SETS][WAYS];
    unsigned char next[SETS]; /* the way a put replaces next, round robin */
};

/* Eight bytes per step (a multiply-xor mix): a lookup hashes ten documents
 * of a few hundred bytes, and a byte-wise hash was a quarter of the route's
 * instructions. Every byte counts, so documents of one lobby (which differ
 * in their ids) spread over the slots. */
static size_t set_of(const char *doc, size_t len)
{
    const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
    uint64_t h = k ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, doc + i, 8);
        h = (h ^ w) * k;
        h ^= h >> 31;
    }
    for (; i < len; i++)
        h = (h ^ (unsigned char)doc[i]) * k;
    h ^= h >> 29;
    return (size_t)(h % SETS);
}

mm_doc_cache *mm_doc_cache_new(void)
{
    return calloc(1, sizeof(mm_doc_cache));
}

void mm_doc_cache_free(mm_doc_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < SETS; i++)
        for (size_t w = 0; w < WAYS; w++)
            free(c->slots[i][w].mem);
    free(c);
}

static bool holds(const slot *s, const char *doc, size_t len)
{
    return s->mem != NULL && s->doc_len == len && memcmp(s->mem, doc, len) == 0;
}

bool mm_doc_cache_get(const mm_doc_cache *c, mm_arena *a, const char *doc, size_t len, char **value,
                      size_t *value_len)
{
    if (len > MM_DOC_CACHE_MAX_DOC)
        return false;
    const slot *set = c->slots[set_of(doc, len)];
    for (size_t w = 0; w < WAYS; w++) {
        if (!holds(&set[w], doc, len))
            continue;
        /* A copy, never the slot's memory: a put later in the same request may
         * give this slot to another document and free it. */
        char *copy = mm_arena_alloc(a, set[w].value_len + 1);
        if (copy == NULL)
            return false;
        memcpy(copy, set[w].mem + len, set[w].value_len + 1);
        *value = copy;
        *value_len = set[w].value_len;
        return true;
    }
    return false;
}

void mm_doc_cache_put(mm_doc_cache *c, const char *doc, size_t len, const char *value,
                      size_t value_len)
{
    if (len > MM_DOC_CACHE_MAX_DOC)
        return;
    size_t i = set_of(doc, len);
    slot *set = c->slots[i];
    /* The document's own slot wherever it is, else a free one: an earlier
     * put may have emptied a slot before the document's, and a second entry
     * for it there would leave the older value to be found once the newer is
     * replaced. */
    slot *s = NULL;
    for (size_t w = 0; w < WAYS && s == NULL; w++)
        if (holds(&set[w], doc, len))
            s = &set[w];
    for (size_t w = 0; w < WAYS && s == NULL; w++)
        if (set[w].mem == NULL)
            s = &set[w];
    if (s == NULL) {
        s = &set[c->next[i]];
        c->next[i] = (unsigned char)((c->next[i] + 1) % WAYS);
    }
    /* Emptied before anything can fail, so that doc's older value is never
     * left behind for a get to find. */
    free(s->mem);
    s->mem = NULL;
    if (value_len > MM_DOC_CACHE_MAX_DOC)
        return;
    char *mem = malloc(len + value_len + 1);
    if (mem == NULL)
        return;
    memcpy(mem, doc, len);
    memcpy(mem + len, value, value_len);
    mem[len + value_len] = '\0';
    s->mem = mem;
    s->doc_len = len;
    s->value_len = value_len;
}
