#include "lobby_publisher.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "game.h"
#include "log.h"
#include "text.h"

/* While publishing fails, one line says so at once and then at most one every this long,
 * with the count since the last line: a host whose nginx is down must not fill its log. */
#define FAILURE_LOG_INTERVAL_US ((int64_t)10 * 1000 * 1000)
#define ARENA_MAX ((size_t)256 * 1024) /* a message of the largest document, with room */

struct mm_lobby_publisher {
    CURL *curl; /* NULL: publishing is off */
    struct curl_slist *headers;
    char *socket_path; /* unix socket of the publisher, or NULL */
    char *base;        /* the URL the channel's path is appended to */
    mm_arena *arena;   /* one message at a time */
    mm_publish_counts counts;
    bool failing;             /* the last publish failed */
    uint64_t unreported;      /* failures not yet in a log line */
    int64_t next_failure_log; /* clock (us) from which the next failure line may be written */
    char errbuf[CURL_ERROR_SIZE];
};

static const char *const effect_names[] = {"listed", "updated", "unlisted"};

const char *mm_lobby_effect_name(mm_lobby_effect effect)
{
    if ((size_t)effect >= MM_ARRAY_LEN(effect_names))
        return "unknown";
    return effect_names[effect];
}

/* ---- the message (no I/O) ------------------------------------------------------------ */

/* s as a JSON string, quotes included, in a. */
static char *json_string(mm_arena *a, const char *s)
{
    size_t n = strlen(s);
    size_t inner = mm_json_escape(NULL, 0, s, n);
    char *out = mm_arena_alloc(a, inner + 3);
    if (out == NULL)
        return NULL;
    out[0] = '"';
    mm_json_escape(out + 1, inner, s, n);
    out[inner + 1] = '"';
    out[inner + 2] = '\0';
    return out;
}

mm_status mm_lobby_message(mm_arena *a, const char *product_id, const char *game_id,
                           mm_lobby_effect effect, const char *doc, size_t doc_len,
                           const char **msg, size_t *len)
{
    *msg = NULL;
    *len = 0;
    const char *type = mm_lobby_effect_name(effect);
    const char *game = NULL;
    if (effect != MM_LOBBY_UNLISTED) {
        mm_game g;
        if (doc == NULL || (unsigned)effect >= MM_ARRAY_LEN(effect_names) ||
            mm_game_decode(a, doc, doc_len, &g) != MM_OK)
            return MM_ERR_INVALID;
        if (g.private_game)
            return MM_OK; /* the store never lists one; this is the second lock on that door */
        size_t glen;
        game = mm_game_encode(a, &g, MM_GAME_PARTIAL, NULL, &glen);
        if (game == NULL)
            return MM_ERR_NOMEM;
    }
    const char *pid = json_string(a, product_id);
    const char *gid = json_string(a, game_id);
    if (pid == NULL || gid == NULL)
        return MM_ERR_NOMEM;
    char *out;
    if (game != NULL)
        out = mm_arena_printf(a,
                              "{\"type\": \"%s\", \"product_id\": %s, \"game_id\": %s, "
                              "\"game\": %s}",
                              type, pid, gid, game);
    else
        out = mm_arena_printf(a, "{\"type\": \"%s\", \"product_id\": %s, \"game_id\": %s}", type,
                              pid, gid);
    if (out == NULL)
        return MM_ERR_NOMEM;
    *msg = out;
    *len = strlen(out);
    return MM_OK;
}

/* ---- publishing ---------------------------------------------------------------------- */

static bool curl_ready; /* see game_server_client.c: single-threaded start-up */

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

#define SET(h, opt, val)                                                                           \
    do {                                                                                           \
        if (curl_easy_setopt(h, opt, val) != CURLE_OK)                                             \
            goto fail;                                                                             \
    } while (0)

mm_lobby_publisher *mm_lobby_publisher_new(const char *address, long timeout_ms)
{
    if (timeout_ms <= 0)
        return NULL;
    mm_lobby_publisher *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    if (address == NULL || address[0] == '\0')
        return p; /* off */
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            goto fail;
        curl_ready = true;
    }
    if (strncmp(address, "unix:", 5) == 0) {
        p->socket_path = strdup(address + 5);
        p->base = strdup("http://localhost");
    } else {
        size_t n = strlen(address);
        while (n > 0 && address[n - 1] == '/')
            n--;
        p->base = strndup(address, n);
    }
    p->arena = mm_arena_new(ARENA_MAX);
    p->curl = curl_easy_init();
    p->headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = p->headers ? curl_slist_append(p->headers, "Expect:") : NULL;
    if (p->base == NULL || (address[0] == 'u' && p->socket_path == NULL) || p->arena == NULL ||
        p->curl == NULL || h2 == NULL)
        goto fail;
    CURL *h = p->curl;
    if (p->socket_path != NULL)
        SET(h, CURLOPT_UNIX_SOCKET_PATH, p->socket_path);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(h, CURLOPT_PROTOCOLS_STR, "http");
#else
    SET(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
    SET(h, CURLOPT_FOLLOWLOCATION, 0L);
    SET(h, CURLOPT_NOSIGNAL, 1L);
    SET(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    SET(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    SET(h, CURLOPT_HTTPHEADER, p->headers);
    SET(h, CURLOPT_USERAGENT, "matchmaker");
    SET(h, CURLOPT_WRITEFUNCTION, discard);
    SET(h, CURLOPT_ERRORBUFFER, p->errbuf);
    return p;
fail:
    mm_log_error("msg=\"lobby publisher could not start\" address=\"%s\"", address);
    mm_lobby_publisher_free(p);
    return NULL;
}

void mm_lobby_publisher_free(mm_lobby_publisher *p)
{
    if (p == NULL)
        return;
    if (p->curl != NULL)
        curl_easy_cleanup(p->curl);
    curl_slist_free_all(p->headers);
    mm_arena_free(p->arena);
    free(p->socket_path);
    free(p->base);
    free(p);
}

void mm_lobby_publisher_counts(const mm_lobby_publisher *p, mm_publish_counts *out)
{
    *out = p != NULL ? p->counts : (mm_publish_counts){0, 0};
}

static void failed(mm_lobby_publisher *p, const char *product_id, const char *game_id,
                   mm_lobby_effect effect, const char *why)
{
    p->counts.failed++;
    p->unreported++;
    p->failing = true;
    int64_t now = mm_clock_us();
    if (now < p->next_failure_log)
        return;
    p->next_failure_log = now + FAILURE_LOG_INTERVAL_US;
    char clean[CURL_ERROR_SIZE];
    mm_log_clean(clean, sizeof(clean), why, strlen(why), true);
    mm_log_warn("msg=\"lobby change not published\" product=%s game_id=%s type=%s reason=\"%s\" "
                "failed_since_last_line=%llu",
                product_id, game_id, mm_lobby_effect_name(effect), clean,
                (unsigned long long)p->unreported);
    p->unreported = 0;
}

void mm_lobby_publisher_observe(void *ctx, const char *product_id, const char *game_id,
                                mm_lobby_effect effect, const char *doc, size_t doc_len)
{
    mm_lobby_publisher *p = ctx;
    if (p == NULL || p->curl == NULL)
        return;
    mm_arena_reset(p->arena);
    const char *msg;
    size_t len;
    mm_status st =
        mm_lobby_message(p->arena, product_id, game_id, effect, doc, doc_len, &msg, &len);
    if (st != MM_OK) {
        failed(p, product_id, game_id, effect,
               st == MM_ERR_NOMEM ? "out of memory" : "no usable document");
        return;
    }
    if (msg == NULL)
        return; /* a private game */
    /* product ids are [A-Za-z0-9_-] (config.c), nothing to escape in a path */
    const char *url = mm_arena_printf(p->arena, "%s/lobby/%s", p->base, product_id);
    if (url == NULL) {
        failed(p, product_id, game_id, effect, "out of memory");
        return;
    }
    CURL *h = p->curl;
    p->errbuf[0] = '\0';
    long status = 0;
    CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, msg);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status < 200 || status > 299) {
        char why[CURL_ERROR_SIZE + 32];
        if (rc != CURLE_OK)
            snprintf(why, sizeof(why), "%s", p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc));
        else
            snprintf(why, sizeof(why), "publisher answered %ld", status);
        failed(p, product_id, game_id, effect, why);
        return;
    }
    p->counts.published++;
    if (p->failing) {
        p->failing = false;
        p->next_failure_log = 0;
        mm_log_info("msg=\"lobby changes published again\" not_reported=%llu",
                    (unsigned long long)p->unreported);
        p->unreported = 0;
    }
}
