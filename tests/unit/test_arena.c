/* Arena: allocation, cap, cleanups run once in reverse order, reset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"

static int order[8];
static int norder;

static void record(void *p)
{
    order[norder++] = *(int *)p;
}

static void allocations_are_aligned_and_distinct(void **state)
{
    mm_arena *a = mm_arena_new(0);
    assert_non_null(a);
    char *p1 = mm_arena_alloc(a, 3);
    char *p2 = mm_arena_alloc(a, 100000); /* larger than a block */
    char *p3 = mm_arena_alloc(a, 1);
    assert_non_null(p1);
    assert_non_null(p2);
    assert_non_null(p3);
    assert_int_equal((uintptr_t)p1 % 16, 0);
    assert_int_equal((uintptr_t)p2 % 16, 0);
    assert_int_equal((uintptr_t)p3 % 16, 0);
    memset(p2, 0xab, 100000);
    assert_true(p1 + 16 <= p3 || p3 + 16 <= p1);
    mm_arena_free(a);
}

static void cap_is_enforced(void **state)
{
    mm_arena *a = mm_arena_new(1024);
    assert_non_null(mm_arena_alloc(a, 1000));
    assert_null(mm_arena_alloc(a, 100));
    assert_null(mm_arena_alloc(a, SIZE_MAX));
    assert_null(mm_arena_calloc(a, SIZE_MAX / 2, 4));
    mm_arena_reset(a);
    assert_int_equal(mm_arena_used(a), 0);
    assert_non_null(mm_arena_alloc(a, 1000));
    mm_arena_free(a);
}

static void strings_and_printf(void **state)
{
    mm_arena *a = mm_arena_new(0);
    assert_string_equal(mm_arena_strndup(a, "hello world", 5), "hello");
    assert_string_equal(mm_arena_printf(a, "%s-%d", "x", 42), "x-42");
    char *big = mm_arena_printf(a, "%09000d", 7);
    assert_int_equal(strlen(big), 9000);
    mm_arena_free(a);
}

static void cleanups_run_in_reverse_on_reset_and_free(void **state)
{
    static int one = 1, two = 2, three = 3;
    mm_arena *a = mm_arena_new(0);
    norder = 0;
    mm_arena_on_free(a, record, &one);
    mm_arena_on_free(a, record, &two);
    mm_arena_reset(a);
    assert_int_equal(norder, 2);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 1);
    mm_arena_reset(a); /* nothing left to run */
    assert_int_equal(norder, 2);
    mm_arena_on_free(a, record, &three);
    mm_arena_free(a);
    assert_int_equal(norder, 3);
    assert_int_equal(order[2], 3);
}

static void cleanup_runs_at_once_when_arena_is_full(void **state)
{
    static int four = 4;
    mm_arena *a = mm_arena_new(64);
    assert_non_null(mm_arena_alloc(a, 64));
    norder = 0;
    assert_int_equal(mm_arena_on_free(a, record, &four), -1);
    assert_int_equal(norder, 1);
    mm_arena_free(a);
    assert_int_equal(norder, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allocations_are_aligned_and_distinct),
        cmocka_unit_test(cap_is_enforced),
        cmocka_unit_test(strings_and_printf),
        cmocka_unit_test(cleanups_run_in_reverse_on_reset_and_free),
        cmocka_unit_test(cleanup_runs_at_once_when_arena_is_full),
    };
    return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
