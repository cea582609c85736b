/* core/ -- uses nothing above it (fcgi_app/README.md).
 * WebSocket frames (RFC 6455) as a client writes and reads them, for the live lobby's
 * publisher (store/lobby_publisher.c): the header of a masked frame, the masking, and a
 * reader that takes a server's bytes in any pieces and counts its frames. No I/O, nothing
 * allocated; a payload is never held, only skipped. */
#ifndef MM_WS_FRAME_H
#define MM_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm.h"

#define MM_WS_HEADER_MAX 14 /* 2, then 8 bytes of length at most, then the 4-byte mask key */

enum {
    MM_WS_CONTINUATION = 0x0,
    MM_WS_TEXT = 0x1,
    MM_WS_BINARY = 0x2,
    MM_WS_CLOSE = 0x8,
    MM_WS_PING = 0x9,
    MM_WS_PONG = 0xa
};

/* The header of a final, masked frame of opcode carrying len payload bytes, masked with
 * key; returns its size (6, 8 or 14). */
size_t mm_ws_client_header(unsigned char out[MM_WS_HEADER_MAX], int opcode, uint64_t len,
                           const unsigned char key[4]);

/* XORs buf[0..len) with key, as bytes at offset.. of a payload: the same call masks and
 * unmasks. */
void mm_ws_mask(unsigned char *buf, size_t len, const unsigned char key[4], uint64_t offset);

/* Frames a server sent, counted as they complete. */
typedef struct {
    uint64_t messages; /* final text or binary frames (a message's last fragment) */
    uint64_t pings, pongs;
    bool closed; /* a close frame */
} mm_ws_seen;

typedef struct {
    unsigned char head[MM_WS_HEADER_MAX]; /* the header being read */
    size_t head_len;
    uint64_t payload_left; /* of the frame being skipped */
    bool in_payload;
    unsigned char b0; /* the current frame's first byte: FIN and opcode */
} mm_ws_reader;

/* Reads len more bytes of a server's stream into r (zeroed before the first call), adding
 * each frame that completes to *seen. MM_ERR_INVALID when the bytes are not a server's
 * frames (masked, a reserved bit or opcode, a control frame fragmented or over 125 bytes,
 * a length of 2^63 or more): the connection must close. */
mm_status mm_ws_read(mm_ws_reader *r, const unsigned char *buf, size_t len, mm_ws_seen *seen);

#endif
