/* matchmaker-worker: consumes the game servers' event stream and curates
 * stale games. One loop: read a batch (blocking at most a second when idle),
 * and when the curation interval has passed, claim entries of dead consumers
 * and run a curation pass. Redis failures are logged and retried with a
 * bounded exponential back-off; SIGTERM/SIGINT finish the entry in hand and
 * exit 0. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "curation.h"
#include "gameserver.h"
#include "log.h"
#include "metrics_server.h"
#include "rconn.h"
#include "store.h"
#include "worker.h"
#include "worker_metrics.h"

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

static void usage(FILE *to)
{
    fprintf(to, "usage: matchmaker-worker [-c CONFIG] [-l LOGFILE] [-n NAME]\n"
                "  CONFIG defaults to $MATCHMAKER_CONFIG; logs go to stderr or LOGFILE.\n"
                "  NAME: this worker's consumer name in the group (default HOST-PID); a\n"
                "  stable name lets a restarted worker resume its own pending entries at once.\n");
}

/* A consumer name: what a unit's instance name or a host name may hold. */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 100)
        return 0;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr("._@-", *s) == NULL)
            return 0;
    return 1;
}

/* Sleeps ms unless a signal arrives first. */
static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static mm_rconn *connect_to(const char *url, long timeout_ms)
{
    mm_redis_url u;
    char err[160];
    if (mm_redis_url_parse(url, &u, err, sizeof(err)) != MM_OK)
        return NULL; /* validated with the config already */
    return mm_rconn_new(&u, timeout_ms);
}

static int run(const mm_config *cfg, const char *name)
{
    long block_ms = cfg->curation_interval_ms < 1000 ? cfg->curation_interval_ms : 1000;
    mm_rconn *games = connect_to(cfg->redis_url, cfg->redis_timeout_ms);
    /* the blocking read must not time out before the server answers it */
    mm_rconn *stream = connect_to(cfg->event_stream_url, cfg->redis_timeout_ms + block_ms);
    mm_store *store = games ? mm_store_new(games) : NULL;
    mm_gs_client *gs =
        mm_gs_client_new(cfg->game_server_connect_timeout_ms, cfg->game_server_timeout_ms);
    char host[64] = "worker", consumer[160];
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    if (name != NULL)
        snprintf(consumer, sizeof(consumer), "%s", name);
    else
        snprintf(consumer, sizeof(consumer), "%s-%ld", host, (long)getpid());
    mm_worker *w = (stream && store) ? mm_worker_new(cfg, stream, store, consumer, block_ms) : NULL;
    mm_worker_metrics *metrics = mm_worker_metrics_new();
    mm_curation_cursor *cursor = calloc(1, sizeof(*cursor));
    mm_metrics_server *server = NULL;
    int rc = 1;
    if (w == NULL || gs == NULL || metrics == NULL || cursor == NULL) {
        mm_log_error("msg=\"out of memory at start-up\"");
        goto out;
    }
    mm_worker_set_metrics(w, metrics);
    if (cfg->worker_metrics_port != 0) {
        /* Without its metrics the worker still does its job: say so and go on. */
        char err[256];
        server = mm_metrics_server_start(cfg->worker_metrics_address, cfg->worker_metrics_port,
                                         mm_worker_metrics_render, metrics, err, sizeof(err));
        if (server == NULL)
            mm_log_error("msg=\"metrics not served\" reason=\"%s\"", err);
        else
            mm_log_info("msg=\"metrics served\" address=%s port=%d", cfg->worker_metrics_address,
                        mm_metrics_server_port(server));
    }
    mm_log_info("msg=started consumer=%s group=%s products=%zu", consumer, cfg->event_group,
                cfg->nproducts);
    long backoff = 0;
    int64_t next_curation = 0; /* mm_clock_us() */
    volatile const int *stop = (volatile const int *)&stopping;
    while (!stopping) {
        mm_status st = mm_worker_poll(w, stop);
        if (st == MM_OK && !stopping && mm_clock_us() >= next_curation) {
            int64_t started = mm_clock_us();
            next_curation = started + (int64_t)cfg->curation_interval_ms * 1000;
            st = mm_worker_claim(w, stop);
            mm_curation_stats cs = {0};
            if (st == MM_OK)
                st = mm_curate_pass(store, gs, cfg, cursor, mm_store_now_us(), &cs);
            if (st == MM_OK)
                mm_worker_metrics_pass(metrics, &cs, mm_clock_us() - started);
            int64_t pending, lag;
            if (st == MM_OK && (st = mm_worker_backlog(w, &pending, &lag)) == MM_OK)
                mm_worker_metrics_stream(metrics, pending, lag);
            if (cs.deleted || cs.reset || cs.cleaned)
                mm_log_info("msg=\"curation pass\" seen=%ld deleted=%ld reset=%ld cleaned=%ld "
                            "changed=%ld",
                            cs.seen, cs.deleted, cs.reset, cs.cleaned, cs.changed);
        }
        if (st == MM_OK) {
            if (backoff != 0)
                mm_log_info("msg=\"redis reachable again; resuming\"");
            backoff = 0;
            continue;
        }
        if (backoff == 0)
            mm_log_warn("msg=\"redis unavailable; backing off and retrying\"");
        backoff = backoff == 0 ? 100 : (backoff * 2 > 5000 ? 5000 : backoff * 2);
        pause_ms(backoff);
    }
    const mm_worker_stats *s = mm_worker_stats_get(w);
    mm_log_info("msg=stopping handled=%ld applied=%ld ignored=%ld malformed=%ld claimed=%ld",
                s->handled, s->applied, s->ignored, s->malformed, s->claimed);
    rc = 0;
out:
    mm_metrics_server_stop(server);
    mm_worker_free(w);
    mm_worker_metrics_free(metrics);
    free(cursor);
    mm_gs_client_free(gs);
    mm_store_free(store);
    mm_rconn_free(stream);
    mm_rconn_free(games);
    return rc;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    const char *log_path = NULL;
    const char *name = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "c:l:n:h")) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'l': log_path = optarg; break;
        case 'n': name = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    mm_log_init("matchmaker-worker", MM_LOG_INFO);
    if (log_path != NULL && mm_log_open(log_path) != 0) {
        fprintf(stderr, "matchmaker-worker: cannot open log file %s: %s\n", log_path,
                strerror(errno));
        return 1;
    }
    if (name != NULL && !valid_name(name)) {
        fprintf(stderr, "matchmaker-worker: -n wants 1..100 of [A-Za-z0-9._@-]\n");
        return 2;
    }
    char err[512];
    mm_config cfg;
    if (mm_config_load(config_path, &cfg, err, sizeof(err)) != MM_OK) {
        mm_log_error("msg=\"refusing to start\" reason=\"%s\"", err);
        return 1;
    }
    mm_log_set_level(cfg.log_level);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term; /* no SA_RESTART: a back-off sleep ends at once */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int rc = run(&cfg, name);
    mm_config_free(&cfg);
    return rc;
}
