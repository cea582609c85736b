#include "shared_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static bool header_ok(const mm_shared_header *h, size_t size, uint64_t magic, uint64_t version)
{
    return h->magic == magic && h->version == version && h->size == size;
}

void *mm_shared_file_map(const char *path, size_t size, uint64_t magic, uint64_t version,
                         mm_shared_setup setup, void *arg, char *warning, size_t warnlen)
{
    warning[0] = '\0';
    if (size < sizeof(mm_shared_header)) {
        snprintf(warning, warnlen, "a shared layout of %zu bytes has no room for its header", size);
        return NULL;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            snprintf(warning, warnlen, "cannot open %s: %s", path, strerror(errno));
            return NULL;
        }
        struct stat st, now;
        if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0) {
            snprintf(warning, warnlen, "cannot lock %s: %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
        if (stat(path, &now) != 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev) {
            close(fd); /* replaced while we waited for the lock */
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(warning, warnlen, "%s is not a regular file", path);
            close(fd);
            return NULL;
        }
        if (st.st_size != 0 && st.st_size != (off_t)size) {
            unlink(path); /* another layout: start a new file */
            close(fd);
            continue;
        }
        if (st.st_size == 0 && ftruncate(fd, (off_t)size) != 0) {
            snprintf(warning, warnlen, "cannot size %s: %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            snprintf(warning, warnlen, "cannot map %s: %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
        mm_shared_header *h = p;
        bool fresh = st.st_size == 0;
        if (fresh) {
            h->size = size;
            h->version = version;
            h->magic = magic;
        }
        if (!header_ok(h, size, magic, version)) {
            munmap(p, size);
            unlink(path);
            close(fd);
            continue;
        }
        if (setup != NULL)
            setup(p, fresh, arg);
        /* the mapping holds the open file, and with it the lock, until unlocked
         * explicitly */
        flock(fd, LOCK_UN);
        close(fd);
        return p;
    }
    snprintf(warning, warnlen, "%s keeps changing under us", path);
    return NULL;
}

void mm_shared_file_unmap(void *mem, size_t size)
{
    if (mem != NULL)
        munmap(mem, size);
}
