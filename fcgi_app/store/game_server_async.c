#include "game_server_async.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define ANSWER_MAX 4096 /* the answer to a removal is not used: only its status counts */

typedef struct {
    CURL *easy;
    void *tag;
    char *url, *body;
    size_t answered;
    char op[16];
} call;

struct mm_gs_multi {
    CURLM *multi;
    struct curl_slist *headers;
    long connect_timeout_ms, timeout_ms;
    int max;
    int in_flight;
    call *calls; /* max slots; easy == NULL: free */
};

static size_t on_answer(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    call *c = userdata;
    (void)ptr;
    size_t n = size * nmemb;
    if (n > ANSWER_MAX - c->answered)
        return 0; /* aborts the transfer */
    c->answered += n;
    return n;
}

mm_gs_multi *mm_gs_multi_new(long connect_timeout_ms, long timeout_ms, int max_in_flight)
{
    if (connect_timeout_ms <= 0 || timeout_ms <= 0 || max_in_flight <= 0 || max_in_flight > 1024)
        return NULL;
    /* libcurl counts its initialisations; the process is single-threaded here */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    mm_gs_multi *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->connect_timeout_ms = connect_timeout_ms;
    m->timeout_ms = timeout_ms;
    m->max = max_in_flight;
    m->calls = calloc((size_t)max_in_flight, sizeof(*m->calls));
    m->multi = curl_multi_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h != NULL)
        m->headers = curl_slist_append(h, "Expect:");
    if (m->calls == NULL || m->multi == NULL || m->headers == NULL) {
        if (m->headers == NULL)
            curl_slist_free_all(h);
        mm_gs_multi_free(m);
        return NULL;
    }
    return m;
}

static void release(mm_gs_multi *m, call *c)
{
    curl_multi_remove_handle(m->multi, c->easy);
    curl_easy_cleanup(c->easy);
    free(c->url);
    free(c->body);
    memset(c, 0, sizeof(*c));
    m->in_flight--;
}

void mm_gs_multi_free(mm_gs_multi *m)
{
    if (m == NULL)
        return;
    for (int i = 0; m->calls != NULL && i < m->max; i++)
        if (m->calls[i].easy != NULL)
            release(m, &m->calls[i]);
    if (m->multi != NULL)
        curl_multi_cleanup(m->multi);
    curl_slist_free_all(m->headers);
    free(m->calls);
    free(m);
}

int mm_gs_multi_free_slots(const mm_gs_multi *m)
{
    return m->max - m->in_flight;
}

int mm_gs_multi_in_flight(const mm_gs_multi *m)
{
    return m->in_flight;
}

/* {"gameId": ..., "userId": ...} as the synchronous client sends it (SPEC 4). */
static char *body_of(const mm_cleanup_job *job)
{
    json_object *o = json_object_new_object();
    if (o == NULL)
        return NULL;
    json_object_object_add(o, "gameId", json_object_new_string(job->game_id));
    if (job->op == MM_CLEANUP_REMOVE_PLAYER)
        json_object_object_add(o, "userId", json_object_new_string(job->user_id));
    const char *text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy = text != NULL ? strdup(text) : NULL;
    json_object_put(o);
    return copy;
}

mm_status mm_gs_multi_start(mm_gs_multi *m, const mm_cleanup_job *job, void *tag)
{
    call *c = NULL;
    for (int i = 0; i < m->max && c == NULL; i++)
        if (m->calls[i].easy == NULL)
            c = &m->calls[i];
    if (c == NULL)
        return MM_ERR_NOMEM;
    const char *op = mm_cleanup_op_name(job->op);
    size_t ulen = strlen(job->game_server_url) + 1 + strlen(op) + 1;
    c->url = malloc(ulen);
    c->body = body_of(job);
    c->easy = curl_easy_init();
    if (c->url == NULL || c->body == NULL || c->easy == NULL) {
        if (c->easy != NULL)
            curl_easy_cleanup(c->easy);
        free(c->url);
        free(c->body);
        memset(c, 0, sizeof(*c));
        return MM_ERR_NOMEM;
    }
    snprintf(c->url, ulen, "%s/%s", job->game_server_url, op);
    snprintf(c->op, sizeof(c->op), "%s", op);
    c->tag = tag;
    CURL *e = c->easy;
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, m->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "matchmaker");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, m->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, m->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    if (curl_multi_add_handle(m->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        free(c->url);
        free(c->body);
        memset(c, 0, sizeof(*c));
        return MM_ERR_NOMEM;
    }
    m->in_flight++;
    return MM_OK;
}

void mm_gs_multi_run(mm_gs_multi *m, long wait_ms, mm_gs_multi_done_fn done, void *ctx)
{
    int running = 0;
    if (m->in_flight == 0)
        return;
    curl_multi_perform(m->multi, &running);
    if (wait_ms > 0 && running > 0) {
        curl_multi_poll(m->multi, NULL, 0, (int)wait_ms, NULL);
        curl_multi_perform(m->multi, &running);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        call *c = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        if (c == NULL)
            continue;
        long status = 0;
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
        mm_gs_result r = msg->data.result == CURLE_OK
                             ? mm_gs_classify(NULL, status, NULL, 0, false, NULL)
                             : MM_GS_UNAVAILABLE;
        if (r != MM_GS_OK)
            mm_log_warn("msg=\"game server call failed\" op=%s status=%ld result=%s err=\"%s\"",
                        c->op, status, mm_gs_result_name(r), curl_easy_strerror(msg->data.result));
        void *tag = c->tag;
        release(m, c);
        done(ctx, tag, r);
    }
}

void mm_gs_multi_abandon(mm_gs_multi *m, mm_gs_multi_done_fn done, void *ctx)
{
    for (int i = 0; i < m->max; i++) {
        if (m->calls[i].easy == NULL)
            continue;
        void *tag = m->calls[i].tag;
        release(m, &m->calls[i]);
        done(ctx, tag, MM_GS_UNAVAILABLE);
    }
}
