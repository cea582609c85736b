#include "ids.h"

#include <string.h>
#include <sys/random.h>

bool mm_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > MM_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int random_bytes(unsigned char *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

int mm_game_id_new(char out[MM_GAME_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    if (random_bytes(b, sizeof(b)) != 0)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (size_t i = 0; i < sizeof(b); i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 0x0f];
    }
    out[MM_GAME_ID_LEN] = '\0';
    return 0;
}

int mm_join_code_new(char out[MM_JOIN_CODE_LEN + 1])
{
    static const char alphabet[] = MM_JOIN_CODE_ALPHABET;
    unsigned char b[MM_JOIN_CODE_LEN];
    if (random_bytes(b, sizeof(b)) != 0)
        return -1;
    for (size_t i = 0; i < MM_JOIN_CODE_LEN; i++) /* 32 letters: every byte maps evenly */
        out[i] = alphabet[b[i] % (sizeof(alphabet) - 1)];
    out[MM_JOIN_CODE_LEN] = '\0';
    return 0;
}

bool mm_join_code_normalize(const char *s, size_t len, char out[MM_JOIN_CODE_LEN + 1])
{
    if (len != MM_JOIN_CODE_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == '\0' || strchr(MM_JOIN_CODE_ALPHABET, c) == NULL)
            return false;
        out[i] = c;
    }
    out[len] = '\0';
    return true;
}
