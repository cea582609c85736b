/* The game servers' circuit breakers: the state machine on one word with a clock the test
 * moves by hand, then the host's table in its shared file (two handles on one file stand
 * for two processes of the pool). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "breaker.h"

static const mm_breaker_rules rules = {
    .failure_threshold = 3, .cooldown_ms = 5000, .trial_ms = 4000};

static mm_breaker_state state_of_word(uint64_t w)
{
    mm_breaker_state st;
    mm_breaker_read(w, &st, NULL, NULL);
    return st;
}

static long failures(uint64_t w)
{
    long f;
    mm_breaker_read(w, NULL, &f, NULL);
    return f;
}

static int64_t until(uint64_t w)
{
    int64_t t;
    mm_breaker_read(w, NULL, NULL, &t);
    return t;
}

/* One call at time now: decided, then noted with outcome ok when let through. Returns the
 * verdict; the change goes to *change when not NULL. */
static mm_breaker_verdict call(uint64_t *w, int64_t now, bool ok, mm_breaker_change *change)
{
    mm_breaker_verdict v = mm_breaker_decide(w, &rules, now);
    mm_breaker_change c = MM_BREAKER_UNCHANGED;
    if (v != MM_BREAKER_REFUSE)
        c = mm_breaker_note(w, &rules, now, v == MM_BREAKER_ALLOW_TRIAL, ok);
    if (change != NULL)
        *change = c;
    return v;
}

/* A table of steps: at time t a call with outcome ok; the verdict, the change and the state
 * after it. */
typedef struct {
    int64_t t;
    bool ok;
    mm_breaker_verdict verdict;
    mm_breaker_change change;
    mm_breaker_state after;
} step;

static void run_steps(const step *steps, size_t n)
{
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) {
        mm_breaker_change c;
        mm_breaker_verdict v = call(&w, steps[i].t, steps[i].ok, &c);
        if (v != steps[i].verdict || c != steps[i].change || state_of_word(w) != steps[i].after)
            fail_msg("step %zu (t=%lld): verdict %d change %d state %d, wanted %d %d %d", i,
                     (long long)steps[i].t, v, c, state_of_word(w), steps[i].verdict,
                     steps[i].change, steps[i].after);
    }
}

#define ALLOW MM_BREAKER_ALLOW
#define TRIAL MM_BREAKER_ALLOW_TRIAL
#define REFUSE MM_BREAKER_REFUSE
#define SAME MM_BREAKER_UNCHANGED
#define CLOSED MM_BREAKER_CLOSED
#define OPEN MM_BREAKER_OPEN
#define ON_TRIAL MM_BREAKER_TRIAL

static void opens_after_the_threshold_and_refuses_for_the_cooldown(void **state)
{
    (void)state;
    static const step steps[] = {
        {0, false, ALLOW, SAME, CLOSED},
        {10, false, ALLOW, SAME, CLOSED},
        {20, false, ALLOW, MM_BREAKER_OPENED, OPEN}, /* the third in a row */
        {30, true, REFUSE, SAME, OPEN},
        {5019, true, REFUSE, SAME, OPEN}, /* the cooldown ends at 20 + 5000 */
    };
    run_steps(steps, MM_ARRAY_LEN(steps));
}

static void an_answer_resets_the_count(void **state)
{
    (void)state;
    static const step steps[] = {
        {0, false, ALLOW, SAME, CLOSED}, {1, false, ALLOW, SAME, CLOSED},
        {2, true, ALLOW, SAME, CLOSED}, /* an answer (2xx or a refusal): the count starts again */
        {3, false, ALLOW, SAME, CLOSED}, {4, false, ALLOW, SAME, CLOSED},
        {5, true, ALLOW, SAME, CLOSED},  {6, false, ALLOW, SAME, CLOSED},
    };
    run_steps(steps, MM_ARRAY_LEN(steps));
    uint64_t w = 0;
    call(&w, 0, false, NULL);
    call(&w, 0, false, NULL);
    assert_int_equal(failures(w), 2);
    call(&w, 0, true, NULL);
    assert_int_equal(failures(w), 0);
}

static void a_successful_trial_closes_it(void **state)
{
    (void)state;
    static const step steps[] = {
        {0, false, ALLOW, SAME, CLOSED},
        {0, false, ALLOW, SAME, CLOSED},
        {0, false, ALLOW, MM_BREAKER_OPENED, OPEN},
        {5000, true, TRIAL, MM_BREAKER_RECLOSED, CLOSED},
        {5001, false, ALLOW, SAME, CLOSED}, /* counting from zero again */
        {5002, false, ALLOW, SAME, CLOSED},
        {5003, false, ALLOW, MM_BREAKER_OPENED, OPEN},
    };
    run_steps(steps, MM_ARRAY_LEN(steps));
}

static void a_failed_trial_opens_it_for_another_cooldown(void **state)
{
    (void)state;
    static const step steps[] = {
        {0, false, ALLOW, SAME, CLOSED},
        {0, false, ALLOW, SAME, CLOSED},
        {0, false, ALLOW, MM_BREAKER_OPENED, OPEN},
        {6000, false, TRIAL, MM_BREAKER_REOPENED, OPEN},
        {10999, true, REFUSE, SAME, OPEN}, /* until 6000 + 5000 */
        {11000, true, TRIAL, MM_BREAKER_RECLOSED, CLOSED},
    };
    run_steps(steps, MM_ARRAY_LEN(steps));
}

/* While the trial is under way every other caller is refused; only one trial at a time. */
static void one_trial_at_a_time(void **state)
{
    (void)state;
    uint64_t w = 0;
    for (int i = 0; i < 3; i++)
        call(&w, 0, false, NULL);
    assert_int_equal(mm_breaker_decide(&w, &rules, 5000), TRIAL);
    assert_int_equal(state_of_word(w), ON_TRIAL);
    assert_int_equal(until(w), 5000 + rules.trial_ms);
    assert_int_equal(mm_breaker_decide(&w, &rules, 5001), REFUSE);
    assert_int_equal(mm_breaker_decide(&w, &rules, 8999), REFUSE);
    /* a call let through before it opened, ending now, changes nothing */
    assert_int_equal(mm_breaker_note(&w, &rules, 8999, false, true), SAME);
    assert_int_equal(mm_breaker_note(&w, &rules, 8999, false, false), SAME);
    assert_int_equal(state_of_word(w), ON_TRIAL);
    assert_int_equal(mm_breaker_note(&w, &rules, 9000, true, true), MM_BREAKER_RECLOSED);
}

/* A trial whose process died never reports: once its time is up another call is the
 * trial, and the late report of the first, if it ever comes, decides nothing twice. */
static void a_trial_that_never_reports_is_replaced(void **state)
{
    (void)state;
    uint64_t w = 0;
    for (int i = 0; i < 3; i++)
        call(&w, 0, false, NULL);
    assert_int_equal(mm_breaker_decide(&w, &rules, 5000), TRIAL);
    assert_int_equal(mm_breaker_decide(&w, &rules, 8999), REFUSE);
    assert_int_equal(mm_breaker_decide(&w, &rules, 9000), TRIAL); /* 5000 + trial_ms */
    assert_int_equal(mm_breaker_note(&w, &rules, 9001, true, false), MM_BREAKER_REOPENED);
    assert_int_equal(mm_breaker_note(&w, &rules, 9002, true, true), SAME); /* the first, late */
    assert_int_equal(state_of_word(w), OPEN);
    assert_int_equal(until(w), 9001 + rules.cooldown_ms);
}

/* Calls that were under way when it opened fail too; they must not count twice, nor start
 * a second cooldown. */
static void failures_of_calls_under_way_change_nothing_once_open(void **state)
{
    (void)state;
    uint64_t w = 0;
    assert_int_equal(mm_breaker_decide(&w, &rules, 0), ALLOW);
    assert_int_equal(mm_breaker_decide(&w, &rules, 0), ALLOW);
    assert_int_equal(mm_breaker_decide(&w, &rules, 0), ALLOW);
    assert_int_equal(mm_breaker_decide(&w, &rules, 0), ALLOW);
    assert_int_equal(mm_breaker_note(&w, &rules, 100, false, false), SAME);
    assert_int_equal(mm_breaker_note(&w, &rules, 100, false, false), SAME);
    assert_int_equal(mm_breaker_note(&w, &rules, 100, false, false), MM_BREAKER_OPENED);
    assert_int_equal(mm_breaker_note(&w, &rules, 900, false, false), SAME);
    assert_int_equal(until(w), 5100);
}

static void a_threshold_of_one_opens_on_the_first_failure(void **state)
{
    (void)state;
    const mm_breaker_rules one = {.failure_threshold = 1, .cooldown_ms = 10, .trial_ms = 10};
    uint64_t w = 0;
    assert_int_equal(mm_breaker_decide(&w, &one, 0), ALLOW);
    assert_int_equal(mm_breaker_note(&w, &one, 0, false, false), MM_BREAKER_OPENED);
    assert_int_equal(mm_breaker_decide(&w, &one, 9), REFUSE);
    assert_int_equal(mm_breaker_decide(&w, &one, 10), TRIAL);
}

/* ---- the table ---- */

static char dir[64], path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/mm-breaker-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/metrics.breakers", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

/* alpha and beta share a game server, gamma has its own. */
static const char products[] =
    "{\"game_server_failure_threshold\": 2, \"game_server_cooldown_ms\": 1000,"
    " \"game_server_timeout_ms\": 500, \"products\": ["
    "{\"product_id\": \"alpha\", \"game_server_url\": \"http://gs-a\", \"game_socket_url\": \"s\"},"
    "{\"product_id\": \"beta\", \"game_server_url\": \"http://gs-a\", \"game_socket_url\": \"s\"},"
    "{\"product_id\": \"gamma\", \"game_server_url\": \"http://gs-g\", \"game_socket_url\": "
    "\"s\"}]}";

static void load(mm_config *cfg)
{
    char err[256];
    assert_int_equal(mm_config_parse(products, strlen(products), cfg, err, sizeof(err)), MM_OK);
}

static void fail_once(mm_breaker *b, const char *url, int64_t now)
{
    mm_breaker_ticket t;
    assert_true(mm_breaker_admit(b, url, now, &t));
    mm_breaker_record(b, &t, false, now);
}

static void two_processes_share_each_game_servers_breaker(void **state)
{
    (void)state;
    mm_config cfg;
    load(&cfg);
    char w1[256], w2[256];
    mm_breaker *a = mm_breaker_open(path, &cfg, w1, sizeof(w1));
    mm_breaker *b = mm_breaker_open(path, &cfg, w2, sizeof(w2));
    assert_string_equal(w1, "");
    assert_string_equal(w2, "");
    /* one failure in each process: the second opens it for both */
    fail_once(a, "http://gs-a", 0);
    mm_breaker_ticket t;
    assert_true(mm_breaker_admit(b, "http://gs-a", 0, &t));
    assert_int_equal(mm_breaker_record(b, &t, false, 0), MM_BREAKER_OPENED);
    assert_false(mm_breaker_admit(a, "http://gs-a", 10, &t));
    assert_false(mm_breaker_admit(b, "http://gs-a", 10, &t));
    /* the other game server is not concerned; a URL no product has is never refused */
    assert_true(mm_breaker_admit(a, "http://gs-g", 10, &t));
    mm_breaker_record(a, &t, true, 10);
    assert_true(mm_breaker_admit(a, "http://elsewhere", 10, &t));
    assert_int_equal(t.slot, -1);
    /* alpha and beta, on one game server, show one breaker */
    mm_breaker_stats sa, sb, sg;
    assert_true(mm_breaker_stats_of(a, cfg.products[0].game_server_url, &sa));
    assert_true(mm_breaker_stats_of(b, cfg.products[1].game_server_url, &sb));
    assert_true(mm_breaker_stats_of(b, cfg.products[2].game_server_url, &sg));
    assert_int_equal(sa.state, MM_BREAKER_OPEN);
    assert_int_equal(sb.state, MM_BREAKER_OPEN);
    assert_int_equal(sa.opens, 1);
    assert_int_equal(sa.refused, 2);
    assert_int_equal(sg.state, MM_BREAKER_CLOSED);
    assert_int_equal(sg.opens, 0);
    /* after the cooldown one process has the trial, the other is refused meanwhile */
    mm_breaker_ticket trial;
    assert_true(mm_breaker_admit(b, "http://gs-a", 1000, &trial));
    assert_true(trial.trial);
    assert_false(mm_breaker_admit(a, "http://gs-a", 1001, &t));
    assert_int_equal(mm_breaker_record(b, &trial, true, 1002), MM_BREAKER_RECLOSED);
    assert_true(mm_breaker_admit(a, "http://gs-a", 1003, &t));
    assert_false(t.trial);
    mm_breaker_record(a, &t, true, 1003);
    mm_breaker_close(a);
    /* a process started later finds the same table */
    mm_breaker *c = mm_breaker_open(path, &cfg, w1, sizeof(w1));
    assert_true(mm_breaker_stats_of(c, "http://gs-a", &sa));
    assert_int_equal(sa.opens, 1);
    assert_int_equal(sa.refused, 3);
    mm_breaker_close(b);
    mm_breaker_close(c);
    mm_config_free(&cfg);
}

static void an_unusable_file_leaves_breakers_of_the_process_and_a_reason(void **state)
{
    (void)state;
    mm_config cfg;
    load(&cfg);
    char w[256];
    mm_breaker *b = mm_breaker_open("/nonexistent-dir/metrics.breakers", &cfg, w, sizeof(w));
    assert_non_null(b);
    assert_non_null(strstr(w, "/nonexistent-dir/metrics.breakers"));
    fail_once(b, "http://gs-g", 0);
    fail_once(b, "http://gs-g", 0);
    mm_breaker_ticket t;
    assert_false(mm_breaker_admit(b, "http://gs-g", 1, &t));
    mm_breaker_close(b);
    mm_breaker_close(NULL);
    mm_config_free(&cfg);
}

static void no_breaker_refuses_nothing(void **state)
{
    (void)state;
    mm_breaker_ticket t;
    assert_true(mm_breaker_admit(NULL, "http://gs-a", 0, &t));
    assert_int_equal(mm_breaker_record(NULL, &t, false, 0), MM_BREAKER_UNCHANGED);
    mm_breaker_stats s;
    assert_false(mm_breaker_stats_of(NULL, "http://gs-a", &s));
}

static void the_file_sits_beside_the_metrics(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(mm_breaker_path("/run/matchmaker/metrics", out, sizeof(out)), 0);
    assert_string_equal(out, "/run/matchmaker/metrics.breakers");
    assert_int_equal(mm_breaker_path("/run/matchmaker/metrics", out, 10), -1);
    assert_int_equal(mm_breaker_path("", out, sizeof(out)), -1);
    assert_int_equal(mm_breaker_path(NULL, out, sizeof(out)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opens_after_the_threshold_and_refuses_for_the_cooldown),
        cmocka_unit_test(an_answer_resets_the_count),
        cmocka_unit_test(a_successful_trial_closes_it),
        cmocka_unit_test(a_failed_trial_opens_it_for_another_cooldown),
        cmocka_unit_test(one_trial_at_a_time),
        cmocka_unit_test(a_trial_that_never_reports_is_replaced),
        cmocka_unit_test(failures_of_calls_under_way_change_nothing_once_open),
        cmocka_unit_test(a_threshold_of_one_opens_on_the_first_failure),
        cmocka_unit_test_setup_teardown(two_processes_share_each_game_servers_breaker, setup,
                                        teardown),
        cmocka_unit_test(an_unusable_file_leaves_breakers_of_the_process_and_a_reason),
        cmocka_unit_test(no_breaker_refuses_nothing),
        cmocka_unit_test(the_file_sits_beside_the_metrics),
    };
    return cmocka_run_group_tests_name("breaker", tests, NULL, NULL);
}
