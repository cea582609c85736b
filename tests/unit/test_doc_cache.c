/* The open_games document memo: exact-bytes hits, misses, replacement and
 * the size cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "doc_cache.h"

static void hit_only_on_the_same_bytes(void **state)
{
    mm_doc_cache *c = mm_doc_cache_new();
    assert_non_null(c);
    static const char doc[] = "{\"game_id\": \"a1\", \"state\": \"creator_joined\"}";
    const char *v;
    size_t vlen;
    assert_false(mm_doc_cache_get(c, doc, sizeof(doc) - 1, &v, &vlen));
    mm_doc_cache_put(c, doc, sizeof(doc) - 1, "{\"game_id\": \"a1\"}", 17);
    assert_true(mm_doc_cache_get(c, doc, sizeof(doc) - 1, &v, &vlen));
    assert_int_equal(vlen, 17);
    assert_memory_equal(v, "{\"game_id\": \"a1\"}", 17);
    assert_int_equal(v[vlen], '\0');

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
        assert_false(mm_doc_cache_get(c, misses[i].doc, len, &v, &vlen));
    }
    mm_doc_cache_free(c);
}

static void a_slot_is_replaced_and_memory_stays_bounded(void **state)
{
    mm_doc_cache *c = mm_doc_cache_new();
    char doc[64], val[64];
    /* many more documents than slots: every put replaces or fills one slot */
    for (int i = 0; i < 20 * MM_DOC_CACHE_SLOTS; i++) {
        int dn = snprintf(doc, sizeof(doc), "{\"game_id\": \"g%d\"}", i);
        int vn = snprintf(val, sizeof(val), "v%d", i);
        mm_doc_cache_put(c, doc, (size_t)dn, val, (size_t)vn);
        const char *v;
        size_t vlen;
        assert_true(mm_doc_cache_get(c, doc, (size_t)dn, &v, &vlen));
        assert_int_equal(vlen, (size_t)vn);
        assert_memory_equal(v, val, vlen);
    }
    /* the same document put again gives the new value */
    mm_doc_cache_put(c, "{}", 2, "x", 1);
    mm_doc_cache_put(c, "{}", 2, "yy", 2);
    const char *v;
    size_t vlen;
    assert_true(mm_doc_cache_get(c, "{}", 2, &v, &vlen));
    assert_int_equal(vlen, 2);
    assert_memory_equal(v, "yy", 2);
    mm_doc_cache_free(c);
}

/* Ids that differ in one character spread over the slots, and pages of 25
 * such documents (the largest page) are kept whole. */
static void similar_documents_spread_over_the_slots(void **state)
{
    mm_doc_cache *c = mm_doc_cache_new();
    char doc[128];
    enum { N = 64 };
    for (int i = 0; i < N; i++) {
        int n = snprintf(doc, sizeof(doc), "{\"game_id\": \"%032x\", \"state\": \"x\"}", i);
        mm_doc_cache_put(c, doc, (size_t)n, "v", 1);
    }
    int kept = 0;
    for (int i = 0; i < N; i++) {
        int n = snprintf(doc, sizeof(doc), "{\"game_id\": \"%032x\", \"state\": \"x\"}", i);
        const char *v;
        size_t vlen;
        kept += mm_doc_cache_get(c, doc, (size_t)n, &v, &vlen);
    }
    /* 64 keys in 64 sets of 4: nearly all kept; far fewer means a poor mix */
    assert_true(kept >= 56);
    /* 40 pages of 25 documents, each put then read back */
    for (int start = 0; start < 1000; start += 25) {
        for (int i = start; i < start + 25; i++) {
            int n = snprintf(doc, sizeof(doc), "{\"game_id\": \"p%031x\"}", i);
            mm_doc_cache_put(c, doc, (size_t)n, "v", 1);
        }
        for (int i = start; i < start + 25; i++) {
            int n = snprintf(doc, sizeof(doc), "{\"game_id\": \"p%031x\"}", i);
            const char *v;
            size_t vlen;
            if (!mm_doc_cache_get(c, doc, (size_t)n, &v, &vlen))
                fail_msg("page at %d lost document %d", start, i);
        }
    }
    mm_doc_cache_free(c);
}

static void oversized_documents_are_not_kept(void **state)
{
    static char big[MM_DOC_CACHE_MAX_DOC + 1];
    memset(big, 'x', sizeof(big));
    mm_doc_cache *c = mm_doc_cache_new();
    const char *v;
    size_t vlen;
    mm_doc_cache_put(c, big, sizeof(big), "v", 1);
    assert_false(mm_doc_cache_get(c, big, sizeof(big), &v, &vlen));
    mm_doc_cache_put(c, "{}", 2, big, sizeof(big));
    assert_false(mm_doc_cache_get(c, "{}", 2, &v, &vlen));
    mm_doc_cache_put(c, big, MM_DOC_CACHE_MAX_DOC, "v", 1);
    assert_true(mm_doc_cache_get(c, big, MM_DOC_CACHE_MAX_DOC, &v, &vlen));
    mm_doc_cache_free(c);
    mm_doc_cache_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hit_only_on_the_same_bytes),
        cmocka_unit_test(a_slot_is_replaced_and_memory_stays_bounded),
        cmocka_unit_test(similar_documents_spread_over_the_slots),
        cmocka_unit_test(oversized_documents_are_not_kept),
    };
    return cmocka_run_group_tests_name("doc_cache", tests, NULL, NULL);
}
