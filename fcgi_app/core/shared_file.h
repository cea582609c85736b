/* A file every process of a host's pools maps to share fixed-layout memory (the pool's
 * metrics, the game servers' circuit breakers). The layout starts with an mm_shared_header;
 * the rest is zero when the file is made and only changed with atomic operations. Each
 * mm_shared_file_map that succeeds has one matching mm_shared_file_unmap. */
#ifndef MM_SHARED_FILE_H
#define MM_SHARED_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The first bytes of every shared layout. */
typedef struct {
    uint64_t magic;
    uint64_t version;
    uint64_t size; /* of the whole layout */
} mm_shared_header;

/* Called with the file locked (no other process is setting it up): fresh is true when the
 * file was just made (all zero but the header). */
typedef void (*mm_shared_setup)(void *mem, bool fresh, void *arg);

/* Opens path (created 0600 when missing, never through a symlink), locks it, maps size
 * bytes of it and runs setup under the lock. A file of another size, magic or version is
 * replaced by a new one, never resized under the processes that still map the old one.
 * Returns the mapping, or NULL with one line saying why in warning. */
void *mm_shared_file_map(const char *path, size_t size, uint64_t magic, uint64_t version,
                         mm_shared_setup setup, void *arg, char *warning, size_t warnlen);
void mm_shared_file_unmap(void *mem, size_t size);

#endif
