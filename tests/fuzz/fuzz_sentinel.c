/* Fuzz target: what Sentinel discovery reads (sentinel.h). The first byte chooses:
 * 'a' -- the rest is a "host:port" entry of the configuration; an address accepted is
 * written out and read back to the same address; otherwise -- the rest is what a
 * sentinel or a server sent, read by hiredis's parser as rconn reads it, and every reply
 * in it is given to both reply readers: a primary's address they accept is one a
 * connection can be made to (a host, a port 1..65535), and one the configuration could
 * have named (written out, it reads back the same). */
#include <string.h>

#include "fuzz.h"
#include "sentinel.h"

static void entry(const uint8_t *data, size_t size)
{
    mm_redis_addr a, b;
    char err[128], text[MM_REDIS_ADDR_TEXT_MAX];
    if (mm_redis_addr_parse((const char *)data, size, &a, err, sizeof(err)) != MM_OK) {
        FUZZ_CHECK(err[0] != '\0');
        return;
    }
    FUZZ_CHECK(a.host[0] != '\0' && a.port >= 1 && a.port <= 65535);
    mm_redis_addr_format(&a, text, sizeof(text));
    FUZZ_CHECK(mm_redis_addr_parse(text, strlen(text), &b, err, sizeof(err)) == MM_OK);
    FUZZ_CHECK(strcmp(a.host, b.host) == 0 && a.port == b.port);
}

/* Whether data announces an array of 10,000 elements or more: hiredis 0.14 allocates an
 * announced array whole before any element comes (it has no element limit), which is
 * its memory to bound, not these readers' to test. The servers rconn reads from are the
 * deployment's own. */
static int announces_a_huge_array(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        size_t digits = 0;
        if (data[i] != '*')
            continue;
        while (i + 1 + digits < size && data[i + 1 + digits] >= '0' && data[i + 1 + digits] <= '9')
            digits++;
        if (digits > 4)
            return 1;
    }
    return 0;
}

static void replies(const uint8_t *data, size_t size)
{
    if (announces_a_huge_array(data, size))
        return;
    redisReader *rd = redisReaderCreate();
    if (rd == NULL)
        return;
    if (redisReaderFeed(rd, (const char *)data, size) != REDIS_OK)
        goto out;
    for (int i = 0; i < 64; i++) {
        void *r = NULL;
        if (redisReaderGetReply(rd, &r) != REDIS_OK || r == NULL)
            break;
        mm_redis_addr a;
        const char *why = NULL;
        if (mm_sentinel_master_reply(r, &a, &why) == MM_OK) {
            size_t n = strlen(a.host);
            FUZZ_CHECK(n >= 1 && n <= MM_REDIS_HOST_MAX && a.port >= 1 && a.port <= 65535);
            /* an address the configuration could have named: it reads back the same */
            char text[MM_REDIS_ADDR_TEXT_MAX], err[128];
            mm_redis_addr b;
            mm_redis_addr_format(&a, text, sizeof(text));
            FUZZ_CHECK(mm_redis_addr_parse(text, strlen(text), &b, err, sizeof(err)) == MM_OK);
            FUZZ_CHECK(strcmp(a.host, b.host) == 0 && a.port == b.port);
        } else {
            FUZZ_CHECK(why != NULL && why[0] != '\0');
        }
        mm_redis_role role = mm_sentinel_role_reply(r);
        FUZZ_CHECK(role >= MM_ROLE_UNKNOWN && role <= MM_ROLE_SENTINEL);
        FUZZ_CHECK(mm_redis_role_name(role) != NULL);
        freeReplyObject(r);
    }
out:
    redisReaderFree(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] == 'a')
        entry(data + 1, size - 1);
    else
        replies(data + 1, size - 1);
    return 0;
}
