/* Fuzz target: the game-server answer classifier (gameserver.h, mm_gs_classify: the part of
 * the client that reads what a game server sends back). Input: a first line "STATUS" or
 * "STATUS token" (a create_game answer, which must carry a gameToken), then the body.
 * Without a newline the whole input is the body of a 200 answer to create_game. */
#include <string.h>

#include "fuzz.h"
#include "game_server_client.h"

/* An optional '-' and up to 9 digits; anything else reads as 0 (no answer). */
static long read_status(const uint8_t *s, size_t len)
{
    size_t i = 0;
    bool neg = len > 0 && s[0] == '-';
    long v = 0;
    for (i = neg; i < len && i < 10 && s[i] >= '0' && s[i] <= '9'; i++)
        v = v * 10 + (s[i] - '0');
    return neg ? -v : v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long status = 200;
    bool want_token = true;
    const uint8_t *body = data;
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl != NULL) {
        size_t head = (size_t)(nl - data);
        status = read_status(data, head);
        want_token = head >= 6 && memcmp(nl - 6, " token", 6) == 0;
        body = nl + 1;
    }
    size_t len = size - (size_t)(body - data);
    char *copy = malloc(len == 0 ? 1 : len);
    mm_arena *a = mm_arena_new(0);
    if (copy == NULL || a == NULL)
        goto out;
    memcpy(copy, body, len);

    const char *token = "unset";
    mm_gs_result r = mm_gs_classify(a, status, copy, len, want_token, &token);
    FUZZ_CHECK(mm_gs_result_name(r) != NULL);
    if (status < 200 || status > 299)
        FUZZ_CHECK(r != MM_GS_OK);
    if (r == MM_GS_OK && want_token) {
        FUZZ_CHECK(token != NULL);
        size_t tlen = strlen(token);
        FUZZ_CHECK(tlen >= 1 && tlen <= MM_GS_MAX_TOKEN);
    } else {
        FUZZ_CHECK(token == NULL);
    }
    FUZZ_CHECK(mm_gs_classify(a, status, copy, len, want_token, NULL) == r);
out:
    free(copy);
    mm_arena_free(a);
    return 0;
}
