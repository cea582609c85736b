/* The game document. Decoding goes through json-c (bounded depth, strict,
 * whole input consumed) and copies every string into the caller's arena so
 * the json-c tree can be released at once. Encoding is a hand-written
 * escaping writer: it runs on every open_games entry, and building json-c
 * objects only to print them would cost an allocation per field. The clock
 * format is done with plain calendar arithmetic so neither the process
 * locale (month names) nor TZ can change what is written or accepted. */
#include "game.h"

#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "text.h"

/* Same bounds as the configuration's; repeated here so the model does not
 * depend on the config module. */
#define NUM_PLAYERS_MIN 2
#define NUM_PLAYERS_MAX 64
#define NUM_PLAYERS_DEFAULT 2
#define JSON_MAX_DEPTH 16
#define US_PER_SEC INT64_C(1000000)
#define SECS_PER_DAY INT64_C(86400)
#define YEAR_MIN 1970
#define YEAR_MAX 9999
/* "DD-Mon-YYYY (HH:MM:SS.ffffff)" */
#define TIME_TEXT_LEN 29

static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* ---- calendar ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date. Eras of 400 years
 * make the leap rule periodic; counting from March puts the leap day last. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* The last instant the 4-digit year of the format can show. */
static int64_t time_max_us(void)
{
    return days_from_civil(YEAR_MAX + 1, 1, 1) * SECS_PER_DAY * US_PER_SEC - 1;
}

static void put_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* n ASCII digits at p as a number, or -1. */
static int64_t get_digits(const char *p, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Instants the format cannot show (before 1970, after 9999) are clamped:
 * the signature leaves no way to fail, and a clock that far off is a bug
 * elsewhere that must not produce an unparsable document. */
void mm_game_format_time(int64_t us, char out[MM_GAME_TIME_LEN])
{
    if (us < 0)
        us = 0;
    if (us > time_max_us())
        us = time_max_us();
    int64_t secs = us / US_PER_SEC;
    int64_t frac = us % US_PER_SEC;
    int64_t days = secs / SECS_PER_DAY;
    int64_t sod = secs % SECS_PER_DAY;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);

    put_digits(out, d, 2);
    out[2] = '-';
    memcpy(out + 3, month_names[m - 1], 3);
    out[6] = '-';
    put_digits(out + 7, y, 4);
    out[11] = ' ';
    out[12] = '(';
    put_digits(out + 13, sod / 3600, 2);
    out[15] = ':';
    put_digits(out + 16, sod / 60 % 60, 2);
    out[18] = ':';
    put_digits(out + 19, sod % 60, 2);
    out[21] = '.';
    put_digits(out + 22, frac, 6);
    out[28] = ')';
    out[TIME_TEXT_LEN] = '\0';
}

/* Exactly what mm_game_format_time writes and nothing else: fixed widths,
 * case-sensitive month, every field in range for its month and year. */
bool mm_game_parse_time(const char *s, size_t len, int64_t *us)
{
    if (s == NULL || len != TIME_TEXT_LEN)
        return false;
    if (s[2] != '-' || s[6] != '-' || s[11] != ' ' || s[12] != '(' || s[15] != ':' ||
        s[18] != ':' || s[21] != '.' || s[28] != ')')
        return false;
    int m = 0;
    for (int i = 0; i < 12; i++) {
        if (memcmp(s + 3, month_names[i], 3) == 0) {
            m = i + 1;
            break;
        }
    }
    int64_t d = get_digits(s, 2), y = get_digits(s + 7, 4);
    int64_t hh = get_digits(s + 13, 2), mi = get_digits(s + 16, 2), ss = get_digits(s + 19, 2);
    int64_t frac = get_digits(s + 22, 6);
    if (m == 0 || y < YEAR_MIN || y > YEAR_MAX || d < 1 || d > days_in_month(y, m) || hh < 0 ||
        hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59 || frac < 0)
        return false;
    int64_t secs = days_from_civil(y, m, (int)d) * SECS_PER_DAY + hh * 3600 + mi * 60 + ss;
    *us = secs * US_PER_SEC + frac;
    return true;
}

/* ---- decoding ---------------------------------------------------------- */

static const struct {
    const char *key;
    size_t offset; /* of the const char * in mm_game */
} string_fields[] = {
    {"game_id", offsetof(mm_game, game_id)},
    {"product_id", offsetof(mm_game, product_id)},
    {"game_server_url", offsetof(mm_game, game_server_url)},
    {"creator_id", offsetof(mm_game, creator_id)},
    {"creator_name", offsetof(mm_game, creator_name)},
    {"token", offsetof(mm_game, token)},
};

/* Copies a JSON string into the arena. A string holding "\u0000" is refused:
 * it could not survive as a C string and no legitimate writer produces one.
 * So is one that is not well-formed UTF-8. */
static mm_status copy_string(mm_arena *a, json_object *v, const char **out)
{
    if (!json_object_is_type(v, json_type_string))
        return MM_ERR_INVALID;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    /* json-c's own UTF-8 check lets overlong forms through; the encoder would rewrite
     * those, so a decoded string would not survive a round trip unchanged */
    if (memchr(s, '\0', n) != NULL || !mm_utf8_valid(s, n))
        return MM_ERR_INVALID;
    char *d = mm_arena_strndup(a, s, n);
    if (d == NULL)
        return MM_ERR_NOMEM;
    *out = d;
    return MM_OK;
}

/* num_players as a JSON integer, or as an integral double: a value that has
 * been through Lua (cjson) may come back as 2.0. */
static bool get_num_players(json_object *v, int *out)
{
    if (json_object_is_type(v, json_type_int)) {
        int64_t x = json_object_get_int64(v); /* clamps on overflow: still out of range */
        if (x < NUM_PLAYERS_MIN || x > NUM_PLAYERS_MAX)
            return false;
        *out = (int)x;
        return true;
    }
    if (json_object_is_type(v, json_type_double)) {
        double x = json_object_get_double(v);
        /* The range test is false for NaN, so the cast below is defined. */
        if (!(x >= NUM_PLAYERS_MIN && x <= NUM_PLAYERS_MAX) || (double)(int)x != x)
            return false;
        *out = (int)x;
        return true;
    }
    return false;
}

static mm_status decode_settings(mm_arena *a, json_object *settings, mm_game *g)
{
    if (!json_object_is_type(settings, json_type_object))
        return MM_ERR_INVALID;
    g->num_players = NUM_PLAYERS_DEFAULT;
    json_object *np;
    if (json_object_object_get_ex(settings, "num_players", &np) &&
        !get_num_players(np, &g->num_players))
        return MM_ERR_INVALID;
    /* Plain and without "\/": the text is embedded verbatim on encode. */
    const char *text = json_object_to_json_string_ext(settings, JSON_C_TO_STRING_PLAIN |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text == NULL)
        return MM_ERR_NOMEM;
    g->settings_json = mm_arena_strdup(a, text);
    return g->settings_json != NULL ? MM_OK : MM_ERR_NOMEM;
}

/* Needs num_players and creator_id already decoded. */
static mm_status decode_players(mm_arena *a, json_object *arr, mm_game *g)
{
    if (!json_object_is_type(arr, json_type_array))
        return MM_ERR_INVALID;
    size_t n = json_object_array_length(arr);
    if (n == 0 || n > (size_t)g->num_players)
        return MM_ERR_INVALID;
    const char **players = mm_arena_calloc(a, n, sizeof(*players));
    if (players == NULL)
        return MM_ERR_NOMEM;
    bool has_creator = false;
    for (size_t i = 0; i < n; i++) {
        mm_status st = copy_string(a, json_object_array_get_idx(arr, i), &players[i]);
        if (st != MM_OK)
            return st;
        for (size_t j = 0; j < i; j++) { /* n <= 64: quadratic is fine */
            if (strcmp(players[j], players[i]) == 0)
                return MM_ERR_INVALID;
        }
        if (strcmp(players[i], g->creator_id) == 0)
            has_creator = true;
    }
    /* Only membership is required: other writers may store the creator
     * anywhere in the list. */
    if (!has_creator)
        return MM_ERR_INVALID;
    g->players = players;
    g->nplayers = n;
    return MM_OK;
}

/* The fields of an already parsed document, in dependency order: players
 * are checked against creator_id and num_players. */
static mm_status decode_fields(mm_arena *a, json_object *root, mm_game *g)
{
    json_object *v;
    mm_status st;
    for (size_t i = 0; i < MM_ARRAY_LEN(string_fields); i++) {
        const char **slot = (const char **)(void *)((char *)g + string_fields[i].offset);
        if (!json_object_object_get_ex(root, string_fields[i].key, &v))
            return MM_ERR_INVALID;
        if ((st = copy_string(a, v, slot)) != MM_OK)
            return st;
    }
    /* Both ids end up in Redis key names. */
    if (!mm_id_valid(g->game_id, strlen(g->game_id)) ||
        !mm_id_valid(g->product_id, strlen(g->product_id)))
        return MM_ERR_INVALID;

    if (!json_object_object_get_ex(root, "_last_updated", &v) ||
        !json_object_is_type(v, json_type_string) ||
        !mm_game_parse_time(json_object_get_string(v), (size_t)json_object_get_string_len(v),
                            &g->last_updated_us))
        return MM_ERR_INVALID;
    if (!json_object_object_get_ex(root, "state", &v) ||
        !json_object_is_type(v, json_type_string) ||
        !mm_game_state_parse(json_object_get_string(v), (size_t)json_object_get_string_len(v),
                             &g->state))
        return MM_ERR_INVALID;

    if (!json_object_object_get_ex(root, "settings", &v))
        return MM_ERR_INVALID;
    if ((st = decode_settings(a, v, g)) != MM_OK)
        return st;
    /* SPEC 12: a private game, and its join code (optional fields) */
    g->private_game = json_object_object_get_ex(root, "private", &v) &&
                      json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
    if (json_object_object_get_ex(root, "join_code", &v) &&
        json_object_is_type(v, json_type_string) &&
        (st = copy_string(a, v, &g->join_code)) != MM_OK)
        return st;
    if (!json_object_object_get_ex(root, "players", &v))
        return MM_ERR_INVALID;
    return decode_players(a, v, g);
}

mm_status mm_game_decode(mm_arena *a, const char *json, size_t len, mm_game *out)
{
    mm_status st = MM_ERR_INVALID;
    json_tokener *tok = NULL;
    json_object *root = NULL;
    mm_game g;
    memset(&g, 0, sizeof(g));

    if (len > MM_GAME_MAX_DOC) {
        st = MM_ERR_TOO_LARGE;
        goto out;
    }
    if (json == NULL)
        goto out;
    tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    if (tok == NULL) {
        st = MM_ERR_NOMEM;
        goto out;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, json, (int)len);
    /* Strict mode refuses trailing characters, but a NUL byte ends parsing
     * quietly: the parse must also have consumed every byte. */
    if (root == NULL || json_tokener_get_parse_end(tok) != len ||
        !json_object_is_type(root, json_type_object))
        goto out;
    st = decode_fields(a, root, &g);
    if (st == MM_OK)
        *out = g;
out:
    json_object_put(root);
    if (tok != NULL)
        json_tokener_free(tok);
    return st;
}

/* ---- encoding ---------------------------------------------------------- */

/* The writer runs twice over the same code: first with buf == NULL to
 * measure, then into one arena block of exactly that size. One code path
 * means the two passes cannot disagree. The output is capped at
 * MM_GAME_MAX_DOC so nothing is stored that mm_game_decode would refuse. */
typedef struct {
    char *buf;
    size_t len;
    size_t max;
    bool overflow;
} writer;

static void put(writer *w, const char *s, size_t n)
{
    if (w->overflow || n > w->max - w->len) {
        w->overflow = true;
        return;
    }
    if (w->buf != NULL)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_str(writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_int(writer *w, int v)
{
    char tmp[16];
    size_t i = sizeof(tmp);
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        tmp[--i] = '-';
    put(w, tmp + i, sizeof(tmp) - i);
}

/* A JSON string literal (text.h: always valid JSON, ill-formed UTF-8 as U+FFFD). */
static void put_json_string(writer *w, const char *str)
{
    put(w, "\"", 1);
    size_t room = w->overflow ? 0 : w->max - w->len;
    size_t n = mm_json_escape(w->buf != NULL ? w->buf + w->len : NULL, room, str, strlen(str));
    if (n > room)
        w->overflow = true;
    else
        w->len += n;
    put(w, "\"", 1);
}

static void put_field(writer *w, const char *key, const char *value)
{
    put(w, ", \"", 3);
    put_str(w, key);
    put(w, "\": ", 3);
    put_json_string(w, value);
}

/* Field names and ", " / ": " separators as in SPEC section 3 (and as the
 * original Python json.dumps wrote them). */
static void put_game(writer *w, const mm_game *g, mm_game_form form, const char *target)
{
    put(w, "{\"game_id\": ", 12);
    put_json_string(w, g->game_id);
    put_field(w, "product_id", g->product_id);
    put_field(w, "game_server_url", g->game_server_url);
    put_field(w, "creator_id", g->creator_id);
    put_field(w, "creator_name", g->creator_name);
    put_str(w, ", \"players\": [");
    for (size_t i = 0; i < g->nplayers; i++) {
        if (i > 0)
            put(w, ", ", 2);
        put_json_string(w, g->players[i]);
    }
    put_str(w, "], \"settings\": ");
    if (g->settings_json != NULL) {
        put_str(w, g->settings_json);
    } else {
        put_str(w, "{\"num_players\": ");
        put_int(w, g->num_players);
        put(w, "}", 1);
    }
    if (form == MM_GAME_FULL) {
        char when[MM_GAME_TIME_LEN];
        mm_game_format_time(g->last_updated_us, when);
        put_field(w, "token", g->token);
        put_field(w, "_last_updated", when);
        put_field(w, "state", mm_game_state_name(g->state));
        /* after the fields of SPEC 3, as the store scripts keep fields they do not know */
        if (g->private_game)
            put_str(w, ", \"private\": true");
        if (g->join_code != NULL)
            put_field(w, "join_code", g->join_code);
    }
    if (target != NULL)
        put_field(w, "target_game_server", target);
    put(w, "}", 1);
}

static bool encodable(const mm_game *g, mm_game_form form)
{
    if (g->game_id == NULL || g->product_id == NULL || g->game_server_url == NULL ||
        g->creator_id == NULL || g->creator_name == NULL || (g->nplayers > 0 && g->players == NULL))
        return false;
    for (size_t i = 0; i < g->nplayers; i++) {
        if (g->players[i] == NULL)
            return false;
    }
    if (form == MM_GAME_FULL)
        return g->token != NULL && mm_game_state_name(g->state) != NULL;
    return form == MM_GAME_PARTIAL;
}

/* Runs emit(arg) once to measure, then again into one arena block of exactly that size
 * (NUL-terminated); NULL past max bytes or when memory is short. */
typedef void (*emit_fn)(writer *w, const void *arg);

static char *write_in_arena(mm_arena *a, size_t max, emit_fn emit, const void *arg, size_t *len)
{
    writer w = {.buf = NULL, .len = 0, .max = max, .overflow = false};
    emit(&w, arg);
    if (w.overflow)
        return NULL;
    char *buf = mm_arena_alloc(a, w.len + 1);
    if (buf == NULL)
        return NULL;
    size_t measured = w.len;
    w = (writer){.buf = buf, .len = 0, .max = measured, .overflow = false};
    emit(&w, arg);
    buf[w.len] = '\0';
    if (len != NULL)
        *len = w.len;
    return buf;
}

typedef struct {
    const mm_game *g;
    mm_game_form form;
    const char *target;
} game_args;

static void emit_game(writer *w, const void *arg)
{
    const game_args *ga = arg;
    put_game(w, ga->g, ga->form, ga->target);
}

char *mm_game_encode(mm_arena *a, const mm_game *g, mm_game_form form, const char *target,
                     size_t *len)
{
    if (g == NULL || !encodable(g, form))
        return NULL;
    game_args ga = {g, form, target};
    return write_in_arena(a, MM_GAME_MAX_DOC, emit_game, &ga, len);
}

static bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

typedef struct {
    const char *doc;
    size_t body_end; /* doc[0..body_end) is the object without its closing brace */
    bool empty;      /* the object has no field */
    const char *name, *value;
} field_args;

/* Everything of doc but its closing brace, then the field and the brace. */
static void emit_with_field(writer *w, const void *arg)
{
    const field_args *fa = arg;
    put(w, fa->doc, fa->body_end);
    put(w, fa->empty ? "\"" : ", \"", fa->empty ? 1 : 3);
    put_str(w, fa->name);
    put(w, "\": ", 3);
    put_json_string(w, fa->value);
    put(w, "}", 1);
}

char *mm_game_add_target(mm_arena *a, const char *doc, size_t len, const char *target,
                         size_t *out_len)
{
    return mm_game_add_field(a, doc, len, "target_game_server", target, out_len);
}

char *mm_game_add_field(mm_arena *a, const char *doc, size_t len, const char *name,
                        const char *value, size_t *out_len)
{
    if (doc == NULL || name == NULL || value == NULL)
        return NULL;
    size_t end = len;
    while (end > 0 && is_json_space(doc[end - 1]))
        end--;
    size_t start = 0;
    while (start < end && is_json_space(doc[start]))
        start++;
    if (end - start < 2 || doc[start] != '{' || doc[end - 1] != '}')
        return NULL;
    size_t body_end = end - 1; /* the closing brace */
    while (body_end > start + 1 && is_json_space(doc[body_end - 1]))
        body_end--;
    field_args fa = {doc + start, body_end - start, body_end == start + 1, name, value};
    return write_in_arena(a, SIZE_MAX / 2, emit_with_field, &fa, out_len);
}

/* ---- capacity and expiry ----------------------------------------------- */

bool mm_game_is_full(const mm_game *g)
{
    return g->num_players <= 0 || g->nplayers >= (size_t)g->num_players;
}

/* Overflow-safe: an absurd expiry from the configuration means "never"
 * rather than wrapping into "long ago". An unknown state never expires here
 * (such a document does not decode in the first place). */
bool mm_game_expired(const mm_game *g, const long expiry_seconds[MM_STATE_COUNT], int64_t now_us)
{
    if ((unsigned)g->state >= MM_STATE_COUNT)
        return false;
    int64_t span, deadline;
    if (__builtin_mul_overflow((int64_t)expiry_seconds[g->state], US_PER_SEC, &span))
        return expiry_seconds[g->state] < 0;
    if (__builtin_add_overflow(g->last_updated_us, span, &deadline))
        return span < 0;
    return deadline < now_us;
}
