#include "redis_url.h"

#include <stdio.h>
#include <string.h>

static int parse_uint(const char *s, size_t len, long max, long *out)
{
    if (len == 0 || len > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

#define FAIL(msg)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, "%s", msg);                                                          \
        return MM_ERR_INVALID;                                                                     \
    } while (0)

static mm_status parse_unix(const char *rest, mm_redis_url *out, char *err, size_t errlen)
{
    const char *q = strchr(rest, '?');
    size_t plen = q ? (size_t)(q - rest) : strlen(rest);
    if (plen == 0 || rest[0] != '/')
        FAIL("unix URL needs an absolute socket path (unix:///path/to/sock)");
    if (plen > MM_REDIS_PATH_MAX)
        FAIL("unix socket path is too long");
    memcpy(out->path, rest, plen);
    out->path[plen] = '\0';
    if (q != NULL) {
        long db;
        if (strncmp(q, "?db=", 4) != 0 || parse_uint(q + 4, strlen(q + 4), 1 << 20, &db) != 0)
            FAIL("unix URL query must be ?db=N");
        out->db = (int)db;
    }
    out->is_unix = 1;
    return MM_OK;
}

static mm_status parse_tcp(const char *rest, mm_redis_url *out, char *err, size_t errlen)
{
    const char *slash = strchr(rest, '/');
    size_t auth_host_len = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *at = memchr(rest, '@', auth_host_len);
    const char *host = rest;
    if (at != NULL) {
        /* [user]:password@ -- the user part is ignored (Redis < 6 style) */
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        if (colon == NULL)
            FAIL("credentials must be written :password@");
        size_t pwlen = (size_t)(at - colon - 1);
        if (pwlen > MM_REDIS_PASSWORD_MAX)
            FAIL("password is too long");
        memcpy(out->password, colon + 1, pwlen);
        out->password[pwlen] = '\0';
        host = at + 1;
    }
    size_t hplen = (size_t)(rest + auth_host_len - host);
    const char *colon = memchr(host, ':', hplen);
    size_t hlen = colon ? (size_t)(colon - host) : hplen;
    if (hlen == 0)
        FAIL("host is missing");
    if (hlen > MM_REDIS_HOST_MAX)
        FAIL("host is too long");
    for (size_t i = 0; i < hlen; i++) {
        char c = host[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            FAIL("host has invalid characters");
    }
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    if (colon != NULL) {
        long port;
        if (parse_uint(colon + 1, hplen - hlen - 1, 65535, &port) != 0 || port == 0)
            FAIL("port must be 1..65535");
        out->port = (int)port;
    }
    if (slash != NULL && slash[1] != '\0') {
        long db;
        if (parse_uint(slash + 1, strlen(slash + 1), 1 << 20, &db) != 0)
            FAIL("database must be a number");
        out->db = (int)db;
    }
    return MM_OK;
}

mm_status mm_redis_url_parse(const char *url, mm_redis_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (url == NULL)
        FAIL("URL is missing");
    if (strlen(url) > 2048)
        FAIL("URL is too long");
    if (strncmp(url, "redis://", 8) == 0)
        return parse_tcp(url + 8, out, err, errlen);
    if (strncmp(url, "unix://", 7) == 0)
        return parse_unix(url + 7, out, err, errlen);
    FAIL("URL must start with redis:// or unix://");
}
