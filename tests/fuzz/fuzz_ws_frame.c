/* Fuzz target: the reader of a server's WebSocket frames (ws_frame.h). Input: the first byte
 * chooses where the rest is cut in two; the stream is read whole and in those two pieces,
 * and both readings must agree (the reader keeps its state between pieces), and never
 * count more frames than two bytes each. */
#include <string.h>

#include "fuzz.h"
#include "ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t len = size - 1;
    size_t cut = len == 0 ? 0 : data[0] % (len + 1);
    const unsigned char *s = data + 1;

    mm_ws_reader whole, pieces;
    memset(&whole, 0, sizeof(whole));
    memset(&pieces, 0, sizeof(pieces));
    mm_ws_seen a = {0}, b = {0};
    mm_status sa = mm_ws_read(&whole, s, len, &a);
    mm_status sb = mm_ws_read(&pieces, s, cut, &b);
    if (sb == MM_OK)
        sb = mm_ws_read(&pieces, s + cut, len - cut, &b);
    FUZZ_CHECK(sa == sb);
    if (sa == MM_OK) {
        FUZZ_CHECK(a.messages == b.messages && a.pings == b.pings && a.pongs == b.pongs);
        FUZZ_CHECK(a.closed == b.closed);
        FUZZ_CHECK(2 * (a.messages + a.pings + a.pongs) <= len);
    }
    /* a client header for any length is well formed: the reader, told it is a server's
     * (unmasked), must refuse it for its mask bit */
    unsigned char h[MM_WS_HEADER_MAX];
    uint64_t any = 0;
    unsigned char key[4] = {0};
    memcpy(&any, s, len < sizeof(any) ? len : sizeof(any));
    memcpy(key, s, len < sizeof(key) ? len : sizeof(key));
    size_t n = mm_ws_client_header(h, MM_WS_TEXT, any >> 1, key);
    FUZZ_CHECK(n == 6 || n == 8 || n == 14);
    mm_ws_reader r;
    memset(&r, 0, sizeof(r));
    mm_ws_seen seen = {0};
    FUZZ_CHECK(mm_ws_read(&r, h, n, &seen) == MM_ERR_INVALID);
    return 0;
}
