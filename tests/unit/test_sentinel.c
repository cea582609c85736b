/* Sentinel discovery, the pure parts: "host:port" entries, master names, the replies to
 * SENTINEL get-master-addr-by-name and ROLE (bytes recorded from redis-sentinel and
 * redis-server 7.0, read by hiredis's own parser as rconn reads them), and the order the
 * sentinels are asked in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "sentinel.h"

/* The reply hiredis makes of the bytes raw; the caller frees it. */
static redisReply *reply_of_bytes(const char *raw, size_t len)
{
    redisReader *rd = redisReaderCreate();
    assert_non_null(rd);
    assert_int_equal(redisReaderFeed(rd, raw, len), REDIS_OK);
    void *r = NULL;
    assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
    assert_non_null(r);
    redisReaderFree(rd);
    return r;
}

static redisReply *reply_of(const char *raw)
{
    return reply_of_bytes(raw, strlen(raw));
}

typedef struct {
    const char *raw;
    const char *host;
    const char *why; /* a fragment of the reason, when refused */
    int ok;
    int port;
} master_row;

static const master_row master_rows[] = {
    /* recorded: a sentinel monitoring "mm" */
    {"*2\r\n$9\r\n127.0.0.1\r\n$5\r\n17001\r\n", "127.0.0.1", NULL, 1, 17001},
    /* recorded: the same sentinel asked for a name it does not monitor */
    {"*-1\r\n", NULL, "does not monitor", 0, 0},
    /* recorded: SENTINEL with a subcommand it does not know */
    {"-ERR unknown subcommand 'nope'. Try SENTINEL HELP.\r\n", NULL, "error", 0, 0},
    {"-NOAUTH Authentication required.\r\n", NULL, "error", 0, 0},
    {"*2\r\n$3\r\n::1\r\n$4\r\n6380\r\n", "::1", NULL, 1, 6380},
    {"*2\r\n$12\r\nredis-a.prod\r\n$4\r\n6379\r\n", "redis-a.prod", NULL, 1, 6379},
    {"*2\r\n$9\r\n127.0.0.1\r\n$5\r\n65535\r\n", "127.0.0.1", NULL, 1, 65535},
    {"*2\r\n$9\r\n127.0.0.1\r\n$1\r\n0\r\n", NULL, "port", 0, 0},
    {"*2\r\n$9\r\n127.0.0.1\r\n$5\r\n65536\r\n", NULL, "port", 0, 0},
    {"*2\r\n$9\r\n127.0.0.1\r\n$6\r\n100000\r\n", NULL, "[host, port]", 0, 0},
    {"*2\r\n$9\r\n127.0.0.1\r\n$4\r\n63a9\r\n", NULL, "port", 0, 0},
    {"*2\r\n$9\r\n127.0.0.1\r\n$0\r\n\r\n", NULL, "[host, port]", 0, 0},
    {"*2\r\n$9\r\n127.0.0.1\r\n:6379\r\n", NULL, "[host, port]", 0, 0},
    {"*2\r\n$0\r\n\r\n$4\r\n6379\r\n", NULL, "[host, port]", 0, 0},
    {"*2\r\n$5\r\nh ost\r\n$4\r\n6379\r\n", NULL, "invalid characters", 0, 0},
    {"*2\r\n$3\r\ng:1\r\n$4\r\n6379\r\n", NULL, "invalid characters", 0, 0},
    {"*2\r\n$11\r\nfe80::1%eth\r\n$4\r\n6379\r\n", NULL, "invalid characters", 0, 0},
    {"*2\r\n$7\r\n2001:db\r\n$4\r\n6379\r\n", "2001:db", NULL, 1, 6379},
    {"*3\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n$1\r\nx\r\n", NULL, "[host, port]", 0, 0},
    {"*1\r\n$9\r\n127.0.0.1\r\n", NULL, "[host, port]", 0, 0},
    {"*0\r\n", NULL, "[host, port]", 0, 0},
    {"+OK\r\n", NULL, "[host, port]", 0, 0},
    {":1\r\n", NULL, "[host, port]", 0, 0},
    {"$-1\r\n", NULL, "does not monitor", 0, 0},
};

static void master_replies(void **state)
{
    for (size_t i = 0; i < sizeof(master_rows) / sizeof(master_rows[0]); i++) {
        const master_row *row = &master_rows[i];
        redisReply *r = reply_of(row->raw);
        mm_redis_addr a;
        const char *why = NULL;
        mm_status st = mm_sentinel_master_reply(r, &a, &why);
        if (row->ok) {
            if (st != MM_OK)
                fail_msg("row %zu refused: %s", i, why);
            assert_string_equal(a.host, row->host);
            assert_int_equal(a.port, row->port);
        } else {
            if (st != MM_ERR_UNAVAILABLE)
                fail_msg("row %zu accepted", i);
            assert_non_null(why);
            if (strstr(why, row->why) == NULL)
                fail_msg("row %zu: \"%s\" lacks \"%s\"", i, why, row->why);
        }
        freeReplyObject(r);
    }
    mm_redis_addr a;
    const char *why = NULL;
    assert_int_equal(mm_sentinel_master_reply(NULL, &a, &why), MM_ERR_UNAVAILABLE);
    assert_non_null(why);
}

/* A host as long as an address may hold, and one byte longer; a host holding a NUL. */
static void master_reply_host_bound(void **state)
{
    static const char nul[] = "*2\r\n$3\r\nh\0t\r\n$4\r\n6379\r\n";
    redisReply *with_nul = reply_of_bytes(nul, sizeof(nul) - 1);
    mm_redis_addr b;
    const char *bad = NULL;
    assert_int_equal(mm_sentinel_master_reply(with_nul, &b, &bad), MM_ERR_UNAVAILABLE);
    freeReplyObject(with_nul);
    char raw[1024], host[MM_REDIS_HOST_MAX + 2];
    for (size_t extra = 0; extra < 2; extra++) {
        size_t n = MM_REDIS_HOST_MAX + extra;
        memset(host, 'h', n);
        host[n] = '\0';
        snprintf(raw, sizeof(raw), "*2\r\n$%zu\r\n%s\r\n$4\r\n6379\r\n", n, host);
        redisReply *r = reply_of(raw);
        mm_redis_addr a;
        const char *why = NULL;
        assert_int_equal(mm_sentinel_master_reply(r, &a, &why),
                         extra == 0 ? MM_OK : MM_ERR_UNAVAILABLE);
        if (extra == 0)
            assert_int_equal(strlen(a.host), MM_REDIS_HOST_MAX);
        freeReplyObject(r);
    }
}

typedef struct {
    const char *raw;
    mm_redis_role role;
} role_row;

static const role_row role_rows[] = {
    /* recorded: a primary with one replica */
    {"*3\r\n$6\r\nmaster\r\n:1957\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$5\r\n17002\r\n$4\r\n1957\r\n",
     MM_ROLE_MASTER},
    /* recorded: the replica promoted by a failover, its replica not back yet */
    {"*3\r\n$6\r\nmaster\r\n:5464\r\n*0\r\n", MM_ROLE_MASTER},
    /* recorded: a replica in sync, and one still in its handshake */
    {"*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:17001\r\n$9\r\nconnected\r\n:2341\r\n",
     MM_ROLE_REPLICA},
    {"*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:17001\r\n$9\r\nhandshake\r\n:-1\r\n",
     MM_ROLE_REPLICA},
    {"*5\r\n$7\r\nreplica\r\n$9\r\n127.0.0.1\r\n:17001\r\n$9\r\nconnected\r\n:1\r\n",
     MM_ROLE_REPLICA},
    /* recorded: a sentinel asked ROLE */
    {"*2\r\n$8\r\nsentinel\r\n*1\r\n$2\r\nmm\r\n", MM_ROLE_SENTINEL},
    {"-NOAUTH Authentication required.\r\n", MM_ROLE_UNKNOWN},
    {"-ERR unknown command 'ROLE'\r\n", MM_ROLE_UNKNOWN},
    {"+OK\r\n", MM_ROLE_UNKNOWN},
    {"*0\r\n", MM_ROLE_UNKNOWN},
    {"*-1\r\n", MM_ROLE_UNKNOWN},
    {"*1\r\n:1\r\n", MM_ROLE_UNKNOWN},
    {"*1\r\n$7\r\nmasters\r\n", MM_ROLE_UNKNOWN},
    {"*1\r\n$5\r\nmaste\r\n", MM_ROLE_UNKNOWN},
    {"*1\r\n$6\r\nMASTER\r\n", MM_ROLE_UNKNOWN},
    {"$6\r\nmaster\r\n", MM_ROLE_UNKNOWN},
};

static void role_replies(void **state)
{
    for (size_t i = 0; i < sizeof(role_rows) / sizeof(role_rows[0]); i++) {
        redisReply *r = reply_of(role_rows[i].raw);
        if (mm_sentinel_role_reply(r) != role_rows[i].role)
            fail_msg("row %zu: role %s, expected %s", i,
                     mm_redis_role_name(mm_sentinel_role_reply(r)),
                     mm_redis_role_name(role_rows[i].role));
        freeReplyObject(r);
    }
    assert_int_equal(mm_sentinel_role_reply(NULL), MM_ROLE_UNKNOWN);
    assert_string_equal(mm_redis_role_name(MM_ROLE_MASTER), "master");
    assert_string_equal(mm_redis_role_name(MM_ROLE_REPLICA), "replica");
    assert_string_equal(mm_redis_role_name(MM_ROLE_SENTINEL), "sentinel");
    assert_string_equal(mm_redis_role_name(MM_ROLE_UNKNOWN), "unknown");
}

typedef struct {
    const char *text;
    const char *host;
    const char *formatted; /* mm_redis_addr_format of the result */
    int ok;
    int port;
} addr_row;

static const addr_row addr_rows[] = {
    {"127.0.0.1:26379", "127.0.0.1", "127.0.0.1:26379", 1, 26379},
    {"sentinel-a.internal:1", "sentinel-a.internal", "sentinel-a.internal:1", 1, 1},
    {"s_1:65535", "s_1", "s_1:65535", 1, 65535},
    {"[::1]:26379", "::1", "[::1]:26379", 1, 26379},
    {"[2001:db8::7]:5", "2001:db8::7", "[2001:db8::7]:5", 1, 5},
    {"", NULL, NULL, 0, 0},
    {"h", NULL, NULL, 0, 0},
    {"h:", NULL, NULL, 0, 0},
    {":26379", NULL, NULL, 0, 0},
    {"h:0", NULL, NULL, 0, 0},
    {"h:65536", NULL, NULL, 0, 0},
    {"h:123456", NULL, NULL, 0, 0},
    {"h:-1", NULL, NULL, 0, 0},
    {"h:+1", NULL, NULL, 0, 0},
    {"h:1 ", NULL, NULL, 0, 0},
    {"h :1", NULL, NULL, 0, 0},
    {"h/x:1", NULL, NULL, 0, 0},
    {"u@h:1", NULL, NULL, 0, 0},
    {"::1:26379", NULL, NULL, 0, 0},
    {"[::1]", NULL, NULL, 0, 0},
    {"[::1]26379", NULL, NULL, 0, 0},
    {"[::1", NULL, NULL, 0, 0},
    {"[]:1", NULL, NULL, 0, 0},
    {"[::g]:1", NULL, NULL, 0, 0},
    {"redis://h:1", NULL, NULL, 0, 0},
};

static void addresses(void **state)
{
    for (size_t i = 0; i < sizeof(addr_rows) / sizeof(addr_rows[0]); i++) {
        const addr_row *row = &addr_rows[i];
        mm_redis_addr a;
        char err[128] = "";
        mm_status st = mm_redis_addr_parse(row->text, strlen(row->text), &a, err, sizeof(err));
        if ((st == MM_OK) != row->ok)
            fail_msg("\"%s\": %s", row->text, st == MM_OK ? "accepted" : err);
        if (!row->ok) {
            assert_true(err[0] != '\0');
            continue;
        }
        assert_string_equal(a.host, row->host);
        assert_int_equal(a.port, row->port);
        char text[MM_REDIS_ADDR_TEXT_MAX];
        mm_redis_addr_format(&a, text, sizeof(text));
        assert_string_equal(text, row->formatted);
    }
    /* only len bytes are read */
    mm_redis_addr a;
    char err[128];
    assert_int_equal(mm_redis_addr_parse("h:12345", 4, &a, err, sizeof(err)), MM_OK);
    assert_int_equal(a.port, 12);
    /* the longest host, and a format cut short */
    char text[MM_REDIS_HOST_MAX + 16];
    memset(text, 'a', MM_REDIS_HOST_MAX);
    memcpy(text + MM_REDIS_HOST_MAX, ":9", 3);
    assert_int_equal(mm_redis_addr_parse(text, strlen(text), &a, err, sizeof(err)), MM_OK);
    memcpy(text + MM_REDIS_HOST_MAX, "a:9", 4);
    assert_int_equal(mm_redis_addr_parse(text, strlen(text), &a, err, sizeof(err)), MM_ERR_INVALID);
    mm_redis_addr v6 = {.port = 65535};
    memset(v6.host, ':', MM_REDIS_HOST_MAX);
    v6.host[MM_REDIS_HOST_MAX] = '\0';
    char longest[MM_REDIS_ADDR_TEXT_MAX];
    mm_redis_addr_format(&v6, longest, sizeof(longest));
    assert_int_equal(strlen(longest), MM_REDIS_ADDR_TEXT_MAX - 1);
    char small[8];
    mm_redis_addr_format(&v6, small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void master_names(void **state)
{
    static const struct {
        const char *name;
        int ok;
    } rows[] = {
        {"mm", 1},  {"mymaster", 1}, {"a.b-c_D9", 1}, {"", 0},   {"m m", 0},
        {"m/m", 0}, {"m\tm", 0},     {"m\"", 0},      {"mé", 0}, {"m:1", 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (mm_sentinel_name_valid(rows[i].name, strlen(rows[i].name)) != rows[i].ok)
            fail_msg("\"%s\"", rows[i].name);
    char name[MM_SENTINEL_NAME_MAX + 2];
    memset(name, 'n', sizeof(name));
    assert_true(mm_sentinel_name_valid(name, MM_SENTINEL_NAME_MAX));
    assert_false(mm_sentinel_name_valid(name, MM_SENTINEL_NAME_MAX + 1));
}

/* Rounds of asking: each sentinel at most once per round, the one whose answer proved
 * right first next time, a round that found nothing followed by one that starts after the
 * last sentinel it asked. */
static void the_order_of_asking(void **state)
{
    mm_sentinel_cursor cur = {.n = 3, .first = 0};
    size_t order[3];
    for (size_t k = 0; k < 3; k++)
        order[k] = mm_sentinel_pick(&cur, cur.first, k);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 2);
    /* the second answered with the primary: it is asked first from now on */
    mm_sentinel_round_done(&cur, 0, 2, 1);
    assert_int_equal(cur.first, 1);
    assert_int_equal(mm_sentinel_pick(&cur, cur.first, 0), 1);
    assert_int_equal(mm_sentinel_pick(&cur, cur.first, 1), 2);
    assert_int_equal(mm_sentinel_pick(&cur, cur.first, 2), 0);
    /* the first asked hung until the time ran out: the next round starts after it */
    mm_sentinel_round_done(&cur, 1, 1, cur.n);
    assert_int_equal(cur.first, 2);
    /* two asked (one refused, one hung): after both */
    mm_sentinel_round_done(&cur, 2, 2, cur.n);
    assert_int_equal(cur.first, 1);
    /* all asked, none found (each named the dead primary during a failover): from where
     * the round started, which was as good as any */
    mm_sentinel_round_done(&cur, 1, 3, cur.n);
    assert_int_equal(cur.first, 1);
    /* no time to ask any */
    mm_sentinel_round_done(&cur, 1, 0, cur.n);
    assert_int_equal(cur.first, 1);
    /* one sentinel: always that one */
    mm_sentinel_cursor one = {.n = 1, .first = 0};
    assert_int_equal(mm_sentinel_pick(&one, 0, 0), 0);
    mm_sentinel_round_done(&one, 0, 1, 1);
    assert_int_equal(one.first, 0);
    /* none configured: nothing moves */
    mm_sentinel_cursor none = {.n = 0, .first = 0};
    assert_int_equal(mm_sentinel_pick(&none, 0, 5), 0);
    mm_sentinel_round_done(&none, 0, 0, 0);
    assert_int_equal(none.first, 0);
    /* sentinels that each hang in turn: every one stands first once over n rounds */
    mm_sentinel_cursor sixteen = {.n = MM_SENTINELS_MAX, .first = 0};
    int seen[MM_SENTINELS_MAX] = {0};
    for (int round = 0; round < MM_SENTINELS_MAX; round++) {
        seen[sixteen.first]++;
        mm_sentinel_round_done(&sixteen, sixteen.first, 1, sixteen.n);
    }
    for (int i = 0; i < MM_SENTINELS_MAX; i++)
        assert_int_equal(seen[i], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(master_replies), cmocka_unit_test(master_reply_host_bound),
        cmocka_unit_test(role_replies),   cmocka_unit_test(addresses),
        cmocka_unit_test(master_names),   cmocka_unit_test(the_order_of_asking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
