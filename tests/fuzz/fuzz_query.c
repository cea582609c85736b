/* Fuzz target: query-string parsing (query.h) as the open_games handler uses it: find
 * "count" and "page" in the raw query and read them as page numbers. mm_query_uint is
 * also given the whole input, in a buffer of its exact length. */
#include <string.h>

#include "fuzz.h"
#include "query.h"

static void check_uint(const char *val, size_t len)
{
    long v = -1;
    if (mm_query_uint(val, len, &v))
        FUZZ_CHECK(len >= 1 && len <= 9 && v >= 0 && v <= 999999999L);
}

static void lookup(const char *query, size_t qlen, const char *name)
{
    const char *val = NULL;
    size_t len = 0;
    if (!mm_query_param(query, name, &val, &len))
        return;
    FUZZ_CHECK(val >= query && val <= query + qlen && len <= (size_t)(query + qlen - val));
    FUZZ_CHECK(memchr(val, '&', len) == NULL);
    check_uint(val, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *query = malloc(size + 1);
    if (query == NULL)
        return 0;
    memcpy(query, data, size);
    query[size] = '\0';
    size_t qlen = strlen(query); /* the FastCGI parameter ends at a NUL */
    lookup(query, qlen, "count");
    lookup(query, qlen, "page");
    free(query);

    char *raw = malloc(size == 0 ? 1 : size);
    if (raw == NULL)
        return 0;
    memcpy(raw, data, size);
    check_uint(raw, size);
    free(raw);
    return 0;
}
