/* Event decoding: every type, every malformed entry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "event.h"

typedef struct {
    const char *f[12]; /* NULL-terminated name/value list */
    int ok;
    mm_event_type type;
    const char *why; /* fragment of the reason when refused */
} row;

static const row rows[] = {
    {{"product_id", "exrps", "game_id", "g1", "type", "state_change", "new_state", "creator_joined",
      NULL},
     1,
     MM_EVENT_STATE_CHANGE,
     NULL},
    {{"type", "player_disconnect", "game_id", "g1", "player_id", "u2", "product_id", "p", NULL},
     1,
     MM_EVENT_PLAYER_DISCONNECT,
     NULL},
    {{"product_id", "p", "game_id", "g1", "type", "game_removed", NULL},
     1,
     MM_EVENT_GAME_REMOVED,
     NULL},
    {{"product_id", "p", "game_id", "g1", "type", "gameplay", "move", "rock", NULL},
     1,
     MM_EVENT_OTHER,
     NULL},
    {{"product_id", "p", "game_id", "g1", "type", "game_over", "extra", "1", NULL},
     1,
     MM_EVENT_OTHER,
     NULL},
    {{"game_id", "g1", "type", "game_removed", NULL}, 0, 0, "product_id"},
    {{"product_id", "p", "type", "game_removed", NULL}, 0, 0, "game_id"},
    {{"product_id", "p", "game_id", "g1", NULL}, 0, 0, "type"},
    {{"product_id", "p", "game_id", "g/1", "type", "game_removed", NULL}, 0, 0, "game_id"},
    {{"product_id", "", "game_id", "g1", "type", "game_removed", NULL}, 0, 0, "product_id"},
    {{"product_id", "p", "game_id", "g1", "type", "", NULL}, 0, 0, "type"},
    {{"product_id", "p", "game_id", "g1", "type", "state_change", NULL}, 0, 0, "new_state"},
    {{"product_id", "p", "game_id", "g1", "type", "state_change", "new_state", "paused", NULL},
     0,
     0,
     "new_state"},
    {{"product_id", "p", "game_id", "g1", "type", "player_disconnect", NULL}, 0, 0, "player_id"},
    {{"product_id", "p", "game_id", "g1", "type", "player_disconnect", "player_id", "", NULL},
     0,
     0,
     "player_id"},
    {{"product_id", "p", "game_id", "g1", "game_id", "g2", "type", "game_removed", NULL},
     0,
     0,
     "repeated"},
    {{"product_id", "p", "game_id", "g1", "type", NULL}, 0, 0, "field list"},
};

static void table_of_entries(void **state)
{
    mm_arena *a = mm_arena_new(0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row *w = &rows[i];
        size_t n = 0, lens[12];
        while (w->f[n] != NULL) {
            lens[n] = strlen(w->f[n]);
            n++;
        }
        mm_event ev;
        const char *why = NULL;
        mm_status st = mm_event_decode(a, n, w->f, lens, &ev, &why);
        if ((st == MM_OK) != w->ok)
            fail_msg("row %zu: status %d (%s)", i, st, why ? why : "");
        if (w->ok) {
            assert_int_equal(ev.type, w->type);
            assert_non_null(ev.product_id);
            assert_non_null(ev.game_id);
        } else {
            assert_non_null(why);
            if (strstr(why, w->why) == NULL)
                fail_msg("row %zu: reason \"%s\" lacks \"%s\"", i, why, w->why);
        }
    }
    mm_arena_free(a);
}

static void values_are_copied_and_typed(void **state)
{
    mm_arena *a = mm_arena_new(0);
    const char *f[] = {"product_id", "exrps",        "game_id",   "abc",
                       "type",       "state_change", "new_state", "in_progress"};
    size_t lens[8];
    for (int i = 0; i < 8; i++)
        lens[i] = strlen(f[i]);
    mm_event ev;
    const char *why;
    assert_int_equal(mm_event_decode(a, 8, f, lens, &ev, &why), MM_OK);
    assert_string_equal(ev.product_id, "exrps");
    assert_string_equal(ev.game_id, "abc");
    assert_string_equal(ev.type_name, "state_change");
    assert_int_equal(ev.new_state, MM_STATE_IN_PROGRESS);
    assert_ptr_not_equal(ev.game_id, f[3]);
    /* values are not NUL-terminated in a Redis reply: lengths rule */
    const char *g[] = {"product_idX", "exrpsX", "game_id", "abcdef", "type", "game_removed"};
    size_t glens[] = {10, 5, 7, 3, 4, 12};
    assert_int_equal(mm_event_decode(a, 6, g, glens, &ev, &why), MM_OK);
    assert_string_equal(ev.product_id, "exrps");
    assert_string_equal(ev.game_id, "abc");
    mm_arena_free(a);
}

static void limits(void **state)
{
    mm_arena *a = mm_arena_new(0);
    static const char *f[2 * MM_EVENT_MAX_FIELDS + 2];
    static size_t lens[2 * MM_EVENT_MAX_FIELDS + 2];
    for (size_t i = 0; i < 2 * MM_EVENT_MAX_FIELDS + 2; i++) {
        f[i] = "x";
        lens[i] = 1;
    }
    mm_event ev;
    const char *why;
    assert_int_equal(mm_event_decode(a, 2 * MM_EVENT_MAX_FIELDS + 2, f, lens, &ev, &why),
                     MM_ERR_INVALID);
    char big[MM_EVENT_MAX_VALUE + 2];
    memset(big, 'a', sizeof(big));
    const char *g[] = {"product_id", "p", "game_id", "g", "type", big};
    size_t glens[] = {10, 1, 7, 1, 4, sizeof(big)};
    assert_int_equal(mm_event_decode(a, 6, g, glens, &ev, &why), MM_ERR_INVALID);
    const char *h[] = {"product_id",        "p",         "game_id", "g", "type",
                       "player_disconnect", "player_id", "u\n2"};
    size_t hlens[] = {10, 1, 7, 1, 4, 17, 9, 3};
    assert_int_equal(mm_event_decode(a, 8, h, hlens, &ev, &why), MM_ERR_INVALID);
    mm_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_of_entries),
        cmocka_unit_test(values_are_copied_and_typed),
        cmocka_unit_test(limits),
    };
    return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
