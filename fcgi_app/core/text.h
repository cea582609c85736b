/* Bytes as text: well-formed UTF-8, control characters, decimal numbers, and JSON string
 * escaping, for
 * everything that takes text from outside or writes JSON (the game model, the JWT
 * verifier, the HTTP answers, the event decoder, the test game server). Pure functions:
 * they allocate nothing and read no byte past the length they are given. */
#ifndef MM_TEXT_H
#define MM_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s (n bytes) is well-formed UTF-8: no overlong form, no surrogate, nothing
 * above U+10FFFF, no sequence cut short. Control characters and NUL are not checked. */
bool mm_utf8_valid(const char *s, size_t n);

/* Whether s (n bytes) holds a control character (below 0x20, or 0x7f). */
bool mm_text_has_control(const char *s, size_t n);

/* s (len bytes, 1 to 9 of them) as a decimal number of digits only, at most max: 0 and
 * *out, or -1 (no sign, no space, nothing else). */
int mm_text_uint(const char *s, size_t len, long max, long *out);

/* The inside of a JSON string for s (len bytes): quote and backslash escaped, control
 * characters below 0x20 as \u00XX, well-formed UTF-8 copied, and each byte of an
 * ill-formed sequence as \ufffd, so the result is valid JSON whatever s holds. Returns
 * its length, and writes it to dst only when it fits in cap bytes (no NUL is added);
 * dst may be NULL to measure. */
size_t mm_json_escape(char *dst, size_t cap, const char *s, size_t len);

/* In a parser with the parameters (char *err, size_t errlen) that answers an mm_status:
 * writes msg to err and returns MM_ERR_INVALID (needs stdio.h and mm.h). */
#define MM_TEXT_FAIL(msg)                                                                          \
    do {                                                                                           \
        snprintf(err, errlen, "%s", msg);                                                          \
        return MM_ERR_INVALID;                                                                     \
    } while (0)

#endif
