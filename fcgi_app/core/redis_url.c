#include "redis_url.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

static mm_status parse_unix(const char *rest, mm_redis_url *out, char *err, size_t errlen)
{
    const char *q = strchr(rest, '?');
    size_t plen = q ? (size_t)(q - rest) : strlen(rest);
    if (plen == 0 || rest[0] != '/')
        MM_TEXT_FAIL("unix URL needs an absolute socket path (unix:///path/to/sock)");
    if (plen > MM_REDIS_PATH_MAX)
        MM_TEXT_FAIL("unix socket path is too long");
    memcpy(out->path, rest, plen);
    out->path[plen] = '\0';
    if (q != NULL) {
        long db;
        if (strncmp(q, "?db=", 4) != 0 || mm_text_uint(q + 4, strlen(q + 4), 1 << 20, &db) != 0)
            MM_TEXT_FAIL("unix URL query must be ?db=N");
        out->db = (int)db;
    }
    out->is_unix = 1;
    return MM_OK;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) into out (cap bytes with the NUL); -1 on a bad escape, a
 * decoded NUL or a result that does not fit. */
static int decode_into(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || n + 1 >= cap)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

static mm_status parse_tcp(const char *rest, mm_redis_url *out, char *err, size_t errlen)
{
    const char *slash = strchr(rest, '/');
    size_t auth_host_len = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *at = NULL; /* the last '@': a password may not hold one unescaped, but be kind */
    for (const char *p = rest; p < rest + auth_host_len; p++)
        if (*p == '@')
            at = p;
    const char *host = rest;
    if (at != NULL) {
        /* [user]:password@ -- with a user, AUTH user password (Redis 6 ACLs) */
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        if (colon == NULL)
            MM_TEXT_FAIL("credentials must be written [user]:password@");
        if (decode_into(rest, (size_t)(colon - rest), out->user, sizeof(out->user)) != 0)
            MM_TEXT_FAIL("user is too long or has a bad %-escape");
        if (decode_into(colon + 1, (size_t)(at - colon - 1), out->password,
                        sizeof(out->password)) != 0)
            MM_TEXT_FAIL("password is too long or has a bad %-escape");
        host = at + 1;
    }
    size_t hplen = (size_t)(rest + auth_host_len - host);
    const char *port = NULL;
    size_t hlen;
    if (hplen > 0 && host[0] == '[') { /* [IPv6] */
        const char *close = memchr(host, ']', hplen);
        if (close == NULL)
            MM_TEXT_FAIL("IPv6 host must be closed with ]");
        hlen = (size_t)(close - host - 1);
        if (hlen == 0 || hlen > MM_REDIS_HOST_MAX)
            MM_TEXT_FAIL("IPv6 host is empty or too long");
        for (size_t i = 1; i <= hlen; i++)
            if (hex_digit(host[i]) < 0 && host[i] != ':' && host[i] != '.')
                MM_TEXT_FAIL("IPv6 host has invalid characters");
        memcpy(out->host, host + 1, hlen);
        out->host[hlen] = '\0';
        if (close + 1 < host + hplen) {
            if (close[1] != ':')
                MM_TEXT_FAIL("only :port may follow an IPv6 host");
            port = close + 1;
        }
    } else {
        port = memchr(host, ':', hplen);
        hlen = port ? (size_t)(port - host) : hplen;
        if (hlen == 0)
            MM_TEXT_FAIL("host is missing");
        if (hlen > MM_REDIS_HOST_MAX)
            MM_TEXT_FAIL("host is too long");
        for (size_t i = 0; i < hlen; i++)
            if (!host_char(host[i]))
                MM_TEXT_FAIL("host has invalid characters");
        memcpy(out->host, host, hlen);
        out->host[hlen] = '\0';
    }
    if (port != NULL) {
        long v;
        if (mm_text_uint(port + 1, (size_t)(host + hplen - port - 1), 65535, &v) != 0 || v == 0)
            MM_TEXT_FAIL("port must be 1..65535");
        out->port = (int)v;
    }
    if (slash != NULL && slash[1] != '\0') {
        long db;
        if (mm_text_uint(slash + 1, strlen(slash + 1), 1 << 20, &db) != 0)
            MM_TEXT_FAIL("database must be a number");
        out->db = (int)db;
    }
    return MM_OK;
}

mm_status mm_redis_url_parse(const char *url, mm_redis_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (url == NULL)
        MM_TEXT_FAIL("URL is missing");
    if (strlen(url) > 2048)
        MM_TEXT_FAIL("URL is too long");
    if (strncmp(url, "redis://", 8) == 0)
        return parse_tcp(url + 8, out, err, errlen);
    if (strncmp(url, "unix://", 7) == 0)
        return parse_unix(url + 7, out, err, errlen);
    if (strncmp(url, "rediss://", 9) == 0)
        MM_TEXT_FAIL(
            "rediss:// (TLS) is not supported: use redis:// on a private network or through "
            "a TLS tunnel");
    MM_TEXT_FAIL("URL must start with redis:// or unix://");
}
