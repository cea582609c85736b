/* Unit tests for the WebSocket frames (ws_frame.c): client headers at each length form,
 * masking, and the reader of a server's frames, whole and cut at every byte, including
 * every kind of frame a client must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ws_frame.h"

static const unsigned char key[4] = {0x11, 0x22, 0x33, 0x44};

static void client_headers_take_the_shortest_length_form(void **state)
{
    static const struct {
        uint64_t len;
        size_t size;
        unsigned char second; /* mask bit and 7-bit length */
    } cases[] = {
        {0, 6, 0x80},           {125, 6, 0x80 | 125},    {126, 8, 0x80 | 126},
        {65535, 8, 0x80 | 126}, {65536, 14, 0x80 | 127}, {(uint64_t)1 << 40, 14, 0x80 | 127},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char h[MM_WS_HEADER_MAX];
        size_t n = mm_ws_client_header(h, MM_WS_TEXT, cases[i].len, key);
        assert_int_equal(n, cases[i].size);
        assert_int_equal(h[0], 0x81); /* FIN, text */
        assert_int_equal(h[1], cases[i].second);
        assert_memory_equal(h + n - 4, key, 4);
        uint64_t len = h[1] & 0x7f;
        if (len == 126) {
            len = ((uint64_t)h[2] << 8) | h[3];
        } else if (len == 127) {
            len = 0;
            for (int k = 0; k < 8; k++)
                len = (len << 8) | h[2 + k];
        }
        assert_true(len == cases[i].len);
    }
    unsigned char h[MM_WS_HEADER_MAX];
    mm_ws_client_header(h, MM_WS_PONG, 0, key);
    assert_int_equal(h[0], 0x8a);
}

static void masking_twice_gives_the_bytes_back(void **state)
{
    unsigned char buf[] = "{\"type\": \"unlisted\"}";
    unsigned char copy[sizeof(buf)];
    memcpy(copy, buf, sizeof(buf));
    mm_ws_mask(buf, sizeof(buf), key, 0);
    assert_int_equal(buf[0], copy[0] ^ 0x11);
    assert_int_equal(buf[5], copy[5] ^ 0x22);
    assert_memory_not_equal(buf, copy, sizeof(buf));
    /* in two pieces, the second one at its offset */
    mm_ws_mask(buf, 7, key, 0);
    mm_ws_mask(buf + 7, sizeof(buf) - 7, key, 7);
    assert_memory_equal(buf, copy, sizeof(buf));
}

/* A server's stream: an answer as nchan sends one (text, 109 bytes), a 300-byte text frame,
 * a ping with a payload, an empty pong, a message in two fragments, an empty text frame, a
 * close. */
static size_t server_stream(unsigned char *out)
{
    size_t n = 0;
    out[n++] = 0x81;
    out[n++] = 109;
    memset(out + n, 'a', 109);
    n += 109;
    out[n++] = 0x81;
    out[n++] = 126;
    out[n++] = 300 >> 8;
    out[n++] = 300 & 0xff;
    memset(out + n, 'b', 300);
    n += 300;
    out[n++] = 0x89;
    out[n++] = 2;
    out[n++] = 'h';
    out[n++] = 'i';
    out[n++] = 0x8a;
    out[n++] = 0;
    out[n++] = 0x01; /* text, not final */
    out[n++] = 3;
    memcpy(out + n, "abc", 3);
    n += 3;
    out[n++] = 0x80; /* continuation, final */
    out[n++] = 2;
    memcpy(out + n, "de", 2);
    n += 2;
    out[n++] = 0x81;
    out[n++] = 0;
    out[n++] = 0x88;
    out[n++] = 2;
    out[n++] = 0x03;
    out[n++] = 0xe8;
    return n;
}

static void a_stream_is_counted_whatever_its_pieces(void **state)
{
    unsigned char stream[1024];
    size_t len = server_stream(stream);
    for (size_t piece = 1; piece <= len; piece++) {
        mm_ws_reader r;
        memset(&r, 0, sizeof(r));
        mm_ws_seen seen = {0};
        for (size_t at = 0; at < len; at += piece) {
            size_t n = len - at < piece ? len - at : piece;
            assert_int_equal(mm_ws_read(&r, stream + at, n, &seen), MM_OK);
        }
        assert_int_equal(seen.messages, 4);
        assert_int_equal(seen.pings, 1);
        assert_int_equal(seen.pongs, 1);
        assert_true(seen.closed);
    }
}

static void a_64_bit_length_is_skipped_in_pieces(void **state)
{
    unsigned char head[10] = {0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}; /* 65536 bytes */
    unsigned char zeros[4096] = {0};
    mm_ws_reader r;
    memset(&r, 0, sizeof(r));
    mm_ws_seen seen = {0};
    assert_int_equal(mm_ws_read(&r, head, sizeof(head), &seen), MM_OK);
    for (int i = 0; i < 15; i++)
        assert_int_equal(mm_ws_read(&r, zeros, sizeof(zeros), &seen), MM_OK);
    assert_int_equal(seen.messages, 0);
    assert_int_equal(mm_ws_read(&r, zeros, sizeof(zeros), &seen), MM_OK);
    assert_int_equal(seen.messages, 1);
}

static void what_a_client_must_refuse(void **state)
{
    static const struct {
        const char *name;
        unsigned char bytes[12];
        size_t len;
    } cases[] = {
        {"masked", {0x81, 0x81, 1, 2, 3, 4, 'x'}, 7},
        {"a reserved bit", {0xc1, 0x00}, 2},
        {"opcode 3", {0x83, 0x00}, 2},
        {"opcode 11", {0x8b, 0x00}, 2},
        {"a ping of 126 bytes", {0x89, 126, 0, 126}, 4},
        {"a fragmented ping", {0x09, 0x00}, 2},
        {"a length with its top bit set", {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}, 10},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mm_ws_reader r;
        memset(&r, 0, sizeof(r));
        mm_ws_seen seen = {0};
        if (mm_ws_read(&r, cases[i].bytes, cases[i].len, &seen) != MM_ERR_INVALID)
            fail_msg("accepted %s", cases[i].name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(client_headers_take_the_shortest_length_form),
        cmocka_unit_test(masking_twice_gives_the_bytes_back),
        cmocka_unit_test(a_stream_is_counted_whatever_its_pieces),
        cmocka_unit_test(a_64_bit_length_is_skipped_in_pieces),
        cmocka_unit_test(what_a_client_must_refuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
