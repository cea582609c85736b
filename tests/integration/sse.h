/* A Server-Sent Events subscriber for the tests of the live lobby: one GET held open with
 * libcurl's multi interface, its stream cut into events (id and data) as they arrive, so a
 * test can make requests in between and then wait for what they published. Also a bare
 * WebSocket subscriber (the handshake and server frames, nothing more). */
#ifndef MM_SSE_H
#define MM_SSE_H

#include <stddef.h>

typedef struct sse_sub sse_sub;

typedef struct {
    char id[96];
    const char *data; /* owned by the subscriber, valid until the next call */
} sse_event;

/* GET url (on the unix socket sock, or over TCP when sock is NULL) with Accept:
 * text/event-stream, an Origin as a browser on another site sends and, when not NULL,
 * Last-Event-ID. NULL when libcurl cannot start. */
sse_sub *sse_open(const char *sock, const char *url, const char *last_event_id);
/* Waits up to timeout_ms until the answer's head is in (or the transfer ended): its
 * status, or 0. */
long sse_status(sse_sub *s, long timeout_ms);
/* The next event (comments skipped): 0 and *ev, or -1 when none came within timeout_ms
 * or the stream ended. */
int sse_next(sse_sub *s, long timeout_ms, sse_event *ev);
/* Whether the answer's head has a header line starting with prefix (case-insensitive,
 * e.g. "content-type: text/event-stream"). */
int sse_has_header(const sse_sub *s, const char *prefix);
/* NULL is accepted. */
void sse_close(sse_sub *s);

typedef struct ws_sub ws_sub;
/* Opens a WebSocket to path on the unix socket sock; NULL unless the server switched
 * protocols (101). */
ws_sub *ws_open(const char *sock, const char *path);
/* The next text message, NUL-terminated (owned by the subscriber until the next call), or
 * NULL when none came within timeout_ms. Pings and other control frames are skipped. */
const char *ws_next(ws_sub *w, long timeout_ms);
void ws_close(ws_sub *w);

#endif
