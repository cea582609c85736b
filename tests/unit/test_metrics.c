/* The metrics modules: the Prometheus text writer, the pool's shared
 * counters (two handles on one file stand for two processes of the pool)
 * and the worker's counters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool_metrics.h"
#include "prom.h"
#include "worker_metrics.h"

static char dir[64];
static char path[128];
static char breakers[160]; /* the game servers' breakers, beside the metrics */

static const char two_products[] =
    "{\"products\": ["
    "{\"product_id\": \"alpha\", \"game_server_url\": \"http://gs\", \"game_socket_url\": \"s\"},"
    "{\"product_id\": \"beta\", \"game_server_url\": \"http://gs\", \"game_socket_url\": \"s\"}]}";
static const char reordered[] =
    "{\"products\": ["
    "{\"product_id\": \"gamma\", \"game_server_url\": \"http://gs\", \"game_socket_url\": \"s\"},"
    "{\"product_id\": \"beta\", \"game_server_url\": \"http://gs\", \"game_socket_url\": \"s\"}]}";

static void load(const char *json, mm_config *cfg)
{
    char err[256];
    assert_int_equal(mm_config_parse(json, strlen(json), cfg, err, sizeof(err)), MM_OK);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/mm-metrics-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/metrics", dir);
    snprintf(breakers, sizeof(breakers), "%s.breakers", path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    unlink(breakers);
    rmdir(dir);
    return 0;
}

/* The rendered text has exactly this line. */
static void assert_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return;
    fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void prom_writes_the_text_format(void **state)
{
    (void)state;
    mm_prom p;
    mm_prom_init(&p, 1 << 16);
    mm_prom_family(&p, "x_total", "counter", "Things.");
    mm_prom_counter(&p, "x_total", "", 3);
    mm_prom_counter(&p, "x_total", "k=\"v\"", 18446744073709551615ULL);
    const double bounds[] = {0.1, 1};
    const uint64_t counts[] = {2, 0, 1};
    mm_prom_histogram(&p, "h", "e=\"a\"", bounds, counts, 3, 1.5);
    const char *text;
    size_t len;
    assert_int_equal(mm_prom_finish(&p, &text, &len), MM_OK);
    assert_string_equal(text, "# HELP x_total Things.\n# TYPE x_total counter\n"
                              "x_total 3\nx_total{k=\"v\"} 18446744073709551615\n"
                              "h_bucket{e=\"a\",le=\"0.1\"} 2\nh_bucket{e=\"a\",le=\"1\"} 2\n"
                              "h_bucket{e=\"a\",le=\"+Inf\"} 3\nh_sum{e=\"a\"} 1.500000\n"
                              "h_count{e=\"a\"} 3\n");
    assert_int_equal(len, strlen(text));
    mm_prom_free(&p);
}

static void prom_fails_cleanly_at_its_bound(void **state)
{
    (void)state;
    mm_prom p;
    mm_prom_init(&p, 64);
    for (int i = 0; i < 10; i++)
        mm_prom_counter(&p, "a_rather_long_metric_name_total", "", (uint64_t)i);
    const char *text;
    size_t len;
    assert_int_equal(mm_prom_finish(&p, &text, &len), MM_ERR_NOMEM);
    mm_prom_free(&p);
}

static void two_processes_share_one_set_of_counters(void **state)
{
    (void)state;
    mm_config cfg;
    load(two_products, &cfg);
    char w1[256], w2[256];
    mm_metrics *a = mm_metrics_open(path, &cfg, w1, sizeof(w1));
    mm_metrics *b = mm_metrics_open(path, &cfg, w2, sizeof(w2));
    assert_true(mm_metrics_shared(a) && mm_metrics_shared(b));
    mm_request_kind health = {.endpoint = MM_EP_HEALTH};
    mm_request_kind create = {.endpoint = MM_EP_CREATE_GAME, .product = &cfg.products[1]};
    mm_request_kind stranger = {.endpoint = MM_EP_OPEN_GAMES, .unknown_product = true};
    mm_metrics_request(a, &health, 200, 300);   /* 0.3 ms: first bucket */
    mm_metrics_request(b, &health, 503, 3000);  /* 3 ms: le 0.005 */
    mm_metrics_request(b, &create, 200, 20000); /* 20 ms */
    mm_metrics_request(a, &stranger, 400, 100);
    mm_metrics_gs_call(a, &cfg.products[1], MM_GS_OP_CREATE_GAME, MM_GS_OK);
    mm_metrics_gs_call(b, &cfg.products[1], MM_GS_OP_CREATE_GAME, MM_GS_UNAVAILABLE);
    mm_metrics_game_created(b, &cfg.products[1]);
    mm_metrics_redis_errors(a, 2);
    size_t len;
    char *text = mm_metrics_render(a, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_line(text,
                "matchmaker_requests_total{endpoint=\"health\",product=\"none\",code=\"2xx\"} 1");
    assert_line(text,
                "matchmaker_requests_total{endpoint=\"health\",product=\"none\",code=\"5xx\"} 1");
    assert_line(
        text,
        "matchmaker_requests_total{endpoint=\"create_game\",product=\"beta\",code=\"2xx\"} 1");
    assert_line(text, "matchmaker_requests_total{endpoint=\"open_games\",product=\"unknown\","
                      "code=\"4xx\"} 1");
    assert_line(text,
                "matchmaker_request_duration_seconds_bucket{endpoint=\"health\",le=\"0.0005\"} 1");
    assert_line(text,
                "matchmaker_request_duration_seconds_bucket{endpoint=\"health\",le=\"0.0025\"} 1");
    assert_line(text,
                "matchmaker_request_duration_seconds_bucket{endpoint=\"health\",le=\"0.005\"} 2");
    assert_line(text, "matchmaker_request_duration_seconds_count{endpoint=\"health\"} 2");
    assert_line(text, "matchmaker_request_duration_seconds_sum{endpoint=\"health\"} 0.003300");
    assert_line(text,
                "matchmaker_game_server_calls_total{product=\"beta\",operation=\"create_game\","
                "outcome=\"ok\"} 1");
    assert_line(text,
                "matchmaker_game_server_calls_total{product=\"beta\",operation=\"create_game\","
                "outcome=\"unavailable\"} 1");
    assert_line(text, "matchmaker_games_created_total{product=\"beta\"} 1");
    assert_line(text, "matchmaker_games_created_total{product=\"alpha\"} 0");
    assert_line(text, "matchmaker_redis_errors_total 2");
    assert_line(text, "matchmaker_metrics_shared 1");
    assert_null(strstr(text, "product=\"alpha\",code="));
    /* each product's game-server breaker (alpha and beta share one game server) */
    assert_line(text, "matchmaker_game_server_breaker_state{product=\"alpha\"} 0");
    assert_line(text, "matchmaker_game_server_breaker_state{product=\"beta\"} 0");
    assert_line(text, "matchmaker_game_server_breaker_opens_total{product=\"beta\"} 0");
    assert_line(text, "matchmaker_game_server_breaker_refused_total{product=\"alpha\"} 0");
    free(text);
    mm_metrics_close(a);
    mm_metrics_close(b);
    mm_config_free(&cfg);
}

/* A pool restarted with another product list keeps each product's series. */
static void products_keep_their_series_across_configs(void **state)
{
    (void)state;
    mm_config one, two;
    load(two_products, &one);
    load(reordered, &two);
    char w[256];
    mm_metrics *a = mm_metrics_open(path, &one, w, sizeof(w));
    mm_metrics *b = mm_metrics_open(path, &two, w, sizeof(w));
    mm_metrics_game_joined(a, &one.products[1]); /* beta */
    mm_metrics_game_joined(b, &two.products[1]); /* beta */
    mm_metrics_game_joined(b, &two.products[0]); /* gamma */
    size_t len;
    char *text = mm_metrics_render(a, &len);
    assert_line(text, "matchmaker_games_joined_total{product=\"beta\"} 2");
    assert_line(text, "matchmaker_games_joined_total{product=\"gamma\"} 1");
    assert_line(text, "matchmaker_games_joined_total{product=\"alpha\"} 0");
    free(text);
    mm_metrics_close(a);
    mm_metrics_close(b);
    mm_config_free(&one);
    mm_config_free(&two);
}

static void a_file_of_another_layout_is_replaced(void **state)
{
    (void)state;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a metrics file", f);
    fclose(f);
    mm_config cfg;
    load(two_products, &cfg);
    char w[256];
    mm_metrics *m = mm_metrics_open(path, &cfg, w, sizeof(w));
    assert_true(mm_metrics_shared(m));
    mm_metrics_game_created(m, &cfg.products[0]);
    size_t len;
    char *text = mm_metrics_render(m, &len);
    assert_line(text, "matchmaker_games_created_total{product=\"alpha\"} 1");
    free(text);
    mm_metrics_close(m);
    mm_config_free(&cfg);
}

static void an_unusable_file_leaves_process_counters_and_a_reason(void **state)
{
    (void)state;
    mm_config cfg;
    load(two_products, &cfg);
    char w[256];
    mm_metrics *m = mm_metrics_open("/nonexistent-dir/metrics", &cfg, w, sizeof(w));
    assert_non_null(m);
    assert_false(mm_metrics_shared(m));
    assert_non_null(strstr(w, "/nonexistent-dir/metrics"));
    mm_request_kind k = {.endpoint = MM_EP_METRICS};
    mm_metrics_request(m, &k, 200, 10);
    size_t len;
    char *text = mm_metrics_render(m, &len);
    assert_line(text,
                "matchmaker_requests_total{endpoint=\"metrics\",product=\"none\",code=\"2xx\"} 1");
    assert_line(text, "matchmaker_metrics_shared 0");
    free(text);
    mm_metrics_close(m);
    mm_config_free(&cfg);
}

static void worker_counters_render(void **state)
{
    (void)state;
    mm_worker_metrics *m = mm_worker_metrics_new();
    mm_worker_metrics_event(m, MM_EVENT_STATE_CHANGE, MM_EVENT_APPLIED);
    mm_worker_metrics_event(m, MM_EVENT_STATE_CHANGE, MM_EVENT_APPLIED);
    mm_worker_metrics_event(m, MM_EVENT_TYPE_UNKNOWN, MM_EVENT_MALFORMED);
    mm_worker_metrics_event(m, 99, MM_EVENT_MALFORMED); /* out of range: unknown */
    mm_worker_metrics_claimed(m, 3);
    mm_curation_stats cs = {.seen = 5, .deleted = 2, .reset = 1};
    mm_worker_metrics_pass(m, &cs, 4000);
    size_t len;
    char *text = mm_worker_metrics_render(m, &len);
    assert_line(text,
                "matchmaker_worker_events_total{type=\"state_change\",outcome=\"applied\"} 2");
    assert_line(text, "matchmaker_worker_events_total{type=\"unknown\",outcome=\"malformed\"} 2");
    assert_line(text, "matchmaker_worker_claimed_total 3");
    assert_line(text, "matchmaker_worker_games_expired_total 2");
    assert_line(text, "matchmaker_worker_games_reset_total 1");
    assert_line(text, "matchmaker_worker_curation_passes_total 1");
    assert_line(text, "matchmaker_worker_curation_pass_seconds_bucket{le=\"0.005\"} 1");
    assert_line(text, "matchmaker_worker_curation_pass_seconds_bucket{le=\"0.0025\"} 0");
    assert_null(strstr(text, "matchmaker_worker_stream_lag ")); /* unknown until measured */
    free(text);
    mm_worker_metrics_stream(m, 4, 7);
    text = mm_worker_metrics_render(m, &len);
    assert_line(text, "matchmaker_worker_stream_pending 4");
    assert_line(text, "matchmaker_worker_stream_lag 7");
    free(text);
    mm_worker_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prom_writes_the_text_format),
        cmocka_unit_test(prom_fails_cleanly_at_its_bound),
        cmocka_unit_test_setup_teardown(two_processes_share_one_set_of_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(products_keep_their_series_across_configs, setup, teardown),
        cmocka_unit_test_setup_teardown(a_file_of_another_layout_is_replaced, setup, teardown),
        cmocka_unit_test(an_unusable_file_leaves_process_counters_and_a_reason),
        cmocka_unit_test(worker_counters_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
