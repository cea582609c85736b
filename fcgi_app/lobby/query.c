#include "query.h"

#include <string.h>

bool mm_query_param(const char *query, const char *name, const char **val, size_t *len)
{
    size_t nlen = strlen(name);
    const char *p = query;
    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, '&');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        if (plen >= nlen && memcmp(p, name, nlen) == 0 && (plen == nlen || p[nlen] == '=')) {
            *val = plen == nlen ? p + nlen : p + nlen + 1;
            *len = plen == nlen ? 0 : plen - nlen - 1;
            return true;
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

bool mm_query_uint(const char *val, size_t len, long *out)
{
    if (len == 0 || len > 9)
        return false;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (val[i] < '0' || val[i] > '9')
            return false;
        v = v * 10 + (val[i] - '0');
    }
    *out = v;
    return true;
}
