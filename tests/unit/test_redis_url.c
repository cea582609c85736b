/* Redis URL parsing: both schemes, defaults, and refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "redis_url.h"

typedef struct {
    const char *url;
    int ok;
    int is_unix;
    const char *host_or_path;
    int port;
    int db;
    const char *password;
    const char *user;
} row;

static const row rows[] = {
    {"redis://127.0.0.1:6379/0", 1, 0, "127.0.0.1", 6379, 0, "", NULL},
    {"redis://localhost", 1, 0, "localhost", 6379, 0, "", NULL},
    {"redis://localhost/", 1, 0, "localhost", 6379, 0, "", NULL},
    {"redis://h:7000/15", 1, 0, "h", 7000, 15, "", NULL},
    {"redis://:s3cret@redis.internal:6380/2", 1, 0, "redis.internal", 6380, 2, "s3cret", NULL},
    {"redis://user:pw@h/1", 1, 0, "h", 6379, 1, "pw", "user"},
    /* percent-encoded credentials; an ACL user; IPv6 hosts */
    {"redis://app%2Drw:p%40ss%3Aw%25rd@h:7/3", 1, 0, "h", 7, 3, "p@ss:w%rd", "app-rw"},
    {"redis://:a%2fb@h", 1, 0, "h", 6379, 0, "a/b", NULL},
    {"redis://[::1]:6380/2", 1, 0, "::1", 6380, 2, "", NULL},
    {"redis://[::1]", 1, 0, "::1", 6379, 0, "", NULL},
    {"redis://u:p@[fe80::1%25eth0]", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://[2001:db8::7]/1", 1, 0, "2001:db8::7", 6379, 1, "", NULL},
    {"redis://[::1", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://[]:1", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://[::1]x", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://[::g]", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://:pw%@h", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://:pw%4@h", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://:pw%zz@h", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://:pw%00@h", 0, 0, NULL, 0, 0, NULL, NULL},
    {"unix:///tmp/redis.sock", 1, 1, "/tmp/redis.sock", 6379, 0, "", NULL},
    {"unix:///tmp/redis.sock?db=3", 1, 1, "/tmp/redis.sock", 6379, 3, "", NULL},
    {"unix://relative.sock", 0, 0, NULL, 0, 0, NULL, NULL},
    {"unix:///tmp/r.sock?db=x", 0, 0, NULL, 0, 0, NULL, NULL},
    {"unix:///tmp/r.sock?foo=1", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://h:0", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://h:65536", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://h:-1", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://h:12ab", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://h/db", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://pw@h", 0, 0, NULL, 0, 0, NULL, NULL},
    {"redis://h h", 0, 0, NULL, 0, 0, NULL, NULL},
    {"http://h", 0, 0, NULL, 0, 0, NULL, NULL},
    {"", 0, 0, NULL, 0, 0, NULL, NULL},
};

static void table_of_urls(void **state)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row *w = &rows[i];
        mm_redis_url u;
        char err[128] = "";
        mm_status st = mm_redis_url_parse(w->url, &u, err, sizeof(err));
        if ((st == MM_OK) != w->ok)
            fail_msg("%s: status %d (%s)", w->url, st, err);
        if (!w->ok) {
            assert_true(err[0] != '\0');
            continue;
        }
        assert_int_equal(u.is_unix, w->is_unix);
        assert_string_equal(w->is_unix ? u.path : u.host, w->host_or_path);
        if (!w->is_unix)
            assert_int_equal(u.port, w->port);
        assert_string_equal(u.password, w->password);
        assert_string_equal(u.user, w->user ? w->user : "");
        assert_int_equal(u.db, w->db);
    }
}

/* TLS is refused with a reason that says so, not as a parse error. */
static void rediss_is_refused_clearly(void **state)
{
    mm_redis_url u;
    char err[160] = "";
    assert_int_equal(mm_redis_url_parse("rediss://h:6380/0", &u, err, sizeof(err)), MM_ERR_INVALID);
    assert_non_null(strstr(err, "TLS"));
    assert_non_null(strstr(err, "not supported"));
}

static void overlong_parts_are_refused(void **state)
{
    char url[700];
    mm_redis_url u;
    char err[128];
    memcpy(url, "unix:///", 8);
    memset(url + 8, 'a', 200);
    url[208] = '\0';
    assert_int_equal(mm_redis_url_parse(url, &u, err, sizeof(err)), MM_ERR_INVALID);
    memcpy(url, "redis://", 8);
    memset(url + 8, 'h', 300);
    url[308] = '\0';
    assert_int_equal(mm_redis_url_parse(url, &u, err, sizeof(err)), MM_ERR_INVALID);
    assert_int_equal(mm_redis_url_parse(NULL, &u, err, sizeof(err)), MM_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rediss_is_refused_clearly),
        cmocka_unit_test(table_of_urls),
        cmocka_unit_test(overlong_parts_are_refused),
    };
    return cmocka_run_group_tests_name("redis_url", tests, NULL, NULL);
}
