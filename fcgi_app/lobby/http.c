#include "http.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

void mm_response_json(mm_response *res, int status, const char *json, size_t len)
{
    res->status = status;
    res->content_type = "application/json";
    res->body = json;
    res->body_len = len;
}

void mm_response_error(mm_response *res, mm_arena *a, int status, const char *msg)
{
    static const char fallback[] = "{\"error\": \"Internal error.\"}";
    static const char pre[] = "{\"error\": \"";
    static const char post[] = "\"}";
    size_t mlen = strlen(msg), elen = 0;
    char *buf = NULL;
    if (mlen < MM_MAX_BODY) {
        elen = mm_json_escape(NULL, 0, msg, mlen);
        buf = mm_arena_alloc(a, sizeof(pre) - 1 + elen + sizeof(post));
    }
    if (buf == NULL) {
        mm_response_json(res, status, fallback, sizeof(fallback) - 1);
        return;
    }
    size_t n = sizeof(pre) - 1;
    memcpy(buf, pre, n);
    n += mm_json_escape(buf + n, elen, msg, mlen);
    memcpy(buf + n, post, sizeof(post));
    mm_response_json(res, status, buf, n + sizeof(post) - 1);
}

mm_status mm_request_read_body(const mm_request *req, size_t limit, const char **body, size_t *len)
{
    size_t want = req->content_length;
    if (want > limit)
        return MM_ERR_TOO_LARGE;
    char *buf = mm_arena_alloc(req->arena, want + 1);
    if (buf == NULL)
        return MM_ERR_NOMEM;
    size_t got = 0;
    while (got < want) {
        if (req->read_body == NULL)
            return MM_ERR_IO;
        int n = req->read_body(req->body_source, buf + got, want - got);
        if (n < 0 || (size_t)n > want - got)
            return MM_ERR_IO;
        if (n == 0)
            return MM_ERR_INVALID;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *body = buf;
    *len = got;
    return MM_OK;
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

/* Appends to buf[*at..cap) like snprintf; false, with *at unchanged, when the text and
 * its NUL do not fit. */
static bool head_put(char *buf, size_t cap, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool head_put(char *buf, size_t cap, size_t *at, const char *fmt, ...)
{
    if (*at >= cap)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, cap - *at, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *at)
        return false;
    *at += (size_t)n;
    return true;
}

mm_status mm_response_head(const mm_response *res, const char *allow_origin, const char *request_id,
                           char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    bool ok = head_put(buf, cap, &n, "Status: %d %s\r\nAccess-Control-Allow-Origin: %s\r\n",
                       res->status, mm_http_reason(res->status), allow_origin);
    if (res->content_type != NULL)
        ok = ok && head_put(buf, cap, &n, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                            res->content_type, res->body_len);
    else
        ok = ok && head_put(buf, cap, &n, "Content-Length: 0\r\n");
    for (size_t i = 0; ok && i < res->nheaders; i++)
        ok = head_put(buf, cap, &n, "%s: %s\r\n", res->headers[i].name, res->headers[i].value);
    if (request_id != NULL)
        ok = ok && head_put(buf, cap, &n, "X-Request-Id: %s\r\n", request_id);
    ok = ok && head_put(buf, cap, &n, "\r\n");
    if (!ok)
        return MM_ERR_TOO_LARGE;
    *len = n;
    return MM_OK;
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
