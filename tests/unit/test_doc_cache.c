/* The open_games document memo: exact-bytes hits, misses, replacement, the
 * size cap, and that a hit is the caller's own copy (issue 13: a hit used to
 * point into a slot that a later put of the same request freed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "doc_cache.h"

typedef struct {
    mm_doc_cache *cache;
    mm_arena *arena;
} fixture;

static int setup(void **state)
{
    static fixture f;
    f.cache = mm_doc_cache_new();
    f.arena = mm_arena_new(0);
    *state = &f;
    return f.cache == NULL || f.arena == NULL;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mm_doc_cache_free(f->cache);
    mm_arena_free(f->arena);
    return 0;
}

static void put_str(mm_doc_cache *c, const char *doc, const char *value)
{
    mm_doc_cache_put(c, doc, strlen(doc), value, strlen(value));
}

/* Asserts that doc is kept with exactly value (NULL: that it is not kept). */
static void expect(const fixture *f, const char *doc, size_t len, const char *value)
{
    char *v = NULL;
    size_t vlen = 0;
    bool hit = mm_doc_cache_get(f->cache, f->arena, doc, len, &v, &vlen);
    if (value == NULL) {
        if (hit)
            fail_msg("%.*s: kept as %s, wanted nothing", (int)len, doc, v);
        return;
    }
    if (!hit)
        fail_msg("%.*s: not kept, wanted %s", (int)len, doc, value);
    assert_int_equal(vlen, strlen(value));
    assert_memory_equal(v, value, vlen);
    assert_int_equal(v[vlen], '\0');
}

static void hit_only_on_the_same_bytes(void **state)
{
    fixture *f = *state;
    static const char doc[] = "{\"game_id\": \"a1\", \"state\": \"creator_joined\"}";
    expect(f, doc, sizeof(doc) - 1, NULL);
    put_str(f->cache, doc, "{\"game_id\": \"a1\"}");
    expect(f, doc, sizeof(doc) - 1, "{\"game_id\": \"a1\"}");

    static const struct {
        const char *doc;
        size_t len;
    } misses[] = {
        {"{\"game_id\": \"a1\", \"state\": \"all_players_joined\"}", 0}, /* changed */
        {doc, sizeof(doc) - 2},                                          /* a prefix */
        {"{\"game_id\": \"a2\", \"state\": \"creator_joined\"}", 0},     /* same length */
        {"", 0},
    };
    for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
        size_t len = misses[i].len ? misses[i].len : strlen(misses[i].doc);
        expect(f, misses[i].doc, len, NULL);
    }
}

/* The case of issue 13: a page whose first documents hit and whose later ones
 * miss and are put, evicting the slots the hits came from. What the hits
 * handed out must not change, and must outlive the cache itself. */
static void a_hit_is_a_copy_that_later_puts_cannot_touch(void **state)
{
    fixture *f = *state;
    enum { PAGE = 25, OTHERS = 20 * MM_DOC_CACHE_SLOTS };
    char doc[128], val[128];
    char *held[PAGE];
    char want[PAGE][128];
    for (int i = 0; i < PAGE; i++) {
        int n = snprintf(doc, sizeof(doc), "{\"game_id\": \"%032x\"}", i);
        snprintf(want[i], sizeof(want[i]), "{\"partial\": %d, \"pad\": \"%040d\"}", i, i);
        mm_doc_cache_put(f->cache, doc, (size_t)n, want[i], strlen(want[i]));
        size_t vlen;
        assert_true(mm_doc_cache_get(f->cache, f->arena, doc, (size_t)n, &held[i], &vlen));
    }
    /* many more documents than slots: every slot is given away several times */
    for (int i = 0; i < OTHERS; i++) {
        int n = snprintf(doc, sizeof(doc), "{\"game_id\": \"%032x\"}", PAGE + i);
        int vn = snprintf(val, sizeof(val), "{\"other\": %d, \"pad\": \"%040d\"}", i, 0);
        mm_doc_cache_put(f->cache, doc, (size_t)n, val, (size_t)vn);
    }
    int evicted = 0;
    for (int i = 0; i < PAGE; i++) {
        int n = snprintf(doc, sizeof(doc), "{\"game_id\": \"%032x\"}", i);
        char *v;
        size_t vlen;
        evicted += !mm_doc_cache_get(f->cache, f->arena, doc, (size_t)n, &v, &vlen);
        assert_string_equal(held[i], want[i]);
    }
    assert_int_equal(evicted, PAGE);
    mm_doc_cache_free(f->cache);
    f->cache = NULL;
    for (int i = 0; i < PAGE; i++)
        assert_string_equal(held[i], want[i]);
}

static void a_slot_is_replaced_and_memory_stays_bounded(void **state)
{
    fixture *f = *state;
    char doc[64], val[64];
    /* many more documents than slots: every put replaces or fills one slot */
    for (int i = 0; i < 20 * MM_DOC_CACHE_SLOTS; i++) {
        int dn = snprintf(doc, sizeof(doc), "{\"game_id\": \"g%d\"}", i);
        snprintf(val, sizeof(val), "v%d", i);
        mm_doc_cache_put(f->cache, doc, (size_t)dn, val, strlen(val));
        expect(f, doc, (size_t)dn, val);
        mm_arena_reset(f->arena);
    }
    /* the same document put again gives the new value */
    put_str(f->cache, "{}", "x");
    put_str(f->cache, "{}", "yy");
    expect(f, "{}", 2, "yy");
}

/* Ids that differ in one character spread over the slots, and pages of 25
 * such documents (the largest page) are kept whole. */
static void similar_documents_spread_over_the_slots(void **state)
{
    fixture *f = *state;
    char doc[128];
    enum { N = 64 };
    for (int i = 0; i < N; i++) {
        int n = snprintf(doc, sizeof(doc), "{\"game_id\": \"%032x\", \"state\": \"x\"}", i);
        mm_doc_cache_put(f->cache, doc, (size_t)n, "v", 1);
    }
    int kept = 0;
    for (int i = 0; i < N; i++) {
        int n = snprintf(doc, sizeof(doc), "{\"game_id\": \"%032x\", \"state\": \"x\"}", i);
        char *v;
        size_t vlen;
        kept += mm_doc_cache_get(f->cache, f->arena, doc, (size_t)n, &v, &vlen);
    }
    /* 64 keys in 64 sets of 4: nearly all kept; far fewer means a poor mix */
    assert_true(kept >= 56);
    /* 40 pages of 25 documents, each put then read back */
    for (int start = 0; start < 1000; start += 25) {
        for (int i = start; i < start + 25; i++) {
            int n = snprintf(doc, sizeof(doc), "{\"game_id\": \"p%031x\"}", i);
            mm_doc_cache_put(f->cache, doc, (size_t)n, "v", 1);
        }
        for (int i = start; i < start + 25; i++) {
            int n = snprintf(doc, sizeof(doc), "{\"game_id\": \"p%031x\"}", i);
            char *v;
            size_t vlen;
            if (!mm_doc_cache_get(f->cache, f->arena, doc, (size_t)n, &v, &vlen))
                fail_msg("page at %d lost document %d", start, i);
        }
        mm_arena_reset(f->arena);
    }
}

static void oversized_documents_and_values_are_not_kept(void **state)
{
    fixture *f = *state;
    static char big[MM_DOC_CACHE_MAX_DOC + 1];
    memset(big, 'x', sizeof(big));
    mm_doc_cache_put(f->cache, big, sizeof(big), "v", 1);
    expect(f, big, sizeof(big), NULL);
    mm_doc_cache_put(f->cache, "{}", 2, big, sizeof(big));
    expect(f, "{}", 2, NULL);
    mm_doc_cache_put(f->cache, big, MM_DOC_CACHE_MAX_DOC, "v", 1);
    expect(f, big, MM_DOC_CACHE_MAX_DOC, "v");
    /* a value too large to keep drops what the document held: a get finds the
     * last value put or nothing, never an older one */
    put_str(f->cache, "{\"a\": 1}", "old");
    mm_doc_cache_put(f->cache, "{\"a\": 1}", 8, big, sizeof(big));
    expect(f, "{\"a\": 1}", 8, NULL);
    mm_doc_cache_free(NULL);
}

/* Puts over a pool of documents larger than the cache, some with values too
 * large to keep, each followed by a get of some document: whatever is found
 * is the value last put for it, and nothing is found for a document whose
 * last put was too large. (A put once filled the first free slot of the set
 * even when the document sat in a later one, and the older value came back
 * once the newer was replaced.) */
static void a_get_finds_the_last_value_put_or_nothing(void **state)
{
    fixture *f = *state;
    enum { DOCS = 600, OPS = 40000 };
    static int last[DOCS]; /* the op that last put the document; -1: none or too large */
    static char big[MM_DOC_CACHE_MAX_DOC + 1];
    memset(big, 'x', sizeof(big));
    for (int k = 0; k < DOCS; k++)
        last[k] = -1;
    unsigned rnd = 12345;
    char doc[64], val[64];
    for (int op = 0; op < OPS; op++) {
        rnd = rnd * 1103515245u + 12345u;
        int k = (int)((rnd >> 8) % DOCS);
        int dn = snprintf(doc, sizeof(doc), "{\"game_id\": \"%032x\"}", k);
        if ((rnd >> 4) % 8 == 0) {
            mm_doc_cache_put(f->cache, doc, (size_t)dn, big, sizeof(big));
            last[k] = -1;
        } else {
            int vn = snprintf(val, sizeof(val), "v%d-%d", k, op);
            mm_doc_cache_put(f->cache, doc, (size_t)dn, val, (size_t)vn);
            last[k] = op;
        }
        rnd = rnd * 1103515245u + 12345u;
        int j = (int)((rnd >> 8) % DOCS);
        dn = snprintf(doc, sizeof(doc), "{\"game_id\": \"%032x\"}", j);
        char *v;
        size_t vlen;
        if (!mm_doc_cache_get(f->cache, f->arena, doc, (size_t)dn, &v, &vlen))
            continue;
        if (last[j] < 0)
            fail_msg("op %d: document %d found as %s, its last put was too large", op, j, v);
        snprintf(val, sizeof(val), "v%d-%d", j, last[j]);
        if (strcmp(v, val) != 0)
            fail_msg("op %d: document %d found as %s, last put %s", op, j, v, val);
        mm_arena_reset(f->arena);
    }
}

/* An arena that cannot take the copy makes a get a miss, not a pointer into
 * the cache; the entry is still there for the next request. */
static void a_full_arena_turns_a_hit_into_a_miss(void **state)
{
    fixture *f = *state;
    static const char value[] = "{\"game_id\": \"a1\", \"creator_name\": \"alice\"}";
    put_str(f->cache, "{\"game_id\": \"a1\"}", value);
    mm_arena *tiny = mm_arena_new(16);
    assert_non_null(tiny);
    char *v = NULL;
    size_t vlen = 0;
    assert_false(mm_doc_cache_get(f->cache, tiny, "{\"game_id\": \"a1\"}", 17, &v, &vlen));
    assert_null(v);
    mm_arena_free(tiny);
    expect(f, "{\"game_id\": \"a1\"}", 17, value);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(hit_only_on_the_same_bytes),
        T(a_hit_is_a_copy_that_later_puts_cannot_touch),
        T(a_slot_is_replaced_and_memory_stays_bounded),
        T(similar_documents_spread_over_the_slots),
        T(oversized_documents_and_values_are_not_kept),
        T(a_get_finds_the_last_value_put_or_nothing),
        T(a_full_arena_turns_a_hit_into_a_miss),
    };
    return cmocka_run_group_tests_name("doc_cache", tests, NULL, NULL);
}
