#include "doc_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *mem; /* the document, then the value, in one block; NULL when empty */
    size_t doc_len, value_len;
} slot;

struct mm_doc_cache {
    slot slots[MM_DOC_CACHE_SLOTS];
};

/* FNV-1a: documents of one lobby differ in their ids, spread over the bytes. */
static size_t slot_of(const char *doc, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)doc[i];
        h *= 16777619u;
    }
    return h % MM_DOC_CACHE_SLOTS;
}

mm_doc_cache *mm_doc_cache_new(void)
{
    return calloc(1, sizeof(mm_doc_cache));
}

void mm_doc_cache_free(mm_doc_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < MM_DOC_CACHE_SLOTS; i++)
        free(c->slots[i].mem);
    free(c);
}

bool mm_doc_cache_get(const mm_doc_cache *c, const char *doc, size_t len, const char **value,
                      size_t *value_len)
{
    if (len > MM_DOC_CACHE_MAX_DOC)
        return false;
    const slot *s = &c->slots[slot_of(doc, len)];
    if (s->mem == NULL || s->doc_len != len || memcmp(s->mem, doc, len) != 0)
        return false;
    *value = s->mem + len;
    *value_len = s->value_len;
    return true;
}

void mm_doc_cache_put(mm_doc_cache *c, const char *doc, size_t len, const char *value,
                      size_t value_len)
{
    if (len > MM_DOC_CACHE_MAX_DOC || value_len > MM_DOC_CACHE_MAX_DOC)
        return;
    slot *s = &c->slots[slot_of(doc, len)];
    char *mem = malloc(len + value_len + 1);
    if (mem == NULL)
        return;
    memcpy(mem, doc, len);
    memcpy(mem + len, value, value_len);
    mem[len + value_len] = '\0';
    free(s->mem);
    s->mem = mem;
    s->doc_len = len;
    s->value_len = value_len;
}
