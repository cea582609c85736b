#include "text.h"

#include <string.h>

/* Length of the well-formed multi-byte sequence at p (2..4 bytes, of avail), or 0 for an
 * ill-formed one. The second byte's range excludes overlong forms (E0, F0), surrogates
 * (ED) and code points above U+10FFFF (F4). */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (avail < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

bool mm_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq_len(s + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

int mm_text_uint(const char *s, size_t len, long max, long *out)
{
    if (len == 0 || len > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

bool mm_text_has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    return false;
}

/* Escapes s into dst, or only measures when dst is NULL; returns the length. Runs of
 * plain bytes are copied in one go. */
static size_t escape(char *dst, const unsigned char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    static const char replacement[6] = {'\\', 'u', 'f', 'f', 'f', 'd'}; /* U+FFFD */
    size_t out = 0;
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
            run++;
        if (dst != NULL)
            memcpy(dst + out, s + i, run - i);
        out += run - i;
        i = run;
        if (i == len)
            break;
        unsigned char c = s[i];
        char esc[6];
        size_t n;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            n = 2;
            i++;
        } else if (c < 0x20) {
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            n = 6;
            i++;
        } else if ((n = utf8_seq_len(s + i, len - i)) != 0) {
            if (dst != NULL)
                memcpy(dst + out, s + i, n);
            out += n;
            i += n;
            continue;
        } else {
            memcpy(esc, replacement, sizeof(replacement));
            n = 6;
            i++;
        }
        if (dst != NULL)
            memcpy(dst + out, esc, n);
        out += n;
    }
    return out;
}

/* No byte escapes to more than 6: when 6 * len fits, the text is written in one pass. */
size_t mm_json_escape(char *dst, size_t cap, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (dst != NULL && len <= cap / 6)
        return escape(dst, u, len);
    size_t n = escape(NULL, u, len);
    if (dst != NULL && n <= cap)
        escape(dst, u, len);
    return n;
}
