/* Config loader: defaults, every refusal case, environment overrides. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define P1                                                                                         \
    "{\"product_id\":\"exrps\",\"game_server_url\":\"http://127.0.0.1:8080/\","                    \
    "\"game_socket_url\":\"127.0.0.1:8085\"}"

/* 107 characters: with the leading '/', one byte more than a socket address holds */
#define LONG_PATH                                                                                  \
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"  \
    "1234567890123456"

static mm_status parse(const char *json, mm_config *c, char *err, size_t errlen)
{
    return mm_config_parse(json, strlen(json), c, err, errlen);
}

static void minimal_config_gets_the_spec_defaults(void **state)
{
    mm_config c;
    char err[256] = "";
    assert_int_equal(parse("{\"products\":[" P1 "]}", &c, err, sizeof(err)), MM_OK);
    assert_string_equal(c.redis_url, "redis://127.0.0.1:6379/0");
    assert_string_equal(c.event_stream_url, "redis://127.0.0.1:6379/1");
    assert_string_equal(c.secret_key, ""); /* none: mm_config_load refuses to go on */
    assert_string_equal(c.cors_allow_origin, "*");
    assert_string_equal(c.event_group, "matchmaker");
    assert_int_equal(c.lobby_default_page_size, 10);
    assert_int_equal(c.lobby_max_page_size, 25);
    assert_int_equal(c.game_server_connect_timeout_ms, 1000);
    assert_int_equal(c.game_server_timeout_ms, 3000);
    assert_int_equal(c.redis_timeout_ms, 500);
    assert_int_equal(c.curation_interval_ms, 1000);
    assert_int_equal(c.curation_batch_size, 100);
    assert_int_equal(c.event_claim_idle_ms, 30000);
    assert_string_equal(c.metrics_file, "/run/matchmaker/metrics");
    assert_int_equal(c.worker_metrics_port, 5051);
    assert_string_equal(c.worker_metrics_address, "127.0.0.1");
    assert_string_equal(c.lobby_publisher, "unix:/run/matchmaker-live/publish.sock");
    assert_int_equal(c.lobby_publish_timeout_ms, 200);
    assert_int_equal(c.expiry_seconds[MM_STATE_CREATED], 60);
    assert_int_equal(c.expiry_seconds[MM_STATE_CREATOR_JOINED], 60);
    assert_int_equal(c.expiry_seconds[MM_STATE_ALL_PLAYERS_JOINED], 600);
    assert_int_equal(c.expiry_seconds[MM_STATE_IN_PROGRESS], 1200);
    assert_int_equal(c.expiry_seconds[MM_STATE_ENDED], 300);
    assert_int_equal(c.log_level, MM_LOG_INFO);
    assert_false(c.bench_noop_route);
    assert_int_equal(c.nproducts, 1);
    assert_string_equal(c.products[0].product_id, "exrps");
    assert_string_equal(c.products[0].game_server_url, "http://127.0.0.1:8080");
    assert_string_equal(c.products[0].game_socket_url, "127.0.0.1:8085");
    assert_int_equal(c.products[0].num_players, 2);
    assert_string_equal(c.products[0].settings_json, "{\"num_players\":2}");
    assert_non_null(mm_config_product(&c, "exrps", 5));
    assert_null(mm_config_product(&c, "exrp", 4));
    assert_null(mm_config_product(&c, "exrpsx", 6));
    mm_config_free(&c);
}

static void full_config_is_read(void **state)
{
    static const char doc[] =
        "{\"redis_url\":\"unix:///tmp/r.sock?db=3\",\"event_stream_url\":\"redis://:pw@h:7/2\","
        "\"secret_key\":\"s3\",\"lobby_default_page_size\":5,\"lobby_max_page_size\":50,"
        "\"game_server_connect_timeout_ms\":10,\"game_server_timeout_ms\":20,"
        "\"redis_timeout_ms\":30,\"expiry_seconds\":{\"created\":1,\"ended\":9},"
        "\"curation_interval_ms\":100,\"curation_batch_size\":7,\"log_level\":\"debug\","
        "\"event_claim_idle_ms\":1000,\"bench_noop_route\":true,\"event_group\":\"g\","
        "\"cors_allow_origin\":\"https://x\","
        "\"products\":[" P1 ",{\"product_id\":\"p-2_B\",\"game_server_url\":\"https://gs\","
        "\"game_socket_url\":\"ws\",\"settings\":{\"num_players\":64,\"mode\":\"fast\"}}]}";
    mm_config c;
    char err[256] = "";
    assert_int_equal(parse(doc, &c, err, sizeof(err)), MM_OK);
    assert_string_equal(c.redis_url, "unix:///tmp/r.sock?db=3");
    assert_int_equal(c.lobby_max_page_size, 50);
    assert_int_equal(c.expiry_seconds[MM_STATE_CREATED], 1);
    assert_int_equal(c.expiry_seconds[MM_STATE_CREATOR_JOINED], 60);
    assert_int_equal(c.expiry_seconds[MM_STATE_ENDED], 9);
    assert_int_equal(c.log_level, MM_LOG_DEBUG);
    assert_true(c.bench_noop_route);
    assert_int_equal(c.nproducts, 2);
    const mm_product *p = mm_config_product(&c, "p-2_B", 5);
    assert_non_null(p);
    assert_int_equal(p->num_players, 64);
    /* as written: the key order is kept */
    assert_string_equal(p->settings_json, "{\"num_players\":64,\"mode\":\"fast\"}");
    mm_config_free(&c);
}

/* A product's settings keep what they hold: arrays stay arrays, big integers keep every
 * digit (up to the edges of what json-c holds; beyond them, refused: see the refusals),
 * nested objects and unicode are kept, keys stay in their order (num_players where it was
 * written), and "/" is not escaped. */
static void settings_are_kept_as_written(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"products\":[{\"product_id\":\"p\",\"game_server_url\":\"http://gs\","
        "\"game_socket_url\":\"ws\",\"settings\":{\"maps\":[],\"num_players\":4,"
        "\"seed\":12345678901234567,\"big\":18446744073709551614,"
        "\"low\":-9223372036854775807,\"rules\":{\"names\":[\"\xc3\xa9t\xc3\xa9\",\"a/b\"],"
        "\"ratio\":0.50},\"z\":{}}},"
        "{\"product_id\":\"q\",\"game_server_url\":\"http://gs\",\"game_socket_url\":\"ws\","
        "\"settings\":{\"mode\":\"x\"}}]}";
    mm_config c;
    char err[256] = "";
    assert_int_equal(parse(doc, &c, err, sizeof(err)), MM_OK);
    assert_string_equal(c.products[0].settings_json,
                        "{\"maps\":[],\"num_players\":4,\"seed\":12345678901234567,"
                        "\"big\":18446744073709551614,\"low\":-9223372036854775807,"
                        "\"rules\":{\"names\":[\"\xc3\xa9t\xc3\xa9\",\"a/b\"],\"ratio\":0.50},"
                        "\"z\":{}}");
    assert_int_equal(c.products[0].num_players, 4);
    /* without num_players, the default capacity is added last */
    assert_string_equal(c.products[1].settings_json, "{\"mode\":\"x\",\"num_players\":2}");
    mm_config_free(&c);
}

typedef struct {
    const char *doc;
    const char *expect; /* a fragment of the one-line error */
} refusal;

static const refusal refusals[] = {
    {"", "not valid JSON"},
    {"{", "not valid JSON"},
    {"[]", "must be a JSON object"},
    {"{\"products\":[" P1 "]} x", "not valid JSON"},
    {"{}", "\"products\" is missing"},
    {"{\"products\":[]}", "\"products\" is empty"},
    {"{\"products\":{}}", "\"products\" must be an array"},
    {"{\"products\":[1]}", "products[0] must be an object"},
    {"{\"products\":[{\"game_server_url\":\"http://a\",\"game_socket_url\":\"b\"}]}",
     "products[0] has no product_id"},
    {"{\"products\":[{\"product_id\":\"a\",\"game_socket_url\":\"b\"}]}",
     "\"a\" has no game_server_url"},
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"http://a\"}]}",
     "\"a\" has no game_socket_url"},
    {"{\"products\":[{\"product_id\":\"a b\",\"game_server_url\":\"http://a\","
     "\"game_socket_url\":\"b\"}]}",
     "product_id must be"},
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"ftp://a\","
     "\"game_socket_url\":\"b\"}]}",
     "must be an http:// or https:// URL"},
    /* found by tests/fuzz/fuzz_config: only slashes after the scheme left "http:" */
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"http:///\","
     "\"game_socket_url\":\"b\"}]}",
     "must be an http:// or https:// URL with a host"},
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"https:////\","
     "\"game_socket_url\":\"b\"}]}",
     "must be an http:// or https:// URL with a host"},
    {"{\"products\":[{\"product_id\":7,\"game_server_url\":\"http://a\","
     "\"game_socket_url\":\"b\"}]}",
     "product_id must be a string"},
    {"{\"products\":[" P1 "," P1 "]}", "duplicate product_id \"exrps\""},
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"http://a\","
     "\"game_socket_url\":\"b\",\"settings\":{\"num_players\":1}}]}",
     "num_players must be an integer 2..64"},
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"http://a\","
     "\"game_socket_url\":\"b\",\"settings\":{\"num_players\":\"2\"}}]}",
     "num_players must be an integer"},
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"http://a\","
     "\"game_socket_url\":\"b\",\"settings\":[]}]}",
     "settings must be an object"},
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"http://a\","
     "\"game_socket_url\":\"b\",\"colour\":1}]}",
     "unknown key \"colour\""},
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"http://a\","
     "\"game_socket_url\":\"b\",\"settings\":{\"n\":[123456789012345678901234567890]}}]}",
     "settings hold an integer outside"},
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"http://a\","
     "\"game_socket_url\":\"b\",\"settings\":{\"n\":{\"m\":-9223372036854775809}}}]}",
     "settings hold an integer outside"},
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"http://a\","
     "\"game_socket_url\":\"b\",\"lobby_filters\":{\"page\":[\"x\"]}}]}",
     "\"page\" is a query key of open_games"},
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"http://a\","
     "\"game_socket_url\":\"b\",\"lobby_filters\":{\"count\":[\"x\"]}}]}",
     "\"count\" is a query key of open_games"},
    {"{\"products\":[{\"product_id\":\"a\",\"game_server_url\":\"http://a\","
     "\"game_socket_url\":\"b\",\"lobby_filters\":{\"mode\":[\"x\"]},"
     "\"settings\":{\"lobby\":{}}}]}",
     "settings.lobby is where"},
    {"{\"redis_ur1\":\"x\",\"products\":[" P1 "]}", "unknown key \"redis_ur1\""},
    {"{\"redis_url\":5,\"products\":[" P1 "]}", "\"redis_url\" must be a string"},
    /* a NUL would silently shorten the value as a C string */
    {"{\"secret_key\":\"abc\\u0000def\",\"products\":[" P1 "]}",
     "\"secret_key\" contains a NUL character"},
    {"{\"products\":[{\"product_id\":\"a\\u0000b\",\"game_server_url\":\"http://a\","
     "\"game_socket_url\":\"b\"}]}",
     "products[0].product_id contains a NUL character"},
    {"{\"redis_url\":\"http://x\",\"products\":[" P1 "]}", "not a valid Redis URL"},
    {"{\"event_stream_url\":\"redis://h:99999\",\"products\":[" P1 "]}", "not a valid Redis URL"},
    {"{\"lobby_max_page_size\":\"25\",\"products\":[" P1 "]}", "must be an integer"},
    {"{\"lobby_max_page_size\":2.5,\"products\":[" P1 "]}", "must be an integer"},
    {"{\"lobby_max_page_size\":0,\"products\":[" P1 "]}", "must be an integer 1..1000"},
    {"{\"redis_timeout_ms\":-1,\"products\":[" P1 "]}", "redis_timeout_ms"},
    {"{\"lobby_default_page_size\":30,\"products\":[" P1 "]}", "larger than"},
    {"{\"expiry_seconds\":{\"paused\":5},\"products\":[" P1 "]}", "unknown state \"paused\""},
    {"{\"expiry_seconds\":{\"created\":0},\"products\":[" P1 "]}", "expiry_seconds.created"},
    {"{\"expiry_seconds\":3,\"products\":[" P1 "]}", "must be an object"},
    {"{\"log_level\":\"loud\",\"products\":[" P1 "]}", "log_level"},
    {"{\"bench_noop_route\":1,\"products\":[" P1 "]}",
     "\"bench_noop_route\" must be true or false"},
    {"{\"bench_noop_route\":\"true\",\"products\":[" P1 "]}", "bench_noop_route"},
    {"{\"bench_noop_route\":null,\"products\":[" P1 "]}", "bench_noop_route"},
    {"{\"bench_noop_rout\":true,\"products\":[" P1 "]}", "unknown key \"bench_noop_rout\""},
    {"{\"metrics_file\":\"metrics\",\"products\":[" P1 "]}", "metrics_file must be an absolute"},
    {"{\"metrics_file\":\"/run/\",\"products\":[" P1 "]}", "metrics_file must be an absolute"},
    {"{\"cors_allow_origin\":\"https://a\\r\\nX-Evil: 1\",\"products\":[" P1 "]}",
     "cors_allow_origin\" contains a control character"},
    {"{\"worker_metrics_port\":70000,\"products\":[" P1 "]}", "worker_metrics_port"},
    {"{\"worker_metrics_address\":\"localhost\",\"products\":[" P1 "]}",
     "worker_metrics_address\" must be an IPv4 or IPv6 address"},
    /* SPEC 14: sentinels */
    {"{\"redis_sentinels\":\"h:1\",\"products\":[" P1 "]}",
     "\"redis_sentinels\" must be an array of at most 16 \"host:port\" strings"},
    {"{\"redis_sentinels\":null,\"products\":[" P1 "]}", "\"redis_sentinels\" must be an array"},
    {"{\"redis_sentinels\":[\"a:1\",\"a:2\",\"a:3\",\"a:4\",\"a:5\",\"a:6\",\"a:7\",\"a:8\","
     "\"a:9\",\"a:10\",\"a:11\",\"a:12\",\"a:13\",\"a:14\",\"a:15\",\"a:16\",\"a:17\"],"
     "\"products\":[" P1 "]}",
     "must be an array of at most 16"},
    {"{\"redis_sentinels\":[\"h\"],\"products\":[" P1 "]}",
     "redis_sentinels[0]: expected host:port"},
    {"{\"redis_sentinels\":[\"h:1\",\"h:0\"],\"products\":[" P1 "]}",
     "redis_sentinels[1]: the port must be 1..65535"},
    {"{\"redis_sentinels\":[\"h:1\",5],\"products\":[" P1 "]}",
     "redis_sentinels[1] must be a \"host:port\" string"},
    {"{\"redis_sentinels\":[\"h:1\\u0000x\"],\"products\":[" P1 "]}",
     "redis_sentinels[0] must be a \"host:port\" string"},
    {"{\"redis_sentinels\":[\"::1:26379\"],\"products\":[" P1 "]}",
     "an IPv6 address goes in brackets"},
    {"{\"redis_sentinels\":[\"h:1\",\"h:1\"],\"products\":[" P1 "]}",
     "redis_sentinels[1] is listed twice"},
    {"{\"redis_master_name\":\"m m\",\"products\":[" P1 "]}",
     "\"redis_master_name\" must be 1..64 characters of [A-Za-z0-9_.-]"},
    {"{\"redis_master_name\":\"\",\"products\":[" P1 "]}", "\"redis_master_name\" must be 1..64"},
    {"{\"redis_master_name\":"
     "\"m12345678901234567890123456789012345678901234567890123456789012345\",\"products\":[" P1
     "]}",
     "\"redis_master_name\" must be 1..64"},
    {"{\"redis_master_name\":7,\"products\":[" P1 "]}", "\"redis_master_name\" must be"},
    {"{\"redis_master_name\":null,\"products\":[" P1 "]}", "\"redis_master_name\" must be"},
    {"{\"event_stream_sentinels\":[\"h:1\",\"[::1]:x\"],\"products\":[" P1 "]}",
     "event_stream_sentinels[1]: the port must be 1..65535"},
    {"{\"event_stream_sentinels\":{},\"products\":[" P1 "]}",
     "\"event_stream_sentinels\" must be an array"},
    {"{\"event_stream_master_name\":\"a/b\",\"products\":[" P1 "]}",
     "\"event_stream_master_name\" must be 1..64"},
    {"{\"redis_min_replicas_ack\":17,\"products\":[" P1 "]}",
     "\"redis_min_replicas_ack\" must be an integer 0..16"},
    {"{\"redis_min_replicas_ack\":-1,\"products\":[" P1 "]}", "redis_min_replicas_ack"},
    /* SPEC 14: a product's own sentinel pair */
    {"{\"redis_sentinels\":[\"s:1\"],\"products\":[{\"product_id\":\"x\",\"game_server_url\":\"http://g\",\"game_socket_url\":\"g:1\",\"redis_sentinels\":[]}]}", "an empty redis_sentinels needs a redis_url"},
    {"{\"products\":[{\"product_id\":\"x\",\"game_server_url\":\"http://g\",\"game_socket_url\":\"g:1\",\"redis_sentinels\":\"h:1\"}]}", "\"products[0].redis_sentinels\" must be an array"},
    {"{\"products\":[{\"product_id\":\"x\",\"game_server_url\":\"http://g\",\"game_socket_url\":\"g:1\",\"redis_sentinels\":[\"h:1\",\"h:1\"]}]}", "products[0].redis_sentinels[1] is listed twice"},
    {"{\"products\":[{\"product_id\":\"x\",\"game_server_url\":\"http://g\",\"game_socket_url\":\"g:1\",\"redis_master_name\":\"a b\"}]}", "\"products[0].redis_master_name\" must be 1..64"},
    {"{\"products\":[{\"product_id\":\"x\",\"game_server_url\":\"http://g\",\"game_socket_url\":\"g:1\",\"redis_master_name\":\"other\"}]}", "redis_master_name names a master but no sentinels"},
    {"{\"products\":[{\"product_id\":\"x\",\"game_server_url\":\"http://g\",\"game_socket_url\":\"g:1\",\"redis_sentinels\":[\"h:0\"]}]}", "products[0].redis_sentinels[0]: the port must be 1..65535"},
    {"{\"lobby_publisher\":\"tcp://127.0.0.1:9\",\"products\":[" P1 "]}",
     "\"lobby_publisher\" must be"},
    {"{\"lobby_publisher\":\"unix:run/publish.sock\",\"products\":[" P1 "]}",
     "\"lobby_publisher\" must be"},
    {"{\"lobby_publisher\":\"unix:/run/\",\"products\":[" P1 "]}", "\"lobby_publisher\" must be"},
    {"{\"lobby_publisher\":\"http://\",\"products\":[" P1 "]}", "\"lobby_publisher\" must be"},
    {"{\"lobby_publisher\":\"http://127.0.0.1:8090/pub\",\"products\":[" P1 "]}",
     "\"lobby_publisher\" must be"},
    {"{\"lobby_publisher\":\"unix:/a\\nb\",\"products\":[" P1 "]}", "\"lobby_publisher\" must be"},
    /* a socket address holds at most 107 bytes of path */
    {"{\"lobby_publisher\":\"unix:/" LONG_PATH "\",\"products\":[" P1 "]}", "at most 107 bytes"},
    {"{\"lobby_publish_timeout_ms\":0,\"products\":[" P1 "]}", "lobby_publish_timeout_ms"},
};

static void every_refusal_names_the_problem(void **state)
{
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        mm_config c;
        char err[256] = "";
        mm_status st = parse(refusals[i].doc, &c, err, sizeof(err));
        if (st == MM_OK)
            fail_msg("accepted: %s", refusals[i].doc);
        if (strstr(err, refusals[i].expect) == NULL)
            fail_msg("doc %s: error \"%s\" lacks \"%s\"", refusals[i].doc, err, refusals[i].expect);
        assert_null(strchr(err, '\n'));
        assert_null(c.products);
        assert_null(c.redis_url);
    }
}

/* SPEC 14: the sentinel pairs, and the event stream's defaulting to the data's. */
static void sentinels_are_read_and_defaulted(void **state)
{
    mm_config c;
    char err[256] = "";
    /* none by default: the URLs' addresses; the name Redis's examples use */
    assert_int_equal(parse("{\"products\":[" P1 "]}", &c, err, sizeof(err)), MM_OK);
    assert_int_equal(c.redis_sentinels.n, 0);
    assert_string_equal(c.redis_sentinels.master_name, "mymaster");
    assert_int_equal(c.event_stream_sentinels.n, 0);
    assert_string_equal(c.event_stream_sentinels.master_name, "mymaster");
    assert_int_equal(c.redis_min_replicas_ack, 0);
    mm_config_free(&c);

    /* the data's pair, taken by the event stream */
    assert_int_equal(parse("{\"redis_sentinels\":[\"10.0.0.1:26379\",\"sentinel-b:26380\","
                           "\"[::1]:26381\"],\"redis_master_name\":\"mm-main_1.a\","
                           "\"redis_min_replicas_ack\":1,\"products\":[" P1 "]}",
                           &c, err, sizeof(err)),
                     MM_OK);
    assert_int_equal(c.redis_sentinels.n, 3);
    assert_string_equal(c.redis_sentinels.addrs[0].host, "10.0.0.1");
    assert_int_equal(c.redis_sentinels.addrs[0].port, 26379);
    assert_string_equal(c.redis_sentinels.addrs[1].host, "sentinel-b");
    assert_int_equal(c.redis_sentinels.addrs[1].port, 26380);
    assert_string_equal(c.redis_sentinels.addrs[2].host, "::1");
    assert_int_equal(c.redis_sentinels.addrs[2].port, 26381);
    assert_string_equal(c.redis_sentinels.master_name, "mm-main_1.a");
    assert_int_equal(c.event_stream_sentinels.n, 3);
    assert_string_equal(c.event_stream_sentinels.addrs[1].host, "sentinel-b");
    assert_string_equal(c.event_stream_sentinels.master_name, "mm-main_1.a");
    assert_int_equal(c.redis_min_replicas_ack, 1);
    mm_config_free(&c);

    /* null is the default, as the sample writes it */
    assert_int_equal(parse("{\"redis_sentinels\":[\"a:1\"],\"redis_master_name\":\"mm\","
                           "\"event_stream_sentinels\":null,\"event_stream_master_name\":null,"
                           "\"products\":[" P1 "]}",
                           &c, err, sizeof(err)),
                     MM_OK);
    assert_int_equal(c.event_stream_sentinels.n, 1);
    assert_string_equal(c.event_stream_sentinels.addrs[0].host, "a");
    assert_string_equal(c.event_stream_sentinels.master_name, "mm");
    mm_config_free(&c);

    /* the same sentinels, another master for the stream (keys in any order) */
    assert_int_equal(parse("{\"event_stream_master_name\":\"ev\",\"redis_master_name\":\"mm\","
                           "\"redis_sentinels\":[\"a:1\",\"b:2\"],\"products\":[" P1 "]}",
                           &c, err, sizeof(err)),
                     MM_OK);
    assert_int_equal(c.event_stream_sentinels.n, 2);
    assert_string_equal(c.event_stream_sentinels.addrs[1].host, "b");
    assert_string_equal(c.event_stream_sentinels.master_name, "ev");
    assert_string_equal(c.redis_sentinels.master_name, "mm");
    mm_config_free(&c);

    /* sentinels of its own, the data's master name */
    assert_int_equal(parse("{\"redis_master_name\":\"mm\",\"redis_sentinels\":[\"a:1\"],"
                           "\"event_stream_sentinels\":[\"e:9\"],\"products\":[" P1 "]}",
                           &c, err, sizeof(err)),
                     MM_OK);
    assert_int_equal(c.event_stream_sentinels.n, 1);
    assert_string_equal(c.event_stream_sentinels.addrs[0].host, "e");
    assert_string_equal(c.event_stream_sentinels.master_name, "mm");
    mm_config_free(&c);

    /* an empty list: the event stream at event_stream_url's address */
    assert_int_equal(parse("{\"redis_sentinels\":[\"a:1\"],\"event_stream_sentinels\":[],"
                           "\"products\":[" P1 "]}",
                           &c, err, sizeof(err)),
                     MM_OK);
    assert_int_equal(c.redis_sentinels.n, 1);
    assert_string_equal(c.redis_sentinels.master_name, "mymaster");
    assert_int_equal(c.event_stream_sentinels.n, 0);
    mm_config_free(&c);

    /* only the stream behind sentinels */
    assert_int_equal(parse("{\"event_stream_sentinels\":[\"e:9\"],\"event_stream_master_name\":"
                           "\"ev\",\"redis_sentinels\":[],\"products\":[" P1 "]}",
                           &c, err, sizeof(err)),
                     MM_OK);
    assert_int_equal(c.redis_sentinels.n, 0);
    assert_int_equal(c.event_stream_sentinels.n, 1);
    assert_string_equal(c.event_stream_sentinels.master_name, "ev");
    mm_config_free(&c);

    /* sixteen is the most */
    assert_int_equal(parse("{\"redis_sentinels\":[\"a:1\",\"a:2\",\"a:3\",\"a:4\",\"a:5\",\"a:6\","
                           "\"a:7\",\"a:8\",\"a:9\",\"a:10\",\"a:11\",\"a:12\",\"a:13\",\"a:14\","
                           "\"a:15\",\"a:16\"],\"redis_master_name\":\"mm\",\"products\":[" P1 "]}",
                           &c, err, sizeof(err)),
                     MM_OK);
    assert_int_equal(c.redis_sentinels.n, 16);
    assert_int_equal(c.redis_sentinels.addrs[15].port, 16);
    mm_config_free(&c);
}

/* SPEC 14: a product's own sentinel pair, each half defaulting to the global pair's; a
 * product with a Redis URL of its own and no pair is reached at that URL's address. */
static void a_product_takes_its_own_sentinel_pair(void **state)
{
    (void)state;
    mm_config c;
    char err[256] = "";
#define PRODUCT(id, extra)                                                                         \
    "{\"product_id\":\"" id "\",\"game_server_url\":\"http://g\",\"game_socket_url\":\"g:1\"" extra "}"
    const char *doc =
        "{\"redis_sentinels\":[\"s1:26379\",\"s2:26379\"],\"redis_master_name\":\"main\","
        "\"products\":[" PRODUCT("shared", "") "," PRODUCT("own_url", ",\"redis_url\":\"redis://r2/0\"")
        "," PRODUCT("name_only", ",\"redis_master_name\":\"big\"")
        "," PRODUCT("list_only", ",\"redis_sentinels\":[\"t1:1\"]")
        "," PRODUCT("both", ",\"redis_sentinels\":[\"t1:1\",\"[::1]:2\"],\"redis_master_name\":\"b\","
                            "\"redis_url\":\"redis://x/4\"")
        "," PRODUCT("none", ",\"redis_sentinels\":[],\"redis_url\":\"redis://r3/0\"") "]}";
#undef PRODUCT
    if (parse(doc, &c, err, sizeof(err)) != MM_OK)
        fail_msg("refused: %s", err);
    const mm_sentinel_set *s = mm_config_sentinels(&c, NULL);
    assert_int_equal(s->n, 2);
    assert_string_equal(s->master_name, "main");
    /* no pair of its own: the global one */
    assert_ptr_equal(mm_config_sentinels(&c, &c.products[0]), &c.redis_sentinels);
    /* a URL of its own and no pair: that URL's address */
    assert_null(mm_config_sentinels(&c, &c.products[1]));
    assert_string_equal(mm_config_redis_url(&c, &c.products[1]), "redis://r2/0");
    /* a name alone: another master on the global sentinels */
    s = mm_config_sentinels(&c, &c.products[2]);
    assert_int_equal(s->n, 2);
    assert_string_equal(s->addrs[1].host, "s2");
    assert_string_equal(s->master_name, "big");
    assert_string_equal(mm_config_redis_url(&c, &c.products[2]), c.redis_url);
    /* a list alone: the global name */
    s = mm_config_sentinels(&c, &c.products[3]);
    assert_int_equal(s->n, 1);
    assert_string_equal(s->addrs[0].host, "t1");
    assert_string_equal(s->master_name, "main");
    /* both, with a URL for the password and database */
    s = mm_config_sentinels(&c, &c.products[4]);
    assert_int_equal(s->n, 2);
    assert_string_equal(s->addrs[1].host, "::1");
    assert_int_equal(s->addrs[1].port, 2);
    assert_string_equal(s->master_name, "b");
    assert_string_equal(mm_config_redis_url(&c, &c.products[4]), "redis://x/4");
    /* an empty list: none, the URL's address */
    s = mm_config_sentinels(&c, &c.products[5]);
    assert_true(s == NULL || s->n == 0);
    mm_config_free(&c);
}

static void lobby_publisher_takes_a_socket_an_address_or_nothing(void **state)
{
    char longest[128]; /* exactly what a socket address holds: 107 bytes of path */
    snprintf(longest, sizeof(longest), "unix:/%.106s", LONG_PATH);
    const char *const accepted[] = {"", "unix:/run/matchmaker-live/publish.sock",
                                    "http://127.0.0.1:8090", longest};
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        char doc[512], err[256] = "";
        snprintf(doc, sizeof(doc), "{\"lobby_publisher\":\"%s\",\"products\":[" P1 "]}",
                 accepted[i]);
        mm_config c;
        if (parse(doc, &c, err, sizeof(err)) != MM_OK)
            fail_msg("refused %s: %s", accepted[i], err);
        assert_string_equal(c.lobby_publisher, accepted[i]);
        mm_config_free(&c);
    }
}

static void deep_nesting_is_refused_without_crash(void **state)
{
    char doc[4096];
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        doc[n++] = '[';
    doc[n] = '\0';
    mm_config c;
    char err[256];
    assert_int_not_equal(parse(doc, &c, err, sizeof(err)), MM_OK);
}

static void bytes_after_a_nul_are_refused(void **state)
{
    static const char doc[] = "{\"products\":[" P1 "]}\0{\"x\":1}";
    mm_config c;
    char err[256] = "";
    assert_int_equal(mm_config_parse(doc, sizeof(doc) - 1, &c, err, sizeof(err)), MM_ERR_INVALID);
    assert_non_null(strstr(err, "trailing"));
}

/* The origin is written into every response head: 256 bytes at most. */
static void cors_allow_origin_is_capped(void **state)
{
    for (size_t len = MM_CORS_ORIGIN_MAX - 1; len <= MM_CORS_ORIGIN_MAX + 1; len++) {
        char origin[MM_CORS_ORIGIN_MAX + 2];
        memset(origin, 'o', len);
        origin[len] = '\0';
        char doc[1024];
        snprintf(doc, sizeof(doc), "{\"cors_allow_origin\":\"%s\",\"products\":[" P1 "]}", origin);
        mm_config c;
        char err[256] = "";
        mm_status st = parse(doc, &c, err, sizeof(err));
        if (len <= MM_CORS_ORIGIN_MAX) {
            assert_int_equal(st, MM_OK);
            assert_string_equal(c.cors_allow_origin, origin);
            mm_config_free(&c);
        } else {
            assert_int_equal(st, MM_ERR_INVALID);
            assert_non_null(strstr(err, "\"cors_allow_origin\" is longer than 256 bytes"));
        }
    }
}

/* SPEC 11: no secret, the old default or fewer than 32 bytes is refused, unless the
 * configuration says insecure_dev_secret; the line names the problem. */
static void weak_secrets_are_refused(void **state)
{
    static const struct {
        const char *secret;
        bool insecure;
        const char *expect; /* NULL: accepted */
    } rows[] = {
        {"", false, "no secret_key is set"},
        {"change-me", false, "public default"},
        {"0123456789abcdef0123456789abcde", false, "shorter than 32 bytes"},
        {"0123456789abcdef0123456789abcdef", false, NULL},
        {"", true, NULL},
        {"change-me", true, NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        mm_config c;
        memset(&c, 0, sizeof(c));
        c.secret_key = (char *)rows[i].secret;
        c.insecure_dev_secret = rows[i].insecure;
        char err[256] = "";
        mm_status st = mm_config_check_secret(&c, err, sizeof(err));
        if (rows[i].expect == NULL) {
            assert_int_equal(st, MM_OK);
        } else {
            assert_int_equal(st, MM_ERR_INVALID);
            assert_non_null(strstr(err, rows[i].expect));
        }
    }
}

static char *write_temp(const char *content)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/mm-config-test.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

static void load_reads_file_and_env_overrides(void **state)
{
    char *path = write_temp("{\"products\":[" P1 "]}");
    setenv("MATCHMAKER_REDIS_URL", "redis://10.0.0.1:6380/4", 1);
    setenv("MATCHMAKER_EVENT_STREAM_URL", "unix:///run/r.sock?db=1", 1);
    setenv("MATCHMAKER_SECRET_KEY", "from-env-0123456789abcdef01234567", 1);
    setenv("MATCHMAKER_LOG_LEVEL", "warn", 1);
    setenv("MATCHMAKER_METRICS_FILE", "/run/mm/metrics", 1);
    setenv("MATCHMAKER_WORKER_METRICS_PORT", "6061", 1);
    mm_config c;
    char err[256] = "";
    assert_int_equal(mm_config_load(path, &c, err, sizeof(err)), MM_OK);
    assert_string_equal(c.redis_url, "redis://10.0.0.1:6380/4");
    assert_string_equal(c.event_stream_url, "unix:///run/r.sock?db=1");
    assert_string_equal(c.secret_key, "from-env-0123456789abcdef01234567");
    assert_int_equal(c.log_level, MM_LOG_WARN);
    assert_string_equal(c.metrics_file, "/run/mm/metrics");
    assert_int_equal(c.worker_metrics_port, 6061);
    mm_config_free(&c);

    setenv("MATCHMAKER_WORKER_METRICS_PORT", "60a", 1);
    assert_int_not_equal(mm_config_load(path, &c, err, sizeof(err)), MM_OK);
    assert_non_null(strstr(err, "MATCHMAKER_WORKER_METRICS_PORT"));
    unsetenv("MATCHMAKER_WORKER_METRICS_PORT");
    setenv("MATCHMAKER_METRICS_FILE", "relative", 1);
    assert_int_not_equal(mm_config_load(path, &c, err, sizeof(err)), MM_OK);
    assert_non_null(strstr(err, "MATCHMAKER_METRICS_FILE"));
    unsetenv("MATCHMAKER_METRICS_FILE");

    setenv("MATCHMAKER_LOG_LEVEL", "chatty", 1);
    assert_int_not_equal(mm_config_load(path, &c, err, sizeof(err)), MM_OK);
    assert_non_null(strstr(err, "MATCHMAKER_LOG_LEVEL"));
    unsetenv("MATCHMAKER_LOG_LEVEL");
    setenv("MATCHMAKER_REDIS_URL", "localhost", 1);
    assert_int_not_equal(mm_config_load(path, &c, err, sizeof(err)), MM_OK);
    assert_non_null(strstr(err, "MATCHMAKER_REDIS_URL"));
    unsetenv("MATCHMAKER_REDIS_URL");
    unsetenv("MATCHMAKER_EVENT_STREAM_URL");
    unsetenv("MATCHMAKER_SECRET_KEY");
    unlink(path);
}

static void load_refuses_missing_file_and_no_path(void **state)
{
    mm_config c;
    char err[256] = "";
    assert_int_not_equal(mm_config_load("/nonexistent/mm.json", &c, err, sizeof(err)), MM_OK);
    assert_non_null(strstr(err, "/nonexistent/mm.json"));
    unsetenv("MATCHMAKER_CONFIG");
    assert_int_not_equal(mm_config_load(NULL, &c, err, sizeof(err)), MM_OK);
    assert_non_null(strstr(err, "MATCHMAKER_CONFIG"));
    char *path = write_temp("{\"products\":[" P1 "]}");
    setenv("MATCHMAKER_CONFIG", path, 1);
    /* found, read, and refused for want of a secret (SPEC 11) */
    assert_int_equal(mm_config_load(NULL, &c, err, sizeof(err)), MM_ERR_INVALID);
    assert_non_null(strstr(err, "no secret_key is set"));
    setenv("MATCHMAKER_SECRET_KEY", "0123456789abcdef0123456789abcdef", 1);
    assert_int_equal(mm_config_load(NULL, &c, err, sizeof(err)), MM_OK);
    mm_config_free(&c);
    unsetenv("MATCHMAKER_SECRET_KEY");
    unsetenv("MATCHMAKER_CONFIG");
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(minimal_config_gets_the_spec_defaults),
        cmocka_unit_test(full_config_is_read),
        cmocka_unit_test(settings_are_kept_as_written),
        cmocka_unit_test(weak_secrets_are_refused),
        cmocka_unit_test(every_refusal_names_the_problem),
        cmocka_unit_test(sentinels_are_read_and_defaulted),
        cmocka_unit_test(a_product_takes_its_own_sentinel_pair),
        cmocka_unit_test(lobby_publisher_takes_a_socket_an_address_or_nothing),
        cmocka_unit_test(deep_nesting_is_refused_without_crash),
        cmocka_unit_test(bytes_after_a_nul_are_refused),
        cmocka_unit_test(cors_allow_origin_is_capped),
        cmocka_unit_test(load_reads_file_and_env_overrides),
        cmocka_unit_test(load_refuses_missing_file_and_no_path),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
