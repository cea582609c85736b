#include "worker_metrics.h"

#include <stdio.h>
#include <stdlib.h>

#include "prom.h"

#define TYPES 5 /* the mm_event_type values, then unknown */
#define BUCKETS 12

static const char *const type_names[TYPES] = {"state_change", "player_disconnect", "game_removed",
                                              "other", "unknown"};
static const char *const outcome_names[MM_EVENT_OUTCOMES] = {"applied", "ignored", "malformed",
                                                             "failed",  "stale",   "dead_lettered"};
static const char *const cleanup_names[MM_CLEANUP_OUTCOMES] = {"done", "retried", "dropped"};
static const double pass_bounds[BUCKETS - 1] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                0.1,   0.25,   0.5,   1,    2.5};

/* Written by the worker loop, read by the metrics thread: every access is
 * atomic. */
struct mm_worker_metrics {
    uint64_t events[TYPES][MM_EVENT_OUTCOMES];
    uint64_t claimed;
    int64_t pending, lag;
    uint64_t passes, expired, reset, cleaned, changed, skipped;
    uint64_t trimmed, consumers_removed;
    uint64_t cleanup[MM_CLEANUP_OUTCOMES];
    uint64_t lobby_publish[3]; /* published, failed, unconfirmed */
    uint64_t pass_buckets[BUCKETS];
    uint64_t pass_us;
};

static void add(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

mm_worker_metrics *mm_worker_metrics_new(void)
{
    mm_worker_metrics *m = calloc(1, sizeof(*m));
    if (m != NULL)
        m->lag = -1;
    return m;
}

void mm_worker_metrics_free(mm_worker_metrics *m)
{
    free(m);
}

void mm_worker_metrics_event(mm_worker_metrics *m, int type, mm_event_outcome outcome)
{
    if (m == NULL || outcome >= MM_EVENT_OUTCOMES)
        return;
    if (type < 0 || type >= TYPES - 1)
        type = TYPES - 1;
    add(&m->events[type][outcome], 1);
}

void mm_worker_metrics_claimed(mm_worker_metrics *m, uint64_t n)
{
    if (m != NULL)
        add(&m->claimed, n);
}

void mm_worker_metrics_stream(mm_worker_metrics *m, int64_t pending, int64_t lag)
{
    __atomic_store_n(&m->pending, pending, __ATOMIC_RELAXED);
    __atomic_store_n(&m->lag, lag, __ATOMIC_RELAXED);
}

void mm_worker_metrics_pass(mm_worker_metrics *m, const mm_curation_stats *cs, int64_t duration_us)
{
    if (duration_us < 0)
        duration_us = 0;
    size_t b = mm_prom_bucket(pass_bounds, BUCKETS, (double)duration_us / 1e6);
    add(&m->passes, 1);
    add(&m->expired, (uint64_t)cs->deleted);
    add(&m->reset, (uint64_t)cs->reset);
    add(&m->cleaned, (uint64_t)cs->cleaned);
    add(&m->changed, (uint64_t)cs->changed);
    add(&m->skipped, (uint64_t)cs->skipped);
    add(&m->pass_buckets[b], 1);
    add(&m->pass_us, (uint64_t)duration_us);
}

void mm_worker_metrics_tidy(mm_worker_metrics *m, uint64_t trimmed, uint64_t consumers_removed)
{
    if (m == NULL)
        return;
    add(&m->trimmed, trimmed);
    add(&m->consumers_removed, consumers_removed);
}

void mm_worker_metrics_cleanup(mm_worker_metrics *m, mm_cleanup_outcome outcome)
{
    if (m != NULL && outcome < MM_CLEANUP_OUTCOMES)
        add(&m->cleanup[outcome], 1);
}

void mm_worker_metrics_lobby(mm_worker_metrics *m, uint64_t published, uint64_t failed,
                             uint64_t unconfirmed)
{
    __atomic_store_n(&m->lobby_publish[0], published, __ATOMIC_RELAXED);
    __atomic_store_n(&m->lobby_publish[1], failed, __ATOMIC_RELAXED);
    __atomic_store_n(&m->lobby_publish[2], unconfirmed, __ATOMIC_RELAXED);
}

char *mm_worker_metrics_render(void *ctx, size_t *len)
{
    const mm_worker_metrics *m = ctx;
    char labels[96];
    mm_prom p;
    mm_prom_init(&p, (size_t)1 << 20);

    mm_prom_family(&p, "matchmaker_worker_events_total", "counter",
                   "Stream entries handled, by event type and outcome.");
    for (int t = 0; t < TYPES; t++)
        for (int o = 0; o < MM_EVENT_OUTCOMES; o++) {
            /* only undecodable entries are malformed, and they have no type; events of
             * the other type ("gameplay"...) change no game, so they are never stale,
             * failed or dead-lettered */
            if ((t == TYPES - 1) != (o == MM_EVENT_MALFORMED))
                continue;
            if (t == MM_EVENT_OTHER && o != MM_EVENT_IGNORED)
                continue;
            snprintf(labels, sizeof(labels), "type=\"%s\",outcome=\"%s\"", type_names[t],
                     outcome_names[o]);
            mm_prom_counter(&p, "matchmaker_worker_events_total", labels, get(&m->events[t][o]));
        }
    mm_prom_family(&p, "matchmaker_worker_claimed_total", "counter",
                   "Entries taken over from consumers that stopped.");
    mm_prom_counter(&p, "matchmaker_worker_claimed_total", "", get(&m->claimed));

    mm_prom_family(&p, "matchmaker_worker_stream_pending", "gauge",
                   "Entries delivered to the group's consumers and not yet acknowledged.");
    mm_prom_gauge(&p, "matchmaker_worker_stream_pending", "",
                  (double)__atomic_load_n(&m->pending, __ATOMIC_RELAXED));
    int64_t lag = __atomic_load_n(&m->lag, __ATOMIC_RELAXED);
    if (lag >= 0) {
        mm_prom_family(&p, "matchmaker_worker_stream_lag", "gauge",
                       "Entries in the stream not yet delivered to the group.");
        mm_prom_gauge(&p, "matchmaker_worker_stream_lag", "", (double)lag);
    }

    mm_prom_family(&p, "matchmaker_worker_curation_passes_total", "counter",
                   "Curation passes run.");
    mm_prom_counter(&p, "matchmaker_worker_curation_passes_total", "", get(&m->passes));
    mm_prom_family(&p, "matchmaker_worker_games_expired_total", "counter",
                   "Games deleted by curation because they expired.");
    mm_prom_counter(&p, "matchmaker_worker_games_expired_total", "", get(&m->expired));
    mm_prom_family(&p, "matchmaker_worker_games_reset_total", "counter",
                   "Full games waiting for their creator reset by curation (last player dropped).");
    mm_prom_counter(&p, "matchmaker_worker_games_reset_total", "", get(&m->reset));
    mm_prom_family(&p, "matchmaker_worker_entries_cleaned_total", "counter",
                   "Set entries without a game document removed by curation.");
    mm_prom_counter(&p, "matchmaker_worker_entries_cleaned_total", "", get(&m->cleaned));
    mm_prom_family(&p, "matchmaker_worker_games_changed_total", "counter",
                   "Expired games left alone because they changed while being curated.");
    mm_prom_counter(&p, "matchmaker_worker_games_changed_total", "", get(&m->changed));
    mm_prom_family(&p, "matchmaker_worker_games_skipped_total", "counter",
                   "Games curation could not change (a step that failed for that game alone).");
    mm_prom_counter(&p, "matchmaker_worker_games_skipped_total", "", get(&m->skipped));
    mm_prom_family(&p, "matchmaker_worker_stream_trimmed_total", "counter",
                   "Event stream entries trimmed (acknowledged by every group).");
    mm_prom_counter(&p, "matchmaker_worker_stream_trimmed_total", "", get(&m->trimmed));
    mm_prom_family(&p, "matchmaker_worker_consumers_removed_total", "counter",
                   "Idle consumers with nothing pending removed from the group.");
    mm_prom_counter(&p, "matchmaker_worker_consumers_removed_total", "",
                    get(&m->consumers_removed));
    mm_prom_family(&p, "matchmaker_worker_cleanup_calls_total", "counter",
                   "Game-server cleanup calls (remove_game, remove_player), by outcome.");
    for (int o = 0; o < MM_CLEANUP_OUTCOMES; o++) {
        snprintf(labels, sizeof(labels), "outcome=\"%s\"", cleanup_names[o]);
        mm_prom_counter(&p, "matchmaker_worker_cleanup_calls_total", labels, get(&m->cleanup[o]));
    }
    mm_prom_family(&p, "matchmaker_worker_lobby_publish_total", "counter",
                   "Live lobby changes sent to nginx's publisher, by result: published, failed "
                   "(missing from the subscriptions), unconfirmed (the connection closed before "
                   "nginx answered).");
    static const char *const publish_results[3] = {"published", "failed", "unconfirmed"};
    for (int r = 0; r < 3; r++) {
        snprintf(labels, sizeof(labels), "result=\"%s\"", publish_results[r]);
        mm_prom_counter(&p, "matchmaker_worker_lobby_publish_total", labels,
                        get(&m->lobby_publish[r]));
    }

    uint64_t counts[BUCKETS];
    for (int b = 0; b < BUCKETS; b++)
        counts[b] = get(&m->pass_buckets[b]);
    mm_prom_family(&p, "matchmaker_worker_curation_pass_seconds", "histogram",
                   "Duration of curation passes.");
    mm_prom_histogram(&p, "matchmaker_worker_curation_pass_seconds", "", pass_bounds, counts,
                      BUCKETS, (double)get(&m->pass_us) / 1e6);

    const char *text;
    if (mm_prom_finish(&p, &text, len) != MM_OK) {
        mm_prom_free(&p);
        return NULL;
    }
    return p.data;
}
