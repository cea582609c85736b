/* Fuzz target: the open_games document memo (doc_cache.h), driven by a
 * sequence of gets and puts read from the input and held to a reference
 * model: a plain list of every document put and the value last put for it.
 *   - A get that hits returns exactly the value last put for that document,
 *     NUL-terminated; a document never put, or whose last put was too large
 *     to keep, misses. (A miss is otherwise allowed: entries are evicted.)
 *   - A put of a document and value within the cap is found at once.
 *   - What a get handed out stays intact whatever is put afterwards, until
 *     its arena is reset (issue 13: a hit pointed into a slot that a later
 *     put of the same page freed).
 *   - A get into an arena too small for the copy misses.
 *   - No more documents are kept than there are slots.
 * Documents come from a pool of 1024 game-like documents (so that sets fill
 * and evict) or from the input's own bytes; values are generated, each put
 * a different one, with lengths around the cap. */
#include <stdbool.h>
#include <string.h>

#include "arena.h"
#include "doc_cache.h"
#include "fuzz.h"
#include "mm.h"

#define POOL 1024
#define MAX_HELD 4096

typedef struct {
    const uint8_t *data;
    size_t size, pos;
} input;

static bool more(const input *in)
{
    return in->pos < in->size;
}

static unsigned next(input *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

/* ---- the reference model ---- */

typedef struct {
    char *doc;
    size_t doc_len;
    char *value; /* NULL: nothing may be found for doc */
    size_t value_len;
} model_entry;

typedef struct {
    model_entry *e;
    size_t n, cap;
} model;

static model_entry *model_find(model *m, const char *doc, size_t len)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].doc_len == len && memcmp(m->e[i].doc, doc, len) == 0)
            return &m->e[i];
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        model_entry *e = realloc(m->e, cap * sizeof(*e));
        FUZZ_CHECK(e != NULL);
        m->e = e;
        m->cap = cap;
    }
    model_entry *e = &m->e[m->n++];
    e->doc = malloc(len ? len : 1);
    FUZZ_CHECK(e->doc != NULL);
    memcpy(e->doc, doc, len);
    e->doc_len = len;
    e->value = NULL;
    e->value_len = 0;
    return e;
}

static void model_free(model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].doc);
        free(m->e[i].value);
    }
    free(m->e);
}

/* ---- what gets handed out, to be checked again later ---- */

typedef struct {
    const char *got; /* in the arena */
    char *want;      /* a private copy of what the model said */
    size_t len;
} held_value;

typedef struct {
    held_value h[MAX_HELD];
    size_t n;
} held;

static void held_check(const held *hv)
{
    for (size_t i = 0; i < hv->n; i++) {
        FUZZ_CHECK(memcmp(hv->h[i].got, hv->h[i].want, hv->h[i].len) == 0);
        FUZZ_CHECK(hv->h[i].got[hv->h[i].len] == '\0');
    }
}

/* The end of a request: everything handed out was intact to the last. */
static void held_release(held *hv, mm_arena *a)
{
    held_check(hv);
    for (size_t i = 0; i < hv->n; i++)
        free(hv->h[i].want);
    hv->n = 0;
    mm_arena_reset(a);
}

/* ---- the state of one run ---- */

typedef struct {
    mm_doc_cache *cache;
    mm_arena *arena;
    model m;
    held hv;
    unsigned puts; /* makes every value put a different one */
    char doc[MM_DOC_CACHE_MAX_DOC + 2];
    size_t doc_len;
    char value[MM_DOC_CACHE_MAX_DOC + 2];
    size_t value_len;
} run;

static void pool_doc(run *r, unsigned k)
{
    /* lengths vary with k, ids differ in a few characters, as in a lobby */
    int n = snprintf(r->doc, sizeof(r->doc),
                     "{\"game_id\": \"%032x\", \"creator_name\": \"%.*s\", \"players\": [\"u%u\"]}",
                     k, (int)(k % 23), "abcdefghijklmnopqrstuvwxyz", k);
    r->doc_len = (size_t)n;
}

/* The next document: one of the pool, or bytes of the input (up to just
 * over the cap, by repeating them). */
static void pick_doc(run *r, input *in)
{
    unsigned b = next(in);
    if (b < 224) {
        pool_doc(r, ((b << 8) | next(in)) % POOL);
        return;
    }
    size_t len = next(in);
    if (b >= 248) /* around the cap */
        len = MM_DOC_CACHE_MAX_DOC - 2 + (len % 4);
    size_t have = 0;
    for (; have < len && have < 64 && more(in); have++)
        r->doc[have] = (char)next(in);
    for (size_t i = have; i < len; i++)
        r->doc[i] = (char)(have ? r->doc[i % have] : 'x');
    r->doc_len = len;
}

/* A value no earlier put has used, of a length chosen by the input. */
static void make_value(run *r, input *in)
{
    unsigned b = next(in);
    size_t len;
    if (b < 200)
        len = b % 64;
    else if (b < 240)
        len = (size_t)next(in) * 8;
    else
        len = MM_DOC_CACHE_MAX_DOC - 1 + (b % 3); /* cap - 1, cap, cap + 1 */
    unsigned seed = ++r->puts;
    for (size_t i = 0; i < len; i++)
        r->value[i] = (char)((size_t)seed * 131u + i * 7u + (seed >> 8));
    if (len >= 4) /* the value's own number, so no two are alike */
        memcpy(r->value, &seed, 4);
    r->value_len = len;
}

static void do_put(run *r)
{
    mm_doc_cache_put(r->cache, r->doc, r->doc_len, r->value, r->value_len);
    model_entry *e = model_find(&r->m, r->doc, r->doc_len);
    free(e->value);
    e->value = NULL;
    e->value_len = 0;
    if (r->doc_len <= MM_DOC_CACHE_MAX_DOC && r->value_len <= MM_DOC_CACHE_MAX_DOC) {
        e->value = malloc(r->value_len ? r->value_len : 1);
        FUZZ_CHECK(e->value != NULL);
        memcpy(e->value, r->value, r->value_len);
        e->value_len = r->value_len;
    }
}

/* A get of the current document into a, checked against the model; a hit
 * into the run's arena is held for later checks. Returns whether it hit. */
static bool do_get(run *r, mm_arena *a)
{
    char *v = NULL;
    size_t vlen = 0;
    if (!mm_doc_cache_get(r->cache, a, r->doc, r->doc_len, &v, &vlen))
        return false;
    model_entry *e = model_find(&r->m, r->doc, r->doc_len);
    FUZZ_CHECK(e->value != NULL);
    FUZZ_CHECK(vlen == e->value_len && memcmp(v, e->value, vlen) == 0);
    FUZZ_CHECK(v[vlen] == '\0');
    if (a == r->arena && r->hv.n < MAX_HELD) {
        held_value *h = &r->hv.h[r->hv.n++];
        h->got = v;
        h->want = malloc(vlen ? vlen : 1);
        FUZZ_CHECK(h->want != NULL);
        memcpy(h->want, v, vlen);
        h->len = vlen;
    }
    return true;
}

/* What open_games does for one page: a get per document, a put on a miss. */
static void op_page(run *r, input *in)
{
    unsigned start = ((next(in) << 8) | next(in)) % POOL;
    unsigned count = next(in) % 26;
    for (unsigned k = start; k < start + count; k++) {
        pool_doc(r, k % POOL);
        if (do_get(r, r->arena))
            continue;
        make_value(r, in);
        do_put(r);
    }
    held_release(&r->hv, r->arena);
}

/* A put; found at once when within the cap. */
static void op_put(run *r, input *in)
{
    pick_doc(r, in);
    make_value(r, in);
    do_put(r);
    if (r->doc_len <= MM_DOC_CACHE_MAX_DOC && r->value_len <= MM_DOC_CACHE_MAX_DOC)
        FUZZ_CHECK(do_get(r, r->arena));
}

static void op_get(run *r, input *in)
{
    pick_doc(r, in);
    do_get(r, r->arena);
}

/* A run of pool documents put in a row: sets fill and evict. */
static void op_sweep(run *r, input *in)
{
    unsigned start = ((next(in) << 8) | next(in)) % POOL;
    unsigned count = next(in);
    for (unsigned k = start; k < start + count; k++) {
        pool_doc(r, k % POOL);
        make_value(r, in);
        do_put(r);
    }
    held_check(&r->hv);
}

/* A get into an arena of a few bytes. */
static void op_tiny_get(run *r, input *in)
{
    size_t cap = 1 + next(in);
    mm_arena *tiny = mm_arena_new(cap);
    FUZZ_CHECK(tiny != NULL);
    pick_doc(r, in);
    char *v;
    size_t vlen;
    if (mm_doc_cache_get(r->cache, tiny, r->doc, r->doc_len, &v, &vlen)) {
        FUZZ_CHECK(vlen + 1 <= cap);
        model_entry *e = model_find(&r->m, r->doc, r->doc_len);
        FUZZ_CHECK(e->value != NULL && e->value_len == vlen);
        FUZZ_CHECK(memcmp(v, e->value, vlen) == 0 && v[vlen] == '\0');
    }
    mm_arena_free(tiny);
}

/* The end of a request. */
static void op_release(run *r, input *in)
{
    (void)in;
    held_release(&r->hv, r->arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void (*const ops[])(run *, input *) = {op_put,   op_put,  op_get,      op_get,
                                                  op_sweep, op_page, op_tiny_get, op_release};
    static run r; /* large buffers; cleared below */
    memset(&r, 0, sizeof(r));
    r.cache = mm_doc_cache_new();
    r.arena = mm_arena_new(0);
    FUZZ_CHECK(r.cache != NULL && r.arena != NULL);
    input in = {data, size, 0};
    while (more(&in))
        ops[next(&in) % MM_ARRAY_LEN(ops)](&r, &in);
    held_release(&r.hv, r.arena);

    /* bounded: no more documents found than there are slots */
    size_t kept = 0;
    for (size_t i = 0; i < r.m.n; i++) {
        char *v;
        size_t vlen;
        if (mm_doc_cache_get(r.cache, r.arena, r.m.e[i].doc, r.m.e[i].doc_len, &v, &vlen)) {
            FUZZ_CHECK(r.m.e[i].value != NULL && vlen == r.m.e[i].value_len &&
                       memcmp(v, r.m.e[i].value, vlen) == 0);
            kept++;
        }
    }
    FUZZ_CHECK(kept <= MM_DOC_CACHE_SLOTS);

    model_free(&r.m);
    mm_arena_free(r.arena);
    mm_doc_cache_free(r.cache);
    return 0;
}
