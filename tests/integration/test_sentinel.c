/* SPEC 14: an mm_rconn finds the primary through real redis-sentinel processes, follows a
 * failover with no restart, passes over sentinels that are down or hang, and finds the
 * primary again after a READONLY reply. test_sentinel.sh starts the deployment
 * (scripts/sentinel.sh: a primary, a replica, three sentinels on free loopback ports) and a
 * second pair, A and its replica B, that only the first sentinel knows, as "ro". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "rconn.h"
#include "store_set.h"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        fail_msg("%s is not set (run through test_sentinel.sh)", name);
    return v;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Appends 127.0.0.1:port to the sentinels of s. */
static void add_sentinel(mm_sentinel_set *s, int port)
{
    assert_true(s->n < MM_SENTINELS_MAX);
    snprintf(s->addrs[s->n].host, sizeof(s->addrs[s->n].host), "127.0.0.1");
    s->addrs[s->n].port = port;
    s->n++;
}

/* The deployment's sentinels (MM_SENTINEL_PORTS: ports separated by spaces). */
static void add_deployment(mm_sentinel_set *s)
{
    const char *p = env("MM_SENTINEL_PORTS");
    for (;;) {
        char *end;
        long port = strtol(p, &end, 10);
        if (end == p)
            break;
        add_sentinel(s, (int)port);
        p = end;
    }
    assert_true(s->n >= 3);
}

/* A connection through s to url (whose address is never used), timeout_ms. */
static mm_rconn *open_via(const mm_sentinel_set *s, const char *url, long timeout_ms)
{
    mm_redis_target t;
    char err[160];
    if (mm_redis_target_make(url, s, &t, err, sizeof(err)) != MM_OK)
        fail_msg("target: %s", err);
    mm_rconn *c = mm_rconn_new_target(&t, timeout_ms);
    assert_non_null(c);
    return c;
}

static redisContext *raw(int port)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    assert_non_null(c);
    if (c->err)
        fail_msg("cannot reach 127.0.0.1:%d: %s", port, c->errstr);
    redisSetTimeout(c, tv);
    return c;
}

/* Runs a command on a raw connection and checks it did not fail. */
static void must(redisContext *c, const char *cmd)
{
    redisReply *r = redisCommand(c, cmd);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        fail_msg("%s: %s", cmd, r ? r->str : c->errstr);
    freeReplyObject(r);
}

/* GET key in db on the server at port, as a malloc'd string or NULL. */
static char *get_at(int port, int db, const char *key)
{
    redisContext *c = raw(port);
    char sel[32];
    snprintf(sel, sizeof(sel), "SELECT %d", db);
    must(c, sel);
    redisReply *r = redisCommand(c, "GET %s", key);
    assert_non_null(r);
    char *v = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    redisFree(c);
    return v;
}

static int port_of(const char *peer)
{
    const char *colon = strrchr(peer, ':');
    return colon ? (int)strtol(colon + 1, NULL, 10) : 0;
}

/* A write sent once (as the store's scripts are). */
static redisReply *set_once(mm_rconn *c, const char *key, const char *value)
{
    const char *argv[] = {"SET", key, value};
    return mm_rconn_command_argv(c, MM_RCONN_ONCE, 3, argv, NULL);
}

/* The deployment's primary found, named, used; the URL's address is not used (it names
 * nothing), its database is. */
static void finds_the_primary_and_names_it(void **state)
{
    mm_sentinel_set s = {.n = 0};
    add_deployment(&s);
    snprintf(s.master_name, sizeof(s.master_name), "%s", env("MM_SENTINEL_MASTER"));
    mm_rconn *c = open_via(&s, "redis://nowhere.invalid:1/3", 500);
    assert_string_equal(mm_rconn_peer(c), "");
    assert_int_equal(mm_rconn_ping(c), MM_OK);
    int primary = (int)strtol(env("MM_SENTINEL_PRIMARY_PORT"), NULL, 10);
    assert_int_equal(port_of(mm_rconn_peer(c)), primary);
    redisReply *r = set_once(c, "sentinel:db3", "yes");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    char *v = get_at(primary, 3, "sentinel:db3");
    assert_non_null(v);
    assert_string_equal(v, "yes");
    free(v);
    assert_int_equal(mm_rconn_errors(c), 0);
    mm_rconn_free(c);
}

/* SPEC 14, a product's own deployment: with the global pair on the deployment, a product
 * that names another master (known to the first sentinel alone, "ro") is served by that
 * master's primary, one with a Redis URL of its own by that address, the others by the
 * deployment's primary; the products that share a deployment share its store. */
static void products_reach_their_own_deployments(void **state)
{
    (void)state;
    char list[256] = "", doc[2048], err[256] = "";
    const char *p = env("MM_SENTINEL_PORTS");
    for (;;) {
        char *end;
        long port = strtol(p, &end, 10);
        if (end == p)
            break;
        size_t n = strlen(list);
        snprintf(list + n, sizeof(list) - n, "%s\"127.0.0.1:%ld\"", n ? "," : "", port);
        p = end;
    }
    int ro = (int)strtol(env("MM_RO_PRIMARY_PORT"), NULL, 10);
    int ro_replica = (int)strtol(env("MM_RO_REPLICA_PORT"), NULL, 10);
#define PRODUCT(id) "{\"product_id\":\"" id "\",\"game_server_url\":\"http://g\",\"game_socket_url\":\"g:1\""
    snprintf(doc, sizeof(doc),
             "{\"redis_url\":\"redis://nowhere.invalid:1/0\",\"redis_sentinels\":[%s],"
             "\"redis_master_name\":\"%s\",\"products\":["
             PRODUCT("main") "}," PRODUCT("also_main") "},"
             PRODUCT("big") ",\"redis_master_name\":\"ro\"},"
             PRODUCT("own") ",\"redis_url\":\"redis://127.0.0.1:%d/0\"}]}",
             list, env("MM_SENTINEL_MASTER"), ro_replica);
#undef PRODUCT
    mm_config cfg;
    if (mm_config_parse(doc, strlen(doc), &cfg, err, sizeof(err)) != MM_OK)
        fail_msg("config: %s", err);
    mm_store_set *set = mm_store_set_new(&cfg, 1000, err, sizeof(err));
    if (set == NULL)
        fail_msg("store set: %s", err);
    assert_int_equal(mm_store_set_count(set), 3);
    int want[] = {(int)strtol(env("MM_SENTINEL_PRIMARY_PORT"), NULL, 10), 0, ro, ro_replica};
    want[1] = want[0];
    /* a write through each product's store lands on the server that product names; "own"
     * names a replica, the one server here that refuses writes */
    mm_arena *a = mm_arena_new(0);
    for (size_t i = 0; i < cfg.nproducts; i++) {
        char key[64];
        snprintf(key, sizeof(key), "mm-probe:%s", cfg.products[i].product_id);
        const char *held;
        size_t held_len;
        mm_store_result r = mm_store_idem_claim(mm_store_set_for(set, &cfg.products[i]), a, key,
                                                "here", 60000, &held, &held_len);
        if (want[i] == ro_replica) {
            assert_int_equal(r, MM_STORE_UNAVAILABLE);
            continue;
        }
        assert_int_equal(r, MM_STORE_OK);
        char *v = get_at(want[i], 0, key);
        if (v == NULL || strcmp(v, "here") != 0)
            fail_msg("%s: its write is not on port %d", cfg.products[i].product_id, want[i]);
        free(v);
    }
    mm_arena_free(a);
    assert_ptr_equal(mm_store_set_for(set, &cfg.products[0]),
                     mm_store_set_for(set, &cfg.products[1]));
    assert_ptr_equal(mm_store_set_for(set, NULL), mm_store_set_for(set, &cfg.products[0]));
    mm_store_set_free(set);
    mm_config_free(&cfg);
}

/* A name no sentinel monitors: unavailable, quickly, and no crash on the nil reply. */
static void an_unknown_master_name_is_unavailable(void **state)
{
    mm_sentinel_set s = {.n = 0};
    add_deployment(&s);
    snprintf(s.master_name, sizeof(s.master_name), "nobody-monitors-this");
    mm_rconn *c = open_via(&s, "redis://x/0", 500);
    double t0 = now_s();
    assert_int_equal(mm_rconn_ping(c), MM_ERR_UNAVAILABLE);
    assert_true(now_s() - t0 < 0.6);
    assert_true(mm_rconn_errors(c) >= 1);
    assert_string_equal(mm_rconn_peer(c), "");
    mm_rconn_free(c);
}

/* A port of 127.0.0.1 with a listener that never accepts: connects succeed (the kernel
 * completes them), nothing is ever answered. */
static int hanging_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A port of 127.0.0.1 nothing listens on. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Sentinels listed first that refuse connections or hang: a connect never takes longer
 * than the timeout, and a hanging sentinel costs one round, after which the next round
 * starts past it. */
static void passes_over_sentinels_that_are_down_or_hang(void **state)
{
    int hang_port, hang = hanging_listener(&hang_port);
    mm_sentinel_set s = {.n = 0};
    add_sentinel(&s, closed_port());
    add_sentinel(&s, hang_port);
    add_deployment(&s);
    snprintf(s.master_name, sizeof(s.master_name), "%s", env("MM_SENTINEL_MASTER"));
    mm_rconn *c = open_via(&s, "redis://x/0", 300);
    /* refused at once, then the hanging one takes what is left of the 300 ms */
    double t0 = now_s();
    assert_int_equal(mm_rconn_ping(c), MM_ERR_UNAVAILABLE);
    double took = now_s() - t0;
    print_message("a round ending on a hanging sentinel took %.3f s (timeout 0.3 s)\n", took);
    assert_true(took >= 0.25 && took < 0.6);
    /* for 100 ms the sentinels are not asked again: calls fail at once */
    t0 = now_s();
    assert_int_equal(mm_rconn_ping(c), MM_ERR_UNAVAILABLE);
    assert_true(now_s() - t0 < 0.02);
    sleep_ms(150);
    /* the next round starts after the hanging one: the deployment's sentinels answer */
    t0 = now_s();
    assert_int_equal(mm_rconn_ping(c), MM_OK);
    assert_true(now_s() - t0 < 0.3);
    assert_int_equal(port_of(mm_rconn_peer(c)),
                     (int)strtol(env("MM_SENTINEL_PRIMARY_PORT"), NULL, 10));
    /* and it is asked first from now on: a reconnect asks neither bad one */
    mm_rconn_drop(c);
    t0 = now_s();
    assert_int_equal(mm_rconn_ping(c), MM_OK);
    assert_true(now_s() - t0 < 0.2);
    mm_rconn_free(c);
    close(hang);
}

/* A plain URL naming a replica: a write is answered READONLY; the connection is dropped
 * (so the next call reconnects) and the write fails as Redis unavailable, not as an error
 * reply a caller would take for a bug. Reads still work there. */
static void readonly_on_a_plain_url_drops_the_connection(void **state)
{
    char url[64], err[128];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%s/0", env("MM_RO_REPLICA_PORT"));
    mm_redis_url u;
    assert_int_equal(mm_redis_url_parse(url, &u, err, sizeof(err)), MM_OK);
    mm_rconn *c = mm_rconn_new(&u, 500);
    redisReply *r = mm_rconn_command(c, "GET nothing");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    unsigned long errors = mm_rconn_errors(c);
    assert_null(set_once(c, "k", "v"));
    assert_string_equal(mm_rconn_peer(c), "");
    /* refused twice: once on the connection it had, once on the one made again */
    assert_int_equal(mm_rconn_errors(c), errors + 2);
    assert_null(mm_rconn_command(c, "SET k v"));
    mm_rconn_free(c);
}

/* The "ro" pair: connected to A as the primary, then A is demoted and B promoted behind
 * the connection's back (the connection stays open, as when a sentinel's CLIENT KILL
 * does not reach it), and the sentinel repointed. The next write is answered READONLY by
 * A, the primary is found again (B), and the write is done there, in the same call. */
static void readonly_reply_finds_the_primary_again(void **state)
{
    int sentinel = (int)strtol(env("MM_RO_SENTINEL_PORT"), NULL, 10);
    int a = (int)strtol(env("MM_RO_PRIMARY_PORT"), NULL, 10);
    int b = (int)strtol(env("MM_RO_REPLICA_PORT"), NULL, 10);
    mm_sentinel_set s = {.n = 0};
    add_sentinel(&s, sentinel);
    snprintf(s.master_name, sizeof(s.master_name), "ro");
    mm_rconn *c = open_via(&s, "redis://x/0", 500);
    redisReply *r = set_once(c, "ro:before", "1");
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(port_of(mm_rconn_peer(c)), a);

    redisContext *rb = raw(b), *ra = raw(a), *rs = raw(sentinel);
    must(rb, "REPLICAOF NO ONE");
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "REPLICAOF 127.0.0.1 %d", b);
    must(ra, cmd);
    must(rs, "SENTINEL REMOVE ro");
    snprintf(cmd, sizeof(cmd), "SENTINEL MONITOR ro 127.0.0.1 %d 1", b);
    must(rs, cmd);
    must(rs, "SENTINEL SET ro down-after-milliseconds 60000");
    /* A is a replica now (its link to B may still be coming up) */
    for (int i = 0; i < 50; i++) {
        redisReply *role = redisCommand(ra, "ROLE");
        int replica = role != NULL && role->type == REDIS_REPLY_ARRAY &&
                      strcmp(role->element[0]->str, "slave") == 0;
        freeReplyObject(role);
        if (replica)
            break;
        sleep_ms(100);
    }

    unsigned long errors = mm_rconn_errors(c);
    r = set_once(c, "ro:after", "2");
    assert_non_null(r);
    if (r->type != REDIS_REPLY_STATUS)
        fail_msg("the write after the demotion answered %s", r->str ? r->str : "?");
    freeReplyObject(r);
    assert_int_equal(port_of(mm_rconn_peer(c)), b);
    assert_int_equal(mm_rconn_errors(c), errors + 1); /* the READONLY */
    char *v = get_at(b, 0, "ro:after");
    assert_non_null(v);
    assert_string_equal(v, "2");
    free(v);
    redisFree(ra);
    redisFree(rb);
    redisFree(rs);
    mm_rconn_free(c);
}

/* The primary SIGKILLed: commands fail (fast) while the sentinels fail over, then reach
 * the new primary on the same mm_rconn, with what was written before the kill (it had
 * reached the replica: WAIT). */
static void failover_reaches_the_new_primary_without_restart(void **state)
{
    mm_sentinel_set s = {.n = 0};
    add_deployment(&s);
    snprintf(s.master_name, sizeof(s.master_name), "%s", env("MM_SENTINEL_MASTER"));
    mm_rconn *c = open_via(&s, "redis://x/0", 500);
    redisReply *r = set_once(c, "failover:before", "kept");
    assert_non_null(r);
    freeReplyObject(r);
    r = mm_rconn_command(c, "WAIT 1 2000");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    int old = port_of(mm_rconn_peer(c));

    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' kill-primary '%s' >/dev/null", env("MM_SENTINEL_SH"),
             env("MM_SENTINEL_DIR"));
    assert_int_equal(system(cmd), 0);
    double t0 = now_s(), first_ok = 0, slowest = 0;
    long failed = 0;
    while (now_s() - t0 < 30) {
        double c0 = now_s();
        r = set_once(c, "failover:after", "written");
        double took = now_s() - c0;
        if (took > slowest)
            slowest = took;
        if (r != NULL && r->type == REDIS_REPLY_STATUS) {
            first_ok = now_s();
            freeReplyObject(r);
            break;
        }
        if (r != NULL)
            fail_msg("a write during the failover answered an error reply: %s", r->str);
        failed++;
        sleep_ms(50);
    }
    if (first_ok == 0)
        fail_msg("no write succeeded within 30 s of the kill");
    print_message("writes failed for %.2f s after the kill (%ld failed, slowest %.3f s)\n",
                  first_ok - t0, failed, slowest);
    assert_true(failed >= 1);
    assert_true(slowest < 1.1); /* connect and command, each within the 500 ms timeout */
    int now = port_of(mm_rconn_peer(c));
    assert_int_not_equal(now, old);
    assert_int_equal(now, (int)strtol(env("MM_SENTINEL_REPLICA_PORTS"), NULL, 10));
    char *v = get_at(now, 0, "failover:before");
    assert_non_null(v);
    assert_string_equal(v, "kept");
    free(v);
    v = get_at(now, 0, "failover:after");
    assert_non_null(v);
    free(v);
    redisContext *rn = raw(now);
    redisReply *role = redisCommand(rn, "ROLE");
    assert_string_equal(role->element[0]->str, "master");
    freeReplyObject(role);
    redisFree(rn);
    mm_rconn_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_the_primary_and_names_it),
        cmocka_unit_test(products_reach_their_own_deployments),
        cmocka_unit_test(an_unknown_master_name_is_unavailable),
        cmocka_unit_test(passes_over_sentinels_that_are_down_or_hang),
        cmocka_unit_test(readonly_on_a_plain_url_drops_the_connection),
        cmocka_unit_test(readonly_reply_finds_the_primary_again),
        /* last: the deployment has lost its primary after it */
        cmocka_unit_test(failover_reaches_the_new_primary_without_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
