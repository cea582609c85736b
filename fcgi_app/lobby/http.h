/* The request and response as the handlers see them, independent of
 * FastCGI: fcgi_main fills an mm_request from the FastCGI parameters and
 * writes an mm_response back. Everything lives in the request's arena. */
#ifndef MM_HTTP_H
#define MM_HTTP_H

#include <stddef.h>

#include "arena.h"
#include "mm.h"

#define MM_MAX_BODY ((size_t)64 * 1024)
#define MM_MAX_RESPONSE_HEADERS 4
#define MM_RESPONSE_HEAD_MAX 2048 /* the buffer fcgi_main writes the head into */

/* Reads up to len bytes of the request body into buf: the bytes read, 0 at its end, -1
 * on an error. */
typedef int (*mm_body_reader)(void *source, char *buf, size_t len);

typedef struct {
    mm_arena *arena;
    const char *method;
    const char *path; /* without the query string; not percent-decoded */
    size_t path_len;
    const char *query;           /* "" when absent */
    const char *authorization;   /* NULL when absent */
    const char *request_id;      /* from nginx, NULL when absent */
    const char *idempotency_key; /* the Idempotency-Key header, NULL when absent */
    /* The body is read only for a route that says it reads one (mm_request_read_body). */
    size_t content_length; /* as announced, at most MM_MAX_BODY */
    mm_body_reader read_body;
    void *body_source;
} mm_request;

typedef struct {
    const char *name;
    const char *value;
} mm_header;

typedef struct {
    int status;
    const char *content_type;
    const char *body;
    size_t body_len;
    mm_header headers[MM_MAX_RESPONSE_HEADERS];
    size_t nheaders;
    /* key=value pairs a handler adds to the request's one log line ("event=player_joined
     * game_id=..."), or NULL; values must already be safe to log. */
    const char *log_fields;
} mm_response;

/* A JSON answer; json (len bytes) must stay valid until written. */
void mm_response_json(mm_response *res, int status, const char *json, size_t len);
/* {"error": msg} with msg escaped; falls back to a static body on OOM. */
void mm_response_error(mm_response *res, mm_arena *a, int status, const char *msg);
/* Adds a header (name and value must outlive the response); -1 when full. */
int mm_response_add_header(mm_response *res, const char *name, const char *value);

/* Writes the head of res into buf as a FastCGI responder sends it: the Status line, the
 * CORS origin, Content-Type and Content-Length (0 without a body), the handler's headers,
 * X-Request-Id when request_id is not NULL, and the blank line; *len is its length.
 * MM_ERR_TOO_LARGE when the head and a NUL do not fit in cap bytes: nothing is written
 * past buf[cap - 1], and what buf holds is not to be sent. */
mm_status mm_response_head(const mm_response *res, const char *allow_origin, const char *request_id,
                           char *buf, size_t cap, size_t *len);

/* "OK", "Not Found", ...; "Unknown" for codes it does not know. */
const char *mm_http_reason(int status);

/* Reads the body of req (content_length bytes) into its arena, NUL-terminated:
 * MM_ERR_TOO_LARGE when more than limit bytes were announced (nothing is read),
 * MM_ERR_INVALID when the body ends short of its announced length, MM_ERR_IO on a read
 * error, MM_ERR_NOMEM. Bytes past the announced length are left unread. */
mm_status mm_request_read_body(const mm_request *req, size_t limit, const char **body, size_t *len);

#endif
