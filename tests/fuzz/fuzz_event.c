/* Fuzz target: the stream-event decoder (event.h). Input: the entry's field list as lines,
 * name, value, name, value...; a final newline ends the last line. Every field is copied
 * to its own buffer of exact length (hiredis hands each one over separately), so a read
 * past a field is caught. */
#include <string.h>

#include "event.h"
#include "fuzz.h"

#define MAX_LINES (2 * MM_EVENT_MAX_FIELDS + 8) /* a little over the decoder's own limit */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *fields[MAX_LINES];
    size_t lens[MAX_LINES];
    size_t n = 0;
    const uint8_t *p = data, *end = data + size;
    while (p < end && n < MAX_LINES) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        fields[n] = malloc(len == 0 ? 1 : len);
        if (fields[n] == NULL)
            goto out;
        memcpy(fields[n], p, len);
        lens[n++] = len;
        p += len + (nl != NULL);
    }

    mm_arena *a = mm_arena_new(0);
    if (a == NULL)
        goto out;
    mm_event ev;
    const char *why = NULL;
    mm_status st = mm_event_decode(a, n, (const char *const *)fields, lens, &ev, &why);
    if (st == MM_OK) {
        FUZZ_CHECK(why == NULL && ev.product_id != NULL && ev.game_id != NULL);
        FUZZ_CHECK(ev.type_name != NULL && ev.type_name[0] != '\0');
        if (ev.type == MM_EVENT_STATE_CHANGE)
            FUZZ_CHECK(mm_game_state_name(ev.new_state) != NULL);
        if (ev.type == MM_EVENT_PLAYER_DISCONNECT)
            FUZZ_CHECK(ev.player_id != NULL && ev.player_id[0] != '\0');
    } else {
        FUZZ_CHECK(why != NULL);
    }
    mm_arena_free(a);
out:
    while (n > 0)
        free(fields[--n]);
    return 0;
}
