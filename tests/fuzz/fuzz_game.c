/* Fuzz target: the game document decoder (game.h), as a document read back from Redis.
 * A document that decodes must survive a round trip: encoded in full and decoded again it
 * gives the same encoding, and adding a target to that encoding gives the encoding with
 * the target. The input is also tried as a _last_updated clock text, which must format
 * back to exactly itself, and as a stored document to add a target to. */
#include <string.h>

#include "fuzz.h"
#include "game.h"

/* The decoder accepts only a game whose creator is among its players. */
static bool creator_plays(const mm_game *g)
{
    for (size_t i = 0; i < g->nplayers; i++)
        if (strcmp(g->players[i], g->creator_id) == 0)
            return true;
    return false;
}

static void round_trip(mm_arena *a, const mm_game *g)
{
    FUZZ_CHECK(g->nplayers >= 1 && g->nplayers <= (size_t)g->num_players);
    FUZZ_CHECK(creator_plays(g));
    size_t len = 0;
    const char *doc = mm_game_encode(a, g, MM_GAME_FULL, NULL, &len);
    if (doc == NULL)
        return; /* over MM_GAME_MAX_DOC once re-encoded */
    /* the partial form is a subset of the full one: it fits whenever that does */
    FUZZ_CHECK(mm_game_encode(a, g, MM_GAME_PARTIAL, NULL, NULL) != NULL);
    mm_game again;
    FUZZ_CHECK(mm_game_decode(a, doc, len, &again) == MM_OK);
    size_t len2 = 0;
    const char *doc2 = mm_game_encode(a, &again, MM_GAME_FULL, NULL, &len2);
    FUZZ_CHECK(doc2 != NULL && len2 == len && memcmp(doc, doc2, len) == 0);
    /* any string will do as a target: the creator's name has the oddest bytes */
    size_t want_len = 0, got_len = 0;
    const char *want = mm_game_encode(a, g, MM_GAME_FULL, g->creator_name, &want_len);
    const char *got = mm_game_add_target(a, doc, len, g->creator_name, &got_len);
    FUZZ_CHECK(got != NULL);
    if (want != NULL) /* NULL: over MM_GAME_MAX_DOC with the target */
        FUZZ_CHECK(got_len == want_len && memcmp(got, want, want_len) == 0);
}

static void add_target_raw(mm_arena *a, const char *s, size_t len)
{
    static const char tail[] = "\"target_game_server\": \"t\"}";
    size_t n = 0;
    const char *out = mm_game_add_target(a, s, len, "t", &n);
    if (out == NULL)
        return;
    FUZZ_CHECK(n >= sizeof(tail) && out[0] == '{' && strlen(out) <= n);
    FUZZ_CHECK(memcmp(out + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1) == 0);
}

static void clock_text(const char *s, size_t len)
{
    int64_t us = 0;
    if (!mm_game_parse_time(s, len, &us))
        return;
    char out[MM_GAME_TIME_LEN];
    mm_game_format_time(us, out);
    FUZZ_CHECK(strlen(out) == len && memcmp(out, s, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    mm_arena *a = mm_arena_new(0);
    if (a == NULL)
        return 0;
    mm_game g;
    if (mm_game_decode(a, in, size, &g) == MM_OK)
        round_trip(a, &g);
    clock_text(in, size);
    add_target_raw(a, in, size);
    mm_arena_free(a);
    return 0;
}
