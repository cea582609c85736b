#include "sentinel.h"

#include <stdio.h>
#include <string.h>

#include "text.h"

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

static bool hex_or_colon(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

/* A decimal port 1..65535 of exactly len digits. */
static int parse_port(const char *s, size_t len, int *out)
{
    long v;
    if (len > 5 || mm_text_uint(s, len, 65535, &v) != 0 || v < 1)
        return -1;
    *out = (int)v;
    return 0;
}

mm_status mm_redis_addr_parse(const char *s, size_t len, mm_redis_addr *out, char *err,
                              size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *host = s, *colon;
    size_t hlen;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            MM_TEXT_FAIL("an IPv6 address must be closed with ]");
        host = s + 1;
        hlen = (size_t)(close - host);
        if (hlen == 0)
            MM_TEXT_FAIL("the address is empty");
        for (size_t i = 0; i < hlen; i++)
            if (!hex_or_colon(host[i]))
                MM_TEXT_FAIL("the IPv6 address has invalid characters");
        colon = close + 1;
        if (colon == s + len || *colon != ':')
            MM_TEXT_FAIL("a port must follow the address: [address]:port");
    } else {
        colon = memchr(s, ':', len);
        if (colon == NULL)
            MM_TEXT_FAIL("expected host:port");
        if (memchr(colon + 1, ':', (size_t)(s + len - colon - 1)) != NULL)
            MM_TEXT_FAIL("an IPv6 address goes in brackets: [address]:port");
        hlen = (size_t)(colon - s);
        if (hlen == 0)
            MM_TEXT_FAIL("the host is missing");
        for (size_t i = 0; i < hlen; i++)
            if (!name_char(s[i]))
                MM_TEXT_FAIL("the host has invalid characters");
    }
    if (hlen > MM_REDIS_HOST_MAX)
        MM_TEXT_FAIL("the host is too long");
    if (parse_port(colon + 1, (size_t)(s + len - colon - 1), &out->port) != 0)
        MM_TEXT_FAIL("the port must be 1..65535");
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    return MM_OK;
}

void mm_redis_addr_format(const mm_redis_addr *a, char *out, size_t cap)
{
    if (cap == 0)
        return;
    bool v6 = strchr(a->host, ':') != NULL;
    snprintf(out, cap, v6 ? "[%s]:%d" : "%s:%d", a->host, a->port);
}

bool mm_sentinel_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > MM_SENTINEL_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!name_char(s[i]))
            return false;
    return true;
}

/* A bulk string of 1..max bytes with no NUL. */
static bool text_element(const redisReply *e, size_t max)
{
    return e != NULL && e->type == REDIS_REPLY_STRING && e->len >= 1 && e->len <= max &&
           memchr(e->str, '\0', e->len) == NULL;
}

mm_status mm_sentinel_master_reply(const redisReply *r, mm_redis_addr *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (r == NULL) {
        *why = "no reply";
        return MM_ERR_UNAVAILABLE;
    }
    if (r->type == REDIS_REPLY_NIL) {
        *why = "the sentinel does not monitor this master name";
        return MM_ERR_UNAVAILABLE;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        *why = "the sentinel answered an error";
        return MM_ERR_UNAVAILABLE;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        !text_element(r->element[0], MM_REDIS_HOST_MAX) || !text_element(r->element[1], 5)) {
        *why = "the sentinel's answer is not [host, port]";
        return MM_ERR_UNAVAILABLE;
    }
    const redisReply *h = r->element[0], *p = r->element[1];
    /* a name or an IPv4 address, or an IPv6 one (it holds a colon): what a host of the
     * configuration may be */
    bool v6 = memchr(h->str, ':', h->len) != NULL;
    for (size_t i = 0; i < h->len; i++) {
        if (!(v6 ? hex_or_colon(h->str[i]) : name_char(h->str[i]))) {
            *why = "the sentinel's host has invalid characters";
            return MM_ERR_UNAVAILABLE;
        }
    }
    if (parse_port(p->str, p->len, &out->port) != 0) {
        *why = "the sentinel's port is not 1..65535";
        return MM_ERR_UNAVAILABLE;
    }
    memcpy(out->host, h->str, h->len);
    out->host[h->len] = '\0';
    return MM_OK;
}

mm_redis_role mm_sentinel_role_reply(const redisReply *r)
{
    static const struct {
        const char *name;
        mm_redis_role role;
    } roles[] = {
        {"master", MM_ROLE_MASTER},
        {"slave", MM_ROLE_REPLICA},
        {"replica", MM_ROLE_REPLICA}, /* not sent by Redis 7, but its documented synonym */
        {"sentinel", MM_ROLE_SENTINEL},
    };
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        !text_element(r->element[0], 16))
        return MM_ROLE_UNKNOWN;
    for (size_t i = 0; i < MM_ARRAY_LEN(roles); i++)
        if (r->element[0]->len == strlen(roles[i].name) &&
            memcmp(r->element[0]->str, roles[i].name, r->element[0]->len) == 0)
            return roles[i].role;
    return MM_ROLE_UNKNOWN;
}

const char *mm_redis_role_name(mm_redis_role role)
{
    switch (role) {
    case MM_ROLE_MASTER: return "master";
    case MM_ROLE_REPLICA: return "replica";
    case MM_ROLE_SENTINEL: return "sentinel";
    case MM_ROLE_UNKNOWN: break;
    }
    return "unknown";
}

size_t mm_sentinel_pick(const mm_sentinel_cursor *cur, size_t first, size_t k)
{
    return cur->n == 0 ? 0 : (first + k) % cur->n;
}

void mm_sentinel_round_done(mm_sentinel_cursor *cur, size_t first, size_t asked, size_t found)
{
    if (cur->n == 0)
        return;
    cur->first = found < cur->n ? found : (first + asked) % cur->n;
}
