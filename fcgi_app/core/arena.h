/* Per-request memory: an arena owns every allocation made through it and
 * frees them all at once on reset/free. Objects that live outside it (a
 * hiredis reply, a json-c object) are registered as cleanups, which run in
 * reverse order of registration. The arena's total size is capped. */
#ifndef MM_ARENA_H
#define MM_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct mm_arena mm_arena;
typedef void (*mm_cleanup_fn)(void *);

/* max_bytes bounds the sum of all allocations; 0 means 16 MiB. */
mm_arena *mm_arena_new(size_t max_bytes);
/* Runs cleanups and frees the arena itself. NULL is accepted. */
void mm_arena_free(mm_arena *a);
/* Runs cleanups and forgets every allocation, keeping the first block. */
void mm_arena_reset(mm_arena *a);

/* All return NULL when the cap is reached or memory is short. */
void *mm_arena_alloc(mm_arena *a, size_t n);
void *mm_arena_calloc(mm_arena *a, size_t count, size_t size);
char *mm_arena_strndup(mm_arena *a, const char *s, size_t n);
char *mm_arena_strdup(mm_arena *a, const char *s);
char *mm_arena_printf(mm_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *mm_arena_vprintf(mm_arena *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Registers fn(p) to run when the arena is reset or freed. Returns 0, or -1
 * when out of memory, in which case fn(p) has already been run. */
int mm_arena_on_free(mm_arena *a, mm_cleanup_fn fn, void *p);

size_t mm_arena_used(const mm_arena *a);

#endif
