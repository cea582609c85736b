/* matchmaker-fcgi: the FastCGI responder. Loads the configuration once, then
 * answers requests on the socket it inherited as fd 0 (spawn-fcgi) until it
 * is told to stop. Each request gets a fresh arena, reset when it ends. */
#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "clock.h"
#include "config.h"
#include "log.h"

/* spawn-fcgi hands the listening socket over as fd 0. */
#define LISTEN_FD 0

static volatile sig_atomic_t stopping;

/* A stop signal ends the process once the request in hand, if any, is answered.
 * libfcgi's accept loop looks for a pending shutdown only before it calls accept(), so a
 * signal landing just before that call would leave the process waiting for a connection
 * anyway: closing this process's copy of the listening socket (the pool's others keep
 * theirs) makes that accept() fail at once, and FCGI_FAIL_ACCEPT_ON_INTR makes one
 * already waiting return. */
static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
    FCGX_ShutdownPending();
    close(LISTEN_FD);
}

/* TERM and INT; USR1, the graceful stop of libfcgi and of multiwatch (its default
 * signal); QUIT, which Debian's multiwatch 1.0.0 sends when told "-s TERM" (its -s
 * passes on an index into its table of names, not the signal). */
static const int stop_signals[] = {SIGTERM, SIGINT, SIGUSR1, SIGQUIT};

static void usage(FILE *to)
{
    fprintf(to,
            "usage: matchmaker-fcgi [-c CONFIG] [-l LOGFILE] [-t]\n"
            "  Answers FastCGI requests on the socket passed as fd 0 (run it with\n"
            "  spawn-fcgi). CONFIG defaults to $MATCHMAKER_CONFIG; logs go to stderr or LOGFILE.\n"
            "  -t: check the configuration and exit.\n");
}

/* CONTENT_LENGTH: absent or empty is 0; anything but digits is invalid. */
static int parse_length(const char *s, size_t *out)
{
    size_t v = 0;
    *out = 0;
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (SIZE_MAX - 9) / 10)
            return -1;
        v = v * 10 + (size_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* A bounded copy of a client-controlled string for the log, in the arena. */
static const char *loggable(mm_arena *a, const char *s, size_t len)
{
    if (len > 200)
        len = 200;
    char *d = mm_arena_alloc(a, len + 1);
    if (d == NULL)
        return "-";
    mm_log_clean(d, len + 1, s, len, false);
    return d;
}

/* A 500's head is its status line, the origin and two short headers. */
_Static_assert(MM_CORS_ORIGIN_MAX + 128 < MM_RESPONSE_HEAD_MAX,
               "the configured origin leaves room for a 500's head");

/* Writes res. A head that does not fit its buffer (a handler's header too long) is not
 * sent in part: res becomes a plain 500, logged, so what is counted and logged is what
 * the client got. */
static void write_response(FCGX_Request *fr, const mm_app *app, const mm_request *req,
                           mm_response *res)
{
    char head[MM_RESPONSE_HEAD_MAX];
    size_t n;
    if (mm_response_head(res, app->cfg.cors_allow_origin, req->request_id, head, sizeof(head),
                         &n) != MM_OK) {
        mm_log_error("msg=\"response head too large\" status=%d headers=%zu", res->status,
                     res->nheaders);
        static const char body[] = "{\"error\": \"Internal error.\"}";
        memset(res, 0, sizeof(*res));
        mm_response_json(res, 500, body, sizeof(body) - 1);
        /* the configured origin is at most MM_CORS_ORIGIN_MAX bytes: this head fits */
        if (mm_response_head(res, app->cfg.cors_allow_origin, NULL, head, sizeof(head), &n) !=
            MM_OK)
            return;
    }
    FCGX_PutStr(head, (int)n, fr->out);
    if (res->body_len > 0 && res->content_type != NULL)
        FCGX_PutStr(res->body, (int)res->body_len, fr->out);
}

/* The request body as mm_request_read_body reads it: straight from the FastCGI stream. */
static int read_stdin(void *source, char *buf, size_t len)
{
    FCGX_Stream *in = source;
    int n = FCGX_GetStr(buf, len > INT_MAX ? INT_MAX : (int)len, in);
    if (n == 0 && FCGX_GetError(in) != 0)
        return -1;
    return n;
}

/* When a connection is closed, libfcgi shuts down its sending side and waits (up to 2 s)
 * for nginx to close first, reading whatever nginx still sends, so that no unread byte
 * makes the close a reset. With nothing left unread there is no reset to fear: a request
 * whose input has been read to its end is then detached, and its connection simply
 * closed, so the process does not sit waiting for nginx (and spends three system calls
 * less). Reads what remains of the input (a GET's empty record, a body no route reads or
 * one refused), up to a bound; true when everything was read. */
#define DRAIN_MAX ((size_t)256 * 1024)

static bool stdin_drained(FCGX_Request *fr)
{
    char buf[4096];
    size_t total = 0;
    int n;
    while ((n = FCGX_GetStr(buf, sizeof(buf), fr->in)) > 0) {
        total += (size_t)n;
        if (total > DRAIN_MAX)
            return false;
    }
    return n == 0 && FCGX_GetError(fr->in) == 0;
}

static void serve_one(FCGX_Request *fr, mm_app *app, mm_arena *arena)
{
    int64_t t0 = mm_clock_us();
    mm_request req = {.arena = arena};
    mm_response res;
    memset(&res, 0, sizeof(res));
    const char *method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
    const char *uri = FCGX_GetParam("REQUEST_URI", fr->envp);
    req.method = method ? method : "GET";
    if (uri == NULL)
        uri = FCGX_GetParam("DOCUMENT_URI", fr->envp);
    if (uri == NULL)
        uri = "/";
    const char *q = strchr(uri, '?');
    req.path = uri;
    req.path_len = q ? (size_t)(q - uri) : strlen(uri);
    req.query = q ? q + 1 : "";
    req.authorization = FCGX_GetParam("HTTP_AUTHORIZATION", fr->envp);
    req.idempotency_key = FCGX_GetParam("HTTP_IDEMPOTENCY_KEY", fr->envp);
    const char *rid = FCGX_GetParam("REQUEST_ID", fr->envp);
    if (rid != NULL && rid[0] != '\0' && strlen(rid) <= 64)
        req.request_id = loggable(arena, rid, strlen(rid));

    /* The body stays in the stream: a route that reads one has the dispatcher read it,
     * and what no one read is drained after the answer (stdin_drained). */
    mm_request_kind kind = {.endpoint = MM_EP_OTHER};
    size_t announced;
    if (parse_length(FCGX_GetParam("CONTENT_LENGTH", fr->envp), &announced) != 0) {
        mm_response_error(&res, arena, 400, "Invalid request body.");
    } else if (announced > MM_MAX_BODY) {
        mm_response_error(&res, arena, 413, "Request body too large.");
    } else {
        req.content_length = announced;
        req.read_body = read_stdin;
        req.body_source = fr->in;
        mm_app_handle(app, &req, &res, &kind);
    }
    write_response(fr, app, &req, &res);
    int64_t us = mm_clock_us() - t0;
    double ms = (double)us / 1000.0;
    mm_app_count(app, &kind, res.status, us);

    /* arena: the bytes the request took from its arena, its memory besides the libraries' */
    mm_log_info("msg=request method=%s path=\"%s\" status=%d ms=%.2f arena=%zu rid=%s%s%s",
                loggable(arena, req.method, strlen(req.method)),
                loggable(arena, req.path, req.path_len), res.status, ms, mm_arena_used(arena),
                req.request_id ? req.request_id : "-", res.log_fields ? " " : "",
                res.log_fields ? res.log_fields : "");
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    const char *log_path = NULL;
    int check_only = 0;
    int opt;
    while ((opt = getopt(argc, argv, "c:l:th")) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'l': log_path = optarg; break;
        case 't': check_only = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    char err[512];
    mm_config cfg;
    if (mm_config_start("matchmaker-fcgi", log_path, config_path, &cfg) != MM_OK)
        return 1;
    if (check_only) {
        mm_config_free(&cfg);
        printf("configuration ok\n");
        return 0;
    }
    mm_app app;
    if (mm_app_init(&app, &cfg, err, sizeof(err)) != MM_OK) {
        mm_log_error("msg=\"refusing to start\" reason=\"%s\"", err);
        mm_config_free(&cfg);
        mm_app_free(&app);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop; /* no SA_RESTART: accept() returns so we can leave */
    for (size_t i = 0; i < MM_ARRAY_LEN(stop_signals); i++)
        sigaction(stop_signals[i], &sa, NULL);

    if (FCGX_Init() != 0) {
        mm_log_error("msg=\"FCGX_Init failed\"");
        mm_app_free(&app);
        return 1;
    }
    FCGX_Request fr;
    FCGX_InitRequest(&fr, LISTEN_FD, FCGI_FAIL_ACCEPT_ON_INTR);
    mm_arena *arena = mm_arena_new(0);
    if (arena == NULL) {
        mm_log_error("msg=\"out of memory\"");
        mm_app_free(&app);
        return 1;
    }
    mm_log_info("msg=started products=%zu", app.cfg.nproducts);
    while (!stopping) {
        if (FCGX_Accept_r(&fr) < 0) {
            if (stopping || errno == EINTR)
                continue;
            mm_log_error("msg=\"accept failed\" err=\"%s\"", strerror(errno));
            break;
        }
        serve_one(&fr, &app, arena);
        if (stdin_drained(&fr))
            FCGX_Detach(&fr);
        FCGX_Finish_r(&fr);
        mm_arena_reset(arena);
    }
    mm_log_info("msg=stopping");
    FCGX_Free(&fr, 0);
    mm_arena_free(arena);
    mm_app_free(&app);
    return 0;
}
