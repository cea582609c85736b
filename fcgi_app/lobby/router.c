#include "router.h"

#include <string.h>

/* Matches one pattern against a path segment by segment. A placeholder takes
 * one whole segment. An empty product segment still matches, and the
 * dispatcher answers it as an invalid product (SPEC 2, check 1); an empty
 * game id names no game, so "join_game/" is as unknown a path as any other,
 * whatever the method (SPEC 10). */
static bool pattern_match(const char *pattern, const char *path, size_t path_len,
                          mm_route_params *params)
{
    const char *p = pattern;
    const char *s = path;
    const char *end = path + path_len;
    memset(params, 0, sizeof(*params));
    while (*p != '\0') {
        if (s >= end || *p != '/' || *s != '/')
            return false;
        p++;
        s++;
        const char *pseg_end = strchr(p, '/');
        size_t plen = pseg_end ? (size_t)(pseg_end - p) : strlen(p);
        const char *sseg_end = memchr(s, '/', (size_t)(end - s));
        size_t slen = sseg_end ? (size_t)(sseg_end - s) : (size_t)(end - s);
        if (plen == 12 && memcmp(p, "{product_id}", 12) == 0) {
            params->product_id = s;
            params->product_id_len = slen;
        } else if (plen == 9 && memcmp(p, "{game_id}", 9) == 0) {
            if (slen == 0)
                return false;
            params->game_id = s;
            params->game_id_len = slen;
        } else if (plen != slen || memcmp(p, s, slen) != 0) {
            return false;
        }
        p += plen;
        s += slen;
    }
    return s == end;
}

mm_route_result mm_router_match(const mm_route *table, size_t n, unsigned absent,
                                const char *method, const char *path, size_t path_len,
                                const mm_route **route, mm_route_params *params,
                                char allow[MM_ALLOW_MAX])
{
    bool path_known = false;
    size_t alen = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        mm_route_params tmp;
        if ((table[i].flags & absent) != 0 ||
            !pattern_match(table[i].pattern, path, path_len, &tmp))
            continue;
        if (strcmp(table[i].method, method) == 0) {
            *route = &table[i];
            *params = tmp;
            return MM_ROUTE_FOUND;
        }
        path_known = true;
        size_t mlen = strlen(table[i].method);
        if (alen + mlen + 2 < MM_ALLOW_MAX - sizeof("OPTIONS")) {
            memcpy(allow + alen, table[i].method, mlen);
            alen += mlen;
            memcpy(allow + alen, ", ", 2);
            alen += 2;
        }
    }
    if (!path_known)
        return MM_ROUTE_NOT_FOUND;
    memcpy(allow + alen, "OPTIONS", sizeof("OPTIONS"));
    return MM_ROUTE_METHOD_NOT_ALLOWED;
}
