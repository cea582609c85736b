#include "http.h"

#include <string.h>

void mm_response_json(mm_response *res, int status, const char *json, size_t len)
{
    res->status = status;
    res->content_type = "application/json";
    res->body = json;
    res->body_len = len;
}

size_t mm_json_escape(char *dst, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *d = dst;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *d++ = '\\';
            *d++ = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            *d++ = '\\';
            *d++ = 'u';
            *d++ = '0';
            *d++ = '0';
            *d++ = hex[c >> 4];
            *d++ = hex[c & 0xf];
        } else {
            *d++ = (char)c;
        }
    }
    return (size_t)(d - dst);
}

void mm_response_error(mm_response *res, mm_arena *a, int status, const char *msg)
{
    static const char fallback[] = "{\"error\": \"Internal error.\"}";
    static const char pre[] = "{\"error\": \"";
    static const char post[] = "\"}";
    size_t mlen = strlen(msg);
    char *buf =
        mlen < MM_MAX_BODY ? mm_arena_alloc(a, sizeof(pre) + 6 * mlen + sizeof(post)) : NULL;
    if (buf == NULL) {
        mm_response_json(res, status, fallback, sizeof(fallback) - 1);
        return;
    }
    size_t n = sizeof(pre) - 1;
    memcpy(buf, pre, n);
    n += mm_json_escape(buf + n, msg, mlen);
    memcpy(buf + n, post, sizeof(post));
    mm_response_json(res, status, buf, n + sizeof(post) - 1);
}

int mm_response_add_header(mm_response *res, const char *name, const char *value)
{
    if (res->nheaders >= MM_MAX_RESPONSE_HEADERS)
        return -1;
    res->headers[res->nheaders].name = name;
    res->headers[res->nheaders].value = value;
    res->nheaders++;
    return 0;
}

const char *mm_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}
