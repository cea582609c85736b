/* Game-server calls over one libcurl easy handle. The options that never change are set
 * once when the client is made; each transfer sets its URL and body and empties the answer
 * buffer, so nothing from one call can leak into the next while the handle keeps its
 * connection cache.
 * libcurl re-sends a request once, on a new connection, when a reused connection closes
 * before any byte of the answer (normally the server's idle close racing us); a game server
 * that read the request and then dropped it may therefore see it twice.
 * The circuit breaker is asked just before the transfer and told its outcome just after,
 * so every call it lets through is reported, whatever the operation (cleanup calls too: a
 * game server that hangs on them is as unavailable as one that hangs on creates). */
#include "game_server_client.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "mm.h"

#define GS_JSON_DEPTH 16
#define GS_LOG_FIELD 256 /* a URL or an error text in a log line */

struct mm_gs_client {
    CURL *curl;
    mm_breaker *breaker; /* owned; NULL: none */
    struct curl_slist *headers;
    long connect_timeout_ms;
    long timeout_ms;
    char *answer; /* MM_GS_MAX_ANSWER bytes, reused by every call */
    size_t answer_len;
    bool answer_overflow;
    long connects;
    bool may_have_acted; /* the last call: sent, then no usable answer */
    char errbuf[CURL_ERROR_SIZE];
};

/* curl_global_init is not thread-safe; processes are single-threaded and make their client
 * at start-up, so a plain flag is enough. curl_global_cleanup is left to process exit. */
static bool curl_ready;

static const char *const result_names[] = {"ok", "refused", "unavailable"};

const char *mm_gs_result_name(mm_gs_result r)
{
    if ((size_t)r >= MM_ARRAY_LEN(result_names))
        return "unknown";
    return result_names[r];
}

/* ---- classifying an answer (no I/O) -------------------------------------------------- */

static bool only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    }
    return true;
}

/* The answer must be exactly one JSON object (trailing whitespace aside) whose gameToken is
 * a string of 1..MM_GS_MAX_TOKEN bytes without NUL: the token is stored in the game document
 * and handed to players, so anything odd counts as no answer. */
static mm_gs_result parse_token(mm_arena *a, const char *body, size_t len, const char **token_out)
{
    mm_gs_result r = MM_GS_UNAVAILABLE;
    json_tokener *tok = NULL;
    json_object *root = NULL;
    json_object *v;

    if (len == 0)
        goto out;
    tok = json_tokener_new_ex(GS_JSON_DEPTH);
    if (tok == NULL)
        goto out;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, body, (int)len);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success)
        goto out;
    size_t end = json_tokener_get_parse_end(tok);
    if (end > len || !only_space(body + end, len - end))
        goto out;
    if (!json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "gameToken", &v) ||
        !json_object_is_type(v, json_type_string))
        goto out;
    const char *s = json_object_get_string(v);
    int n = json_object_get_string_len(v);
    if (n <= 0 || (size_t)n > MM_GS_MAX_TOKEN || memchr(s, '\0', (size_t)n) != NULL)
        goto out;
    char *copy = mm_arena_strndup(a, s, (size_t)n);
    if (copy == NULL)
        goto out;
    if (token_out != NULL)
        *token_out = copy;
    r = MM_GS_OK;
out:
    json_object_put(root);
    if (tok != NULL)
        json_tokener_free(tok);
    return r;
}

mm_gs_result mm_gs_classify(mm_arena *a, long status, const char *body, size_t len, bool want_token,
                            const char **token_out)
{
    if (token_out != NULL)
        *token_out = NULL;
    /* The transfer aborts past the cap whatever the status, so the classifier agrees. */
    if (len > MM_GS_MAX_ANSWER || (body == NULL && len > 0))
        return MM_GS_UNAVAILABLE;
    if (status < 100 || status > 599)
        return MM_GS_UNAVAILABLE;
    if (status < 200 || status > 299)
        return MM_GS_REFUSED;
    if (!want_token)
        return MM_GS_OK;
    return parse_token(a, body, len, token_out);
}

/* ---- the client ---------------------------------------------------------------------- */

static size_t on_answer(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    mm_gs_client *c = userdata;
    size_t n = size * nmemb;
    if (n > MM_GS_MAX_ANSWER - c->answer_len) {
        c->answer_overflow = true;
        return 0; /* anything but n aborts the transfer */
    }
    memcpy(c->answer + c->answer_len, ptr, n);
    c->answer_len += n;
    return n;
}

#define GS_SET(h, opt, val)                                                                        \
    do {                                                                                           \
        if ((rc = curl_easy_setopt(h, opt, val)) != CURLE_OK)                                      \
            return rc;                                                                             \
    } while (0)

/* The options every transfer shares, set once: the handle keeps them. */
static CURLcode set_fixed_options(mm_gs_client *c)
{
    CURL *h = c->curl;
    CURLcode rc;
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the string form; the bitmask is deprecated */
    GS_SET(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    GS_SET(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    GS_SET(h, CURLOPT_FOLLOWLOCATION, 0L);
    GS_SET(h, CURLOPT_NOSIGNAL, 1L);
    GS_SET(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    GS_SET(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    GS_SET(h, CURLOPT_HTTPHEADER, c->headers);
    GS_SET(h, CURLOPT_USERAGENT, "matchmaker");
    GS_SET(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MM_GS_MAX_ANSWER);
    GS_SET(h, CURLOPT_WRITEFUNCTION, on_answer);
    GS_SET(h, CURLOPT_WRITEDATA, c);
    GS_SET(h, CURLOPT_ERRORBUFFER, c->errbuf);
    GS_SET(h, CURLOPT_TCP_KEEPALIVE, 1L);
    return CURLE_OK;
}

/* What changes from one transfer to the next. */
static CURLcode set_call_options(mm_gs_client *c, const char *url, const char *json,
                                 size_t json_len)
{
    CURL *h = c->curl;
    CURLcode rc;
    GS_SET(h, CURLOPT_URL, url);
    GS_SET(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)json_len);
    GS_SET(h, CURLOPT_POSTFIELDS, json);
    return CURLE_OK;
}
#undef GS_SET

mm_gs_client *mm_gs_client_new(long connect_timeout_ms, long timeout_ms, mm_breaker *breaker)
{
    mm_gs_client *c = NULL;

    if (connect_timeout_ms <= 0 || timeout_ms <= 0) {
        mm_log_error("msg=\"game server client: timeouts must be positive\" connect_ms=%ld "
                     "timeout_ms=%ld",
                     connect_timeout_ms, timeout_ms);
        mm_breaker_close(breaker);
        return NULL;
    }
    if (!curl_ready) {
        CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (rc != CURLE_OK) {
            mm_log_error("msg=\"curl_global_init failed\" err=\"%s\"", curl_easy_strerror(rc));
            mm_breaker_close(breaker);
            return NULL;
        }
        curl_ready = true;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        mm_breaker_close(breaker);
        goto fail;
    }
    c->breaker = breaker;
    c->connect_timeout_ms = connect_timeout_ms;
    c->timeout_ms = timeout_ms;
    c->answer = malloc(MM_GS_MAX_ANSWER);
    c->curl = curl_easy_init();
    if (c->answer == NULL || c->curl == NULL)
        goto fail;
    /* "Expect:" with no value stops libcurl from waiting for a 100 Continue on big bodies. */
    static const char *const header_lines[] = {"Content-Type: application/json",
                                               "Accept: application/json", "Expect:"};
    for (size_t i = 0; i < MM_ARRAY_LEN(header_lines); i++) {
        struct curl_slist *l = curl_slist_append(c->headers, header_lines[i]);
        if (l == NULL)
            goto fail;
        c->headers = l;
    }
    CURLcode rc = set_fixed_options(c);
    if (rc != CURLE_OK) {
        mm_log_error("msg=\"game server client: curl option refused\" err=\"%s\"",
                     curl_easy_strerror(rc));
        mm_gs_client_free(c);
        return NULL;
    }
    return c;
fail:
    mm_log_error("msg=\"game server client: out of memory\"");
    mm_gs_client_free(c);
    return NULL;
}

void mm_gs_client_free(mm_gs_client *c)
{
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    free(c->answer);
    mm_breaker_close(c->breaker);
    free(c);
}

bool mm_gs_may_have_acted(const mm_gs_client *c)
{
    return c->may_have_acted;
}

long mm_gs_client_connects(const mm_gs_client *c)
{
    return c->connects;
}

/* A copy of s fit for a quoted log value. */
static void log_field(char *dst, size_t cap, const char *s)
{
    mm_log_clean(dst, cap, s != NULL ? s : "", s != NULL ? strlen(s) : 0, true);
}

static void log_call(const char *op, const char *url, long status, mm_gs_result r, long ms,
                     const char *why)
{
    char u[GS_LOG_FIELD], e[GS_LOG_FIELD];
    log_field(u, sizeof(u), url);
    if (r == MM_GS_OK) {
        mm_log_debug("msg=\"game server call\" op=%s url=\"%s\" status=%ld result=%s ms=%ld", op, u,
                     status, mm_gs_result_name(r), ms);
        return;
    }
    log_field(e, sizeof(e), why);
    mm_log_warn("msg=\"game server call failed\" op=%s url=\"%s\" status=%ld result=%s ms=%ld "
                "err=\"%s\"",
                op, u, status, mm_gs_result_name(r), ms, e);
}

/* Tells the breaker how a call it let through went, and logs a change of its state. */
static void report(mm_gs_client *c, const char *base_url, const mm_breaker_ticket *t,
                   mm_gs_result r)
{
    char u[GS_LOG_FIELD];
    switch (mm_breaker_record(c->breaker, t, r != MM_GS_UNAVAILABLE, mm_clock_ms())) {
    case MM_BREAKER_UNCHANGED: return;
    case MM_BREAKER_OPENED:
        log_field(u, sizeof(u), base_url);
        mm_log_warn("msg=\"game server circuit opened: calls refused for the cooldown\" "
                    "url=\"%s\"",
                    u);
        return;
    case MM_BREAKER_REOPENED:
        log_field(u, sizeof(u), base_url);
        mm_log_warn("msg=\"game server circuit opened again: the trial call failed\" url=\"%s\"",
                    u);
        return;
    case MM_BREAKER_RECLOSED:
        log_field(u, sizeof(u), base_url);
        mm_log_info("msg=\"game server circuit closed: the trial call had an answer\" "
                    "url=\"%s\"",
                    u);
        return;
    }
}

/* POSTs body to {base_url}/{op} and classifies the answer. body is consumed (released). */
static mm_gs_result post(mm_gs_client *c, mm_arena *a, const char *base_url, const char *op,
                         json_object *body, bool want_token, const char **token_out)
{
    mm_gs_result r = MM_GS_UNAVAILABLE;
    const char *why = "missing argument or out of memory";
    const char *url = NULL, *json = NULL;
    long status = 0, connects = 0, start = mm_clock_ms();
    CURLcode rc;

    if (token_out != NULL)
        *token_out = NULL;
    if (c == NULL || base_url == NULL || body == NULL)
        goto out;
    url = mm_arena_printf(a, "%s/%s", base_url, op);
    json = json_object_to_json_string_ext(body,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (url == NULL || json == NULL)
        goto out;

    c->answer_len = 0;
    c->answer_overflow = false;
    c->may_have_acted = false;
    c->errbuf[0] = '\0';
    rc = set_call_options(c, url, json, strlen(json));
    if (rc != CURLE_OK) {
        why = curl_easy_strerror(rc);
        goto out;
    }
    mm_breaker_ticket ticket;
    if (!mm_breaker_admit(c->breaker, base_url, mm_clock_ms(), &ticket)) {
        /* refused without a call: no log line of its own (the request's line says 502) */
        json_object_put(body);
        mm_log_debug("msg=\"game server call refused: circuit open\" op=%s", op);
        return MM_GS_UNAVAILABLE;
    }
    rc = curl_easy_perform(c->curl);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
        c->connects += connects;
    if (rc != CURLE_OK) {
        long sent = 0; /* bytes of request written: the game server may have acted on it */
        c->may_have_acted =
            curl_easy_getinfo(c->curl, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK || sent > 0;
        if (c->answer_overflow || rc == CURLE_FILESIZE_EXCEEDED)
            why = "answer over 64 KiB";
        else
            why = c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(rc);
    } else {
        r = mm_gs_classify(a, status, c->answer, c->answer_len, want_token, token_out);
        why = r == MM_GS_REFUSED ? "answer is not 2xx" : "answer has no usable gameToken";
        c->may_have_acted = r == MM_GS_UNAVAILABLE; /* a 2xx (or odd status) it could not use */
    }
    report(c, base_url, &ticket, r);
out:
    json_object_put(body);
    log_call(op, url != NULL ? url : base_url, status, r, mm_clock_ms() - start, why);
    return r;
}

/* A JSON object of string fields; NULL if a value is missing or memory is short. */
static json_object *object_of(const char *const keys[], const char *const values[], size_t n)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; o != NULL && i < n; i++) {
        json_object *v = values[i] != NULL ? json_object_new_string(values[i]) : NULL;
        if (v == NULL || json_object_object_add(o, keys[i], v) != 0) {
            json_object_put(v);
            json_object_put(o);
            o = NULL;
        }
    }
    return o;
}

mm_gs_result mm_gs_create_game(mm_gs_client *c, mm_arena *a, const char *base_url,
                               const char *game_id, const char *user_id, const char *username,
                               const char **token_out)
{
    static const char *const keys[] = {"gameId", "userId", "username"};
    const char *const values[] = {game_id, user_id, username};
    return post(c, a, base_url, "create_game", object_of(keys, values, MM_ARRAY_LEN(keys)), true,
                token_out);
}

mm_gs_result mm_gs_join_game(mm_gs_client *c, mm_arena *a, const char *base_url,
                             const char *game_id, const char *user_id, const char *username)
{
    static const char *const keys[] = {"gameId", "userId", "username"};
    const char *const values[] = {game_id, user_id, username};
    return post(c, a, base_url, "join_game", object_of(keys, values, MM_ARRAY_LEN(keys)), false,
                NULL);
}

mm_gs_result mm_gs_remove_game(mm_gs_client *c, mm_arena *a, const char *base_url,
                               const char *game_id)
{
    static const char *const keys[] = {"gameId"};
    const char *const values[] = {game_id};
    return post(c, a, base_url, "remove_game", object_of(keys, values, MM_ARRAY_LEN(keys)), false,
                NULL);
}

mm_gs_result mm_gs_remove_player(mm_gs_client *c, mm_arena *a, const char *base_url,
                                 const char *game_id, const char *user_id)
{
    static const char *const keys[] = {"gameId", "userId"};
    const char *const values[] = {game_id, user_id};
    return post(c, a, base_url, "remove_player", object_of(keys, values, MM_ARRAY_LEN(keys)), false,
                NULL);
}
