/* Block arena: allocations are bumped out of blocks chained together; big
 * requests get a block of their own. */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MM_ARENA_BLOCK 8192
#define MM_ARENA_ALIGN 16
#define MM_ARENA_DEFAULT_MAX ((size_t)16 * 1024 * 1024)

typedef struct block {
    struct block *next;
    size_t size;
    size_t used;
    _Alignas(MM_ARENA_ALIGN) unsigned char data[];
} block;

typedef struct cleanup {
    struct cleanup *next;
    mm_cleanup_fn fn;
    void *p;
} cleanup;

struct mm_arena {
    block *head;
    block *first;
    cleanup *cleanups;
    size_t total;
    size_t max;
};

static block *block_new(size_t size)
{
    block *b = malloc(sizeof(*b) + size);
    if (b == NULL)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

mm_arena *mm_arena_new(size_t max_bytes)
{
    mm_arena *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->max = max_bytes ? max_bytes : MM_ARENA_DEFAULT_MAX;
    a->first = block_new(MM_ARENA_BLOCK);
    if (a->first == NULL) {
        free(a);
        return NULL;
    }
    a->head = a->first;
    return a;
}

static void run_cleanups(mm_arena *a)
{
    while (a->cleanups != NULL) {
        cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->p); /* the record itself lives in the arena */
    }
}

void mm_arena_reset(mm_arena *a)
{
    if (a == NULL)
        return;
    run_cleanups(a);
    block *b = a->head;
    while (b != NULL) {
        block *next = b->next;
        if (b != a->first)
            free(b);
        b = next;
    }
    a->first->next = NULL;
    a->first->used = 0;
    a->head = a->first;
    a->total = 0;
}

void mm_arena_free(mm_arena *a)
{
    if (a == NULL)
        return;
    mm_arena_reset(a);
    free(a->first);
    free(a);
}

void *mm_arena_alloc(mm_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - MM_ARENA_ALIGN)
        return NULL;
    size_t need = (n + MM_ARENA_ALIGN - 1) & ~(size_t)(MM_ARENA_ALIGN - 1);
    if (need > a->max || a->total > a->max - need)
        return NULL;
    block *b = a->head;
    if (b->size - b->used < need) {
        size_t size = need > MM_ARENA_BLOCK ? need : MM_ARENA_BLOCK;
        block *nb = block_new(size);
        if (nb == NULL)
            return NULL;
        nb->next = a->head;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->total += need;
    return p;
}

void *mm_arena_calloc(mm_arena *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    void *p = mm_arena_alloc(a, count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

char *mm_arena_strndup(mm_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *d = mm_arena_alloc(a, n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *mm_arena_strdup(mm_arena *a, const char *s)
{
    return mm_arena_strndup(a, s, strlen(s));
}

char *mm_arena_vprintf(mm_arena *a, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return NULL;
    char *d = mm_arena_alloc(a, (size_t)n + 1);
    if (d == NULL)
        return NULL;
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    return d;
}

char *mm_arena_printf(mm_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *d = mm_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return d;
}

int mm_arena_on_free(mm_arena *a, mm_cleanup_fn fn, void *p)
{
    cleanup *c = mm_arena_alloc(a, sizeof(*c));
    if (c == NULL) {
        fn(p);
        return -1;
    }
    c->fn = fn;
    c->p = p;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}

size_t mm_arena_used(const mm_arena *a)
{
    return a->total;
}
