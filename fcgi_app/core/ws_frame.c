#include "ws_frame.h"

#include <string.h>

size_t mm_ws_client_header(unsigned char out[MM_WS_HEADER_MAX], int opcode, uint64_t len,
                           const unsigned char key[4])
{
    size_t n = 2;
    out[0] = (unsigned char)(0x80 | (opcode & 0x0f)); /* FIN: never fragmented */
    if (len < 126) {
        out[1] = (unsigned char)(0x80 | len);
    } else if (len <= 0xffff) {
        out[1] = 0x80 | 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        n = 4;
    } else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 10;
    }
    memcpy(out + n, key, 4);
    return n + 4;
}

void mm_ws_mask(unsigned char *buf, size_t len, const unsigned char key[4], uint64_t offset)
{
    for (size_t i = 0; i < len; i++)
        buf[i] ^= key[(offset + i) & 3];
}

/* The header's size once its first two bytes are in. */
static size_t header_size(const unsigned char *h)
{
    size_t n = 2 + ((h[1] & 0x80) ? 4 : 0);
    if ((h[1] & 0x7f) == 126)
        n += 2;
    else if ((h[1] & 0x7f) == 127)
        n += 8;
    return n;
}

/* A whole header: checks it and sets the payload to skip. */
static mm_status begin_frame(mm_ws_reader *r)
{
    const unsigned char *h = r->head;
    int opcode = h[0] & 0x0f;
    bool fin = (h[0] & 0x80) != 0;
    uint64_t len = h[1] & 0x7f;
    if ((h[0] & 0x70) != 0 || (h[1] & 0x80) != 0) /* reserved bits; a server never masks */
        return MM_ERR_INVALID;
    if (len == 126) {
        len = ((uint64_t)h[2] << 8) | h[3];
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | h[2 + i];
        if (len >> 63)
            return MM_ERR_INVALID;
    }
    bool control = opcode >= 0x8;
    if ((opcode > MM_WS_BINARY && !control) || opcode > MM_WS_PONG ||
        (control && (!fin || len > 125)))
        return MM_ERR_INVALID;
    r->b0 = h[0];
    r->payload_left = len;
    r->in_payload = true;
    return MM_OK;
}

static void end_frame(mm_ws_reader *r, mm_ws_seen *seen)
{
    int opcode = r->b0 & 0x0f;
    bool fin = (r->b0 & 0x80) != 0;
    if (opcode == MM_WS_CLOSE)
        seen->closed = true;
    else if (opcode == MM_WS_PING)
        seen->pings++;
    else if (opcode == MM_WS_PONG)
        seen->pongs++;
    else if (fin)
        seen->messages++;
    r->in_payload = false;
    r->head_len = 0;
}

mm_status mm_ws_read(mm_ws_reader *r, const unsigned char *buf, size_t len, mm_ws_seen *seen)
{
    size_t i = 0;
    while (i < len) {
        if (r->in_payload) {
            uint64_t skip = r->payload_left < len - i ? r->payload_left : len - i;
            r->payload_left -= skip;
            i += (size_t)skip;
            if (r->payload_left == 0)
                end_frame(r, seen);
            continue;
        }
        r->head[r->head_len++] = buf[i++];
        if (r->head_len < 2 || r->head_len < header_size(r->head))
            continue;
        if (begin_frame(r) != MM_OK)
            return MM_ERR_INVALID;
        if (r->payload_left == 0)
            end_frame(r, seen);
    }
    return MM_OK;
}
