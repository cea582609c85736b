/* matchmaker-worker: consumes the game servers' event stream, curates stale
 * games and makes the game-server cleanup calls curation queued. One loop,
 * no step of which waits on a game server (see "the loop's time budget").
 * Redis failures are logged and retried with a bounded exponential back-off;
 * SIGTERM/SIGINT finish the entry in hand and exit 0 within one turn. */
#include <ctype.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "curation.h"
#include "cleanup_job.h"
#include "game_server_async.h"
#include "lobby_publisher.h"
#include "log.h"
#include "metrics_http.h"
#include "rconn.h"
#include "store.h"
#include "consumer.h"
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

static mm_rconn *connect_to(const char *url, const mm_sentinel_set *sentinels, long timeout_ms)
{
    mm_redis_target t;
    char err[160];
    if (mm_redis_target_make(url, sentinels, &t, err, sizeof(err)) != MM_OK)
        return NULL; /* validated with the config already */
    return mm_rconn_new_target(&t, timeout_ms);
}

/* ---- the loop's time budget ----
 * One turn of the loop: read events (blocking at most BLOCK_MS when idle, less while
 * cleanup calls are in flight), move the cleanup calls on, then a slice of curation and,
 * once per curation interval, housekeeping. No step waits on a game server, so events are
 * applied within a turn, and SIGTERM is honoured within one. */
#define BLOCK_MS 100            /* an idle read blocks at most this long */
#define BLOCK_BUSY_MS 10        /* ... this long while cleanup calls are in flight */
#define CURATION_SLICE_MS 20    /* curation runs at most this long per turn, */
#define CURATION_STARVE_MS 1000 /* and waits for a backlog of events at most this long */
#define CLEANUP_SLOTS 16        /* cleanup calls in flight at once, */
#define CLEANUP_PRODUCT_MIN 2   /* of which a product holds its share, at least this many */
#define CLEANUP_CLAIM_MS 100    /* due cleanup calls are looked for this often */
#define CLEANUP_LEASE_MS 30000
#define CLEANUP_ATTEMPTS 5      /* calls made for one job before it is given up */
#define CLEANUP_BACKOFF_MS 1000 /* before the second call, doubling after */

typedef struct {
    const mm_config *cfg;
    mm_store_set *stores; /* each product's queue is on its deployment */
    mm_gs_multi *calls;
    mm_worker_metrics *metrics;
    mm_arena *arena;
    size_t next_product; /* where the next claim starts: products take turns */
    int64_t next_claim;
    /* Calls in flight per product, held to its share of the slots: a product whose game
     * server hangs holds its share for the timeout, never every slot. */
    int *in_flight;
    int share;
} cleanup_state;

typedef struct {
    size_t product;
    char *job;
    int attempt;
} cleanup_tag;

static mm_store *queue_of(const cleanup_state *cs, size_t product)
{
    return mm_store_set_for(cs->stores, &cs->cfg->products[product]);
}

/* A cleanup call ended: done, retried later with a back-off, or given up. */
static void cleanup_done(void *ctx, void *tagp, mm_gs_result r)
{
    cleanup_state *cs = ctx;
    cleanup_tag *tag = tagp;
    const char *product_id = cs->cfg->products[tag->product].product_id;
    cs->in_flight[tag->product]--;
    mm_cleanup_outcome outcome = MM_CLEANUP_DONE;
    const char *next = NULL;
    long delay = 0;
    mm_arena_reset(cs->arena);
    mm_cleanup_job job;
    if (r == MM_GS_UNAVAILABLE &&
        mm_cleanup_job_decode(cs->arena, tag->job, strlen(tag->job), &job) == MM_OK) {
        if (job.attempt + 1 < CLEANUP_ATTEMPTS) {
            delay = (long)CLEANUP_BACKOFF_MS << job.attempt;
            job.attempt++;
            next = mm_cleanup_job_encode(cs->arena, &job);
            outcome = next != NULL ? MM_CLEANUP_RETRIED : MM_CLEANUP_DROPPED;
        } else {
            outcome = MM_CLEANUP_DROPPED;
            mm_log_error("msg=\"cleanup call given up\" product=%s op=%s game_id=%s attempts=%d",
                         product_id, mm_cleanup_op_name(job.op), job.game_id, job.attempt + 1);
        }
    }
    /* if Redis is down, the lease runs out and the job is taken again */
    mm_store_cleanup_settle(queue_of(cs, tag->product), product_id, tag->job, next, delay);
    mm_worker_metrics_cleanup(cs->metrics, outcome);
    free(tag->job);
    free(tag);
}

/* Stopping: the calls in flight are abandoned and their jobs made due again at once, for
 * the next worker. */
static void cleanup_release(void *ctx, void *tagp, mm_gs_result r)
{
    cleanup_state *cs = ctx;
    cleanup_tag *tag = tagp;
    (void)r;
    cs->in_flight[tag->product]--;
    mm_store_cleanup_settle(queue_of(cs, tag->product), cs->cfg->products[tag->product].product_id,
                            tag->job, tag->job, 0);
    free(tag->job);
    free(tag);
}

/* Takes due jobs from the products' queues while slots are free, and starts their calls. */
static void cleanup_claim(cleanup_state *cs)
{
    int64_t now = mm_clock_ms();
    if (now < cs->next_claim)
        return;
    cs->next_claim = now + CLEANUP_CLAIM_MS;
    for (size_t k = 0; k < cs->cfg->nproducts && mm_gs_multi_free_slots(cs->calls) > 0; k++) {
        size_t p = (cs->next_product + k) % cs->cfg->nproducts;
        const char *product_id = cs->cfg->products[p].product_id;
        int room = cs->share - cs->in_flight[p];
        if (room > mm_gs_multi_free_slots(cs->calls))
            room = mm_gs_multi_free_slots(cs->calls);
        if (room <= 0)
            continue; /* its share is in flight: the others' turn */
        mm_arena_reset(cs->arena);
        const char **jobs;
        size_t n;
        mm_store_result r = mm_store_cleanup_claim(queue_of(cs, p), cs->arena, product_id,
                                                   CLEANUP_LEASE_MS, room, &jobs, &n);
        if (r == MM_STORE_UNAVAILABLE)
            continue; /* that product's Redis: its queue waits, the others' go on (SPEC 10) */
        for (size_t i = 0; i < n; i++) {
            mm_cleanup_job job;
            cleanup_tag *tag = calloc(1, sizeof(*tag));
            char *text = strdup(jobs[i]);
            if (tag == NULL || text == NULL) {
                free(tag);
                free(text);
                continue; /* the lease runs out and it is taken again */
            }
            tag->product = p;
            tag->job = text;
            if (mm_cleanup_job_decode(cs->arena, text, strlen(text), &job) != MM_OK) {
                mm_log_error("msg=\"not a cleanup job; dropped\" product=%s job=\"%.200s\"",
                             product_id, text);
                mm_store_cleanup_settle(queue_of(cs, p), product_id, text, NULL, 0);
                mm_worker_metrics_cleanup(cs->metrics, MM_CLEANUP_DROPPED);
                free(text);
                free(tag);
                continue;
            }
            if (mm_gs_multi_start(cs->calls, &job, tag) != MM_OK) {
                free(text);
                free(tag);
                continue;
            }
            cs->in_flight[p]++;
        }
        if (n > 0)
            cs->next_claim = now; /* there may be more: look again next turn */
    }
    if (cs->cfg->nproducts > 0)
        cs->next_product = (cs->next_product + 1) % cs->cfg->nproducts;
}

static int run(const mm_config *cfg, const char *name)
{
    char err[256];
    mm_store_set *stores = mm_store_set_new(cfg, cfg->redis_timeout_ms, err, sizeof(err));
    /* the blocking read must not time out before the server answers it */
    mm_rconn *stream = connect_to(cfg->event_stream_url, &cfg->event_stream_sentinels,
                                  cfg->redis_timeout_ms + BLOCK_MS);
    /* what the worker lists, relists and unlists is pushed to the subscribers (SPEC 13) */
    mm_lobby_publisher *publisher =
        mm_lobby_publisher_new(cfg->lobby_publisher, cfg->lobby_publish_timeout_ms);
    if (stores != NULL && publisher != NULL)
        mm_store_set_observe(stores, mm_lobby_publisher_observe, publisher);
    mm_gs_multi *calls = mm_gs_multi_new(cfg->game_server_connect_timeout_ms,
                                         cfg->game_server_timeout_ms, CLEANUP_SLOTS);
    char host[64] = "worker", consumer[160];
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    if (name != NULL)
        snprintf(consumer, sizeof(consumer), "%s", name);
    else
        snprintf(consumer, sizeof(consumer), "%s-%ld", host, (long)getpid());
    mm_worker *w = (stream && stores) ? mm_worker_new(cfg, stream, stores, consumer) : NULL;
    mm_worker_metrics *metrics = mm_worker_metrics_new();
    mm_curation_cursor *cursor = calloc(1, sizeof(*cursor));
    mm_arena *arena = mm_arena_new(0);
    int *in_flight = calloc(cfg->nproducts + 1, sizeof(*in_flight));
    mm_metrics_server *server = NULL;
    int rc = 1;
    if (stores == NULL) {
        mm_log_error("msg=\"refusing to start\" reason=\"%s\"", err);
        goto out;
    }
    if (w == NULL || calls == NULL || metrics == NULL || cursor == NULL || arena == NULL ||
        publisher == NULL || in_flight == NULL) {
        mm_log_error("msg=\"out of memory at start-up\"");
        goto out;
    }
    mm_worker_set_metrics(w, metrics);
    if (cfg->worker_metrics_port != 0) {
        /* Without its metrics the worker still does its job: say so and go on. */
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
    /* each product's share of the cleanup slots: all of them for one product */
    int share = cfg->nproducts > 0 ? CLEANUP_SLOTS / (int)cfg->nproducts : CLEANUP_SLOTS;
    cleanup_state cs = {.cfg = cfg,
                        .stores = stores,
                        .calls = calls,
                        .metrics = metrics,
                        .arena = arena,
                        .in_flight = in_flight,
                        .share = share < CLEANUP_PRODUCT_MIN ? CLEANUP_PRODUCT_MIN : share};
    long backoff = 0;
    int64_t next_pass = 0, next_tidy = 0, pass_us = 0, last_step = 0;
    bool in_pass = false;
    mm_curation_stats pass_stats = {0};
    volatile const int *stop = (volatile const int *)&stopping;
    while (!stopping) {
        long block = mm_gs_multi_in_flight(calls) > 0 ? BLOCK_BUSY_MS : BLOCK_MS;
        mm_status st = mm_worker_poll(w, block, stop);
        if (st == MM_OK && !stopping) {
            mm_gs_multi_run(calls, 0, cleanup_done, &cs);
            cleanup_claim(&cs);
        }
        int64_t now = mm_clock_ms();
        /* events first: while a backlog is read, curation waits, a second at most */
        bool curate = !mm_worker_backlogged(w) || now - last_step >= CURATION_STARVE_MS;
        if (st == MM_OK && !stopping && curate && (in_pass || now >= next_pass)) {
            last_step = now;
            if (!in_pass) {
                in_pass = true;
                next_pass = now + cfg->curation_interval_ms;
                memset(&pass_stats, 0, sizeof(pass_stats));
                pass_us = 0;
            }
            bool done = false;
            st = mm_curate_step(stores, cfg, cursor, mm_store_now_us(), mm_clock_ms,
                                now + CURATION_SLICE_MS, &pass_stats, &done);
            pass_us += (mm_clock_ms() - now) * 1000;
            if (st == MM_OK && done) {
                in_pass = false;
                mm_worker_metrics_pass(metrics, &pass_stats, pass_us);
                if (pass_stats.deleted || pass_stats.reset || pass_stats.cleaned ||
                    pass_stats.skipped)
                    mm_log_info("msg=\"curation pass\" seen=%ld deleted=%ld reset=%ld "
                                "cleaned=%ld changed=%ld skipped=%ld",
                                pass_stats.seen, pass_stats.deleted, pass_stats.reset,
                                pass_stats.cleaned, pass_stats.changed, pass_stats.skipped);
            }
        }
        if (st == MM_OK && !stopping && now >= next_tidy) {
            next_tidy = now + cfg->curation_interval_ms;
            st = mm_worker_claim(w, stop);
            int64_t pending, lag;
            long long trimmed = 0;
            int removed = 0;
            if (st == MM_OK &&
                (st = mm_worker_tidy(w, &pending, &lag, &trimmed, &removed)) == MM_OK) {
                mm_worker_metrics_stream(metrics, pending, lag);
                mm_worker_metrics_tidy(metrics, (uint64_t)trimmed, (uint64_t)removed);
            }
        }
        mm_publish_counts pc;
        mm_lobby_publisher_counts(publisher, &pc);
        mm_worker_metrics_lobby(metrics, pc.published, pc.failed, pc.unconfirmed);
        if (st == MM_OK) {
            if (backoff != 0)
                mm_log_info("msg=\"redis reachable again; resuming\"");
            backoff = 0;
            continue;
        }
        if (backoff == 0)
            mm_log_warn("msg=\"redis unavailable; backing off and retrying\"");
        /* 100 ms doubling to 1 s: a Redis back from a restart is found within a second */
        backoff = backoff == 0 ? 100 : (backoff * 2 > 1000 ? 1000 : backoff * 2);
        for (long slept = 0; slept < backoff && !stopping; slept += 50) {
            mm_gs_multi_run(calls, 0, cleanup_done, &cs);
            pause_ms(50);
        }
    }
    mm_gs_multi_abandon(calls, cleanup_release, &cs);
    const mm_worker_stats *s = mm_worker_stats_get(w);
    mm_log_info("msg=stopping handled=%ld applied=%ld ignored=%ld stale=%ld malformed=%ld "
                "dead_lettered=%ld claimed=%ld",
                s->handled, s->applied, s->ignored, s->stale, s->malformed, s->dead_lettered,
                s->claimed);
    rc = 0;
out:
    mm_metrics_server_stop(server);
    mm_worker_free(w);
    mm_worker_metrics_free(metrics);
    free(cursor);
    free(in_flight);
    mm_arena_free(arena);
    mm_gs_multi_free(calls);
    mm_store_set_free(stores);
    mm_lobby_publisher_free(publisher);
    mm_rconn_free(stream);
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
    if (name != NULL && !valid_name(name)) {
        fprintf(stderr, "matchmaker-worker: -n wants 1..100 of [A-Za-z0-9._@-]\n");
        return 2;
    }
    mm_config cfg;
    if (mm_config_start("matchmaker-worker", log_path, config_path, &cfg) != MM_OK)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term; /* no SA_RESTART: a back-off sleep ends at once */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int rc = run(&cfg, name);
    mm_config_free(&cfg);
    return rc;
}
