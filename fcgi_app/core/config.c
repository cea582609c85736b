/* Config loading. Every key is checked for its type and range; unknown keys
 * are refused so a typo never silently falls back to a default. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "ids.h"
#include "redis_url.h"
#include "text.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        goto out;                                                                                  \
    } while (0)

typedef struct {
    const char *key;
    size_t offset; /* of the long in mm_config */
    long min, max, def;
} long_key;

static const long_key long_keys[] = {
    {"lobby_default_page_size", offsetof(mm_config, lobby_default_page_size), 1, 1000, 10},
    {"lobby_max_page_size", offsetof(mm_config, lobby_max_page_size), 1, 1000, 25},
    {"game_server_connect_timeout_ms", offsetof(mm_config, game_server_connect_timeout_ms), 1,
     600000, 1000},
    {"game_server_timeout_ms", offsetof(mm_config, game_server_timeout_ms), 1, 600000, 3000},
    {"redis_timeout_ms", offsetof(mm_config, redis_timeout_ms), 1, 600000, 500},
    {"redis_min_replicas_ack", offsetof(mm_config, redis_min_replicas_ack), 0, 16, 0},
    {"curation_interval_ms", offsetof(mm_config, curation_interval_ms), 10, 86400000, 1000},
    {"curation_batch_size", offsetof(mm_config, curation_batch_size), 1, 1000, 100},
    {"event_claim_idle_ms", offsetof(mm_config, event_claim_idle_ms), 100, 86400000, 30000},
    {"event_max_deliveries", offsetof(mm_config, event_max_deliveries), 1, 1000, 5},
    {"event_stream_max_len", offsetof(mm_config, event_stream_max_len), 100, 1000000000, 100000},
    {"event_consumer_max_idle_ms", offsetof(mm_config, event_consumer_max_idle_ms), 1000,
     30L * 86400000, 86400000},
    {"max_open_games_per_user", offsetof(mm_config, max_open_games_per_user), 0, 100000, 10},
    {"max_seats_per_user", offsetof(mm_config, max_seats_per_user), 0, 100000, 10},
    {"user_requests_per_minute", offsetof(mm_config, user_requests_per_minute), 0, 1000000, 120},
    {"game_server_failure_threshold", offsetof(mm_config, game_server_failure_threshold), 1, 1000,
     5},
    {"game_server_cooldown_ms", offsetof(mm_config, game_server_cooldown_ms), 1, 3600000, 5000},
    {"worker_metrics_port", offsetof(mm_config, worker_metrics_port), 0, 65535, 5051},
    {"lobby_publish_timeout_ms", offsetof(mm_config, lobby_publish_timeout_ms), 1, 10000, 200},
};

typedef struct {
    const char *key;
    size_t offset; /* of the char * in mm_config */
    const char *def;
} string_key;

static const string_key string_keys[] = {
    {"redis_url", offsetof(mm_config, redis_url), "redis://127.0.0.1:6379/0"},
    {"event_stream_url", offsetof(mm_config, event_stream_url), "redis://127.0.0.1:6379/1"},
    {"secret_key", offsetof(mm_config, secret_key), ""},
    {"cors_allow_origin", offsetof(mm_config, cors_allow_origin), "*"},
    {"event_group", offsetof(mm_config, event_group), "matchmaker"},
    {"metrics_file", offsetof(mm_config, metrics_file), "/run/matchmaker/metrics"},
    {"worker_metrics_address", offsetof(mm_config, worker_metrics_address), "127.0.0.1"},
    {"lobby_publisher", offsetof(mm_config, lobby_publisher), MM_LOBBY_PUBLISHER_DEFAULT},
};

/* An absolute path of a file (the pool's shared metrics). */
static int check_metrics_file(const char *what, const char *path, char *err, size_t errlen)
{
    size_t len = strlen(path);
    if (len == 0 || path[0] != '/' || path[len - 1] == '/' || len >= 1024) {
        snprintf(err, errlen, "config: %s must be an absolute file path", what);
        return -1;
    }
    return 0;
}

typedef struct {
    const char *key;
    size_t offset; /* of the bool in mm_config */
    bool def;
} bool_key;

static const bool_key bool_keys[] = {
    {"bench_noop_route", offsetof(mm_config, bench_noop_route), false},
    {"insecure_dev_secret", offsetof(mm_config, insecure_dev_secret), false},
};

static const long default_expiry[MM_STATE_COUNT] = {60, 60, 600, 1200, 300};

static long *long_at(mm_config *c, size_t off)
{
    return (long *)(void *)((char *)c + off);
}

static char **string_at(mm_config *c, size_t off)
{
    return (char **)(void *)((char *)c + off);
}

static bool *bool_at(mm_config *c, size_t off)
{
    return (bool *)(void *)((char *)c + off);
}

static int set_string(char **slot, const char *value)
{
    char *dup = strdup(value);
    if (dup == NULL)
        return -1;
    free(*slot);
    *slot = dup;
    return 0;
}

/* A JSON string holding "\u0000" would be cut short as a C string (a secret silently
 * shortened, an id other than the one written), so it is refused. */
static int has_nul(json_object *v)
{
    return memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v)) != NULL;
}

/* A JSON integer (not a float, not a string) within [min, max]. */
static int get_long(json_object *v, long min, long max, long *out)
{
    if (!json_object_is_type(v, json_type_int))
        return -1;
    errno = 0;
    int64_t x = json_object_get_int64(v);
    if (errno != 0 || x < min || x > max)
        return -1;
    *out = (long)x;
    return 0;
}

static int check_redis_url(const char *key, const char *url, char *err, size_t errlen)
{
    mm_redis_url u;
    char why[160];
    if (mm_redis_url_parse(url, &u, why, sizeof(why)) != MM_OK) {
        snprintf(err, errlen, "config: \"%s\" is not a valid Redis URL: %s", key, why);
        return -1;
    }
    return 0;
}

/* SPEC 14: a sentinel list, "host:port" entries, distinct, at most MM_SENTINELS_MAX of
 * them; an empty list says there are none. */
static int parse_sentinels(const char *key, json_object *v, mm_sentinel_set *out, char *err,
                           size_t errlen)
{
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    if (!json_object_is_type(v, json_type_array) || n > MM_SENTINELS_MAX) {
        snprintf(err, errlen, "config: \"%s\" must be an array of at most %d \"host:port\" strings",
                 key, MM_SENTINELS_MAX);
        return -1;
    }
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        char why[128];
        if (!json_object_is_type(e, json_type_string) || has_nul(e)) {
            snprintf(err, errlen, "config: %s[%zu] must be a \"host:port\" string", key, i);
            return -1;
        }
        mm_redis_addr *a = &out->addrs[i];
        if (mm_redis_addr_parse(json_object_get_string(e), (size_t)json_object_get_string_len(e), a,
                                why, sizeof(why)) != MM_OK) {
            snprintf(err, errlen, "config: %s[%zu]: %s", key, i, why);
            return -1;
        }
        for (size_t k = 0; k < i; k++) {
            if (out->addrs[k].port == a->port && strcmp(out->addrs[k].host, a->host) == 0) {
                snprintf(err, errlen, "config: %s[%zu] is listed twice", key, i);
                return -1;
            }
        }
        out->n = i + 1;
    }
    return 0;
}

/* A master name as the sentinels know it: 1..MM_SENTINEL_NAME_MAX of [A-Za-z0-9_.-]. */
static int parse_master_name(const char *key, json_object *v, mm_sentinel_set *out, char *err,
                             size_t errlen)
{
    size_t len =
        json_object_is_type(v, json_type_string) ? (size_t)json_object_get_string_len(v) : 0;
    if (!mm_sentinel_name_valid(json_object_get_string(v), len)) {
        snprintf(err, errlen, "config: \"%s\" must be 1..%d characters of [A-Za-z0-9_.-]", key,
                 MM_SENTINEL_NAME_MAX);
        return -1;
    }
    memcpy(out->master_name, json_object_get_string(v), len + 1);
    return 0;
}

/* Which of the event stream's sentinel keys the file gave a value (null gives none). */
typedef struct {
    bool sentinels, name;
} event_sentinel_keys;

/* After the whole file is read: the event stream's pair defaults to the data's, each half
 * on its own (its own master name on the same sentinels, say). */
static void settle_sentinels(mm_config *c, const event_sentinel_keys *given)
{
    mm_sentinel_set *d = &c->redis_sentinels, *e = &c->event_stream_sentinels;
    if (!given->sentinels) {
        memcpy(e->addrs, d->addrs, sizeof(e->addrs));
        e->n = d->n;
    }
    if (!given->name)
        memcpy(e->master_name, d->master_name, sizeof(e->master_name));
}

static int is_http_url(const char *s)
{
    return (strncmp(s, "http://", 7) == 0 && s[7] != '\0') ||
           (strncmp(s, "https://", 8) == 0 && s[8] != '\0');
}

/* Where the lobby's changes are published (SPEC 13): "" (off), the unix socket of the
 * host's nginx publisher ("unix:/absolute/path", short enough for a socket address), or
 * a plain http:// address on this host. */
static int check_publisher(const char *v, char *err, size_t errlen)
{
    const size_t path_max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;
    size_t len = strlen(v);
    bool unix_path = strncmp(v, "unix:/", 6) == 0 && len - 5 <= path_max && v[len - 1] != '/';
    bool http = strncmp(v, "http://", 7) == 0 && len > 7 && len <= 256 && !strchr(v + 7, '/');
    if (len == 0 || ((unix_path || http) && !mm_text_has_control(v, len) && strchr(v, ' ') == NULL))
        return 0;
    snprintf(err, errlen,
             "config: \"lobby_publisher\" must be \"\", \"unix:/path/to/socket\" (at most %d "
             "bytes of path) or http://host[:port]",
             (int)path_max);
    return -1;
}

/* A filter key or value: 1..MM_FILTER_NAME_MAX of [A-Za-z0-9_-]. */
static bool filter_word(const char *s, size_t len)
{
    return len >= 1 && len <= MM_FILTER_NAME_MAX && mm_id_valid(s, len);
}

/* Whether every integer in v survived json-c's reading: one past what it holds (below
 * INT64_MIN, above UINT64_MAX) is read as that bound, so the bounds themselves are taken
 * for such numbers, and refused. json-c keeps the text of the other numbers. */
static bool integers_exact(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_int:
        return json_object_get_int64(v) != INT64_MIN && json_object_get_uint64(v) != UINT64_MAX;
    case json_type_object: {
        json_object_object_foreach (v, key, e) {
            (void)key;
            if (!integers_exact(e))
                return false;
        }
        return true;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (!integers_exact(json_object_array_get_idx(v, i)))
                return false;
        return true;
    default:
        return true;
    }
}

/* "lobby_filters": {"mode": ["casual", "ranked"], ...}: at most MM_FILTERS_MAX keys of at
 * most MM_FILTER_VALUES_MAX distinct values each, kept in the order written. */
static int parse_filters(json_object *v, size_t idx, mm_product *out, char *err, size_t errlen)
{
    if (!json_object_is_type(v, json_type_object)) {
        snprintf(err, errlen, "config: products[%zu].lobby_filters must be an object", idx);
        return -1;
    }
    json_object_object_foreach (v, name, values) {
        size_t nlen = strlen(name);
        if (out->nfilters == MM_FILTERS_MAX) {
            snprintf(err, errlen, "config: products[%zu].lobby_filters has more than %d keys", idx,
                     MM_FILTERS_MAX);
            return -1;
        }
        if (!filter_word(name, nlen)) {
            snprintf(err, errlen,
                     "config: products[%zu].lobby_filters: a key must be 1..%d characters of "
                     "[A-Za-z0-9_-]",
                     idx, MM_FILTER_NAME_MAX);
            return -1;
        }
        if (strcmp(name, "count") == 0 || strcmp(name, "page") == 0) {
            snprintf(err, errlen,
                     "config: products[%zu].lobby_filters: \"%s\" is a query key of "
                     "open_games; name the filter otherwise",
                     idx, name);
            return -1;
        }
        size_t n =
            json_object_is_type(values, json_type_array) ? json_object_array_length(values) : 0;
        if (n == 0 || n > MM_FILTER_VALUES_MAX) {
            snprintf(err, errlen,
                     "config: products[%zu].lobby_filters.%s must be an array of 1..%d values", idx,
                     name, MM_FILTER_VALUES_MAX);
            return -1;
        }
        mm_lobby_filter *f = &out->filters[out->nfilters++];
        memcpy(f->name, name, nlen + 1);
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(values, i);
            const char *val = json_object_get_string(e);
            size_t vlen = json_object_is_type(e, json_type_string)
                              ? (size_t)json_object_get_string_len(e)
                              : 0;
            if (vlen == 0 || !filter_word(val, vlen) || mm_filter_allows(f, val, vlen)) {
                snprintf(err, errlen,
                         "config: products[%zu].lobby_filters.%s: values must be distinct "
                         "strings of 1..%d characters of [A-Za-z0-9_-]",
                         idx, name, MM_FILTER_NAME_MAX);
                return -1;
            }
            memcpy(f->values[f->nvalues++], val, vlen + 1);
        }
    }
    return 0;
}

const char *mm_config_redis_url(const mm_config *cfg, const mm_product *p)
{
    return p != NULL && p->redis_url != NULL ? p->redis_url : cfg->redis_url;
}

const mm_sentinel_set *mm_config_sentinels(const mm_config *cfg, const mm_product *p)
{
    if (p != NULL && p->sentinels != NULL)
        return p->sentinels;
    if (p != NULL && p->redis_url != NULL)
        return NULL;
    return &cfg->redis_sentinels;
}

/* A product's own sentinel key: the set is made at the first of the two. */
static int product_sentinel_key(const char *key, json_object *val, size_t idx, mm_product *out,
                                char *err, size_t errlen)
{
    if (out->sentinels == NULL && (out->sentinels = calloc(1, sizeof(*out->sentinels))) == NULL) {
        snprintf(err, errlen, "config: out of memory");
        return -1;
    }
    char where[64];
    snprintf(where, sizeof(where), "products[%zu].%s", idx, key);
    if (key[6] == 's') { /* redis_sentinels */
        out->own_sentinel_list = true;
        return parse_sentinels(where, val, out->sentinels, err, errlen);
    }
    out->own_master_name = true;
    return parse_master_name(where, val, out->sentinels, err, errlen);
}

/* After the whole file is read: what a product's own pair does not say is the global
 * pair's. A master name alone needs the global sentinels to ask. */
static int settle_product_sentinels(mm_config *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->nproducts; i++) {
        mm_product *p = &c->products[i];
        if (p->sentinels == NULL)
            continue;
        if (p->own_sentinel_list && p->sentinels->n == 0 && p->redis_url == NULL) {
            snprintf(err, errlen,
                     "config: product \"%s\": an empty redis_sentinels needs a redis_url of "
                     "the product's own (else it would use the global URL's address, not the "
                     "primary the sentinels name)",
                     p->product_id);
            return -1;
        }
        if (!p->own_sentinel_list) {
            if (c->redis_sentinels.n == 0) {
                snprintf(err, errlen,
                         "config: product \"%s\": redis_master_name names a master but no "
                         "sentinels are given (products[%zu].redis_sentinels or "
                         "redis_sentinels)",
                         p->product_id, i);
                return -1;
            }
            memcpy(p->sentinels->addrs, c->redis_sentinels.addrs, sizeof(p->sentinels->addrs));
            p->sentinels->n = c->redis_sentinels.n;
        }
        if (!p->own_master_name)
            memcpy(p->sentinels->master_name, c->redis_sentinels.master_name,
                   sizeof(p->sentinels->master_name));
    }
    return 0;
}

const mm_lobby_filter *mm_product_filter(const mm_product *p, const char *name, size_t len)
{
    for (int i = 0; i < p->nfilters; i++)
        if (strlen(p->filters[i].name) == len && memcmp(p->filters[i].name, name, len) == 0)
            return &p->filters[i];
    return NULL;
}

bool mm_filter_allows(const mm_lobby_filter *f, const char *value, size_t len)
{
    for (int i = 0; i < f->nvalues; i++)
        if (strlen(f->values[i]) == len && memcmp(f->values[i], value, len) == 0)
            return true;
    return false;
}

static mm_status parse_product(json_object *p, size_t idx, mm_product *out, char *err,
                               size_t errlen)
{
    mm_status st = MM_ERR_INVALID;
    json_object *settings = NULL;
    if (!json_object_is_type(p, json_type_object))
        FAIL("config: products[%zu] must be an object", idx);
    json_object_object_foreach (p, key, val) {
        if (strcmp(key, "product_id") == 0 || strcmp(key, "game_server_url") == 0 ||
            strcmp(key, "game_socket_url") == 0 || strcmp(key, "redis_url") == 0) {
            if (!json_object_is_type(val, json_type_string))
                FAIL("config: products[%zu].%s must be a string", idx, key);
            if (has_nul(val))
                FAIL("config: products[%zu].%s contains a NUL character", idx, key);
            char **slot = key[0] == 'p'                         ? &out->product_id
                          : key[0] == 'r'                       ? &out->redis_url
                          : strcmp(key, "game_server_url") == 0 ? &out->game_server_url
                                                                : &out->game_socket_url;
            if (set_string(slot, json_object_get_string(val)) != 0)
                FAIL("config: out of memory");
        } else if (strcmp(key, "settings") == 0) {
            if (!json_object_is_type(val, json_type_object))
                FAIL("config: products[%zu].settings must be an object", idx);
            settings = val;
        } else if (strcmp(key, "lobby_filters") == 0) {
            if (parse_filters(val, idx, out, err, errlen) != 0)
                goto out;
        } else if (strcmp(key, "redis_sentinels") == 0 || strcmp(key, "redis_master_name") == 0) {
            if (product_sentinel_key(key, val, idx, out, err, errlen) != 0)
                goto out;
        } else {
            FAIL("config: products[%zu] has an unknown key \"%s\"", idx, key);
        }
    }
    if (out->product_id == NULL)
        FAIL("config: products[%zu] has no product_id", idx);
    if (!mm_id_valid(out->product_id, strlen(out->product_id)))
        FAIL("config: products[%zu].product_id must be 1..%d characters of [A-Za-z0-9_-]", idx,
             MM_ID_MAX);
    if (out->game_server_url == NULL)
        FAIL("config: product \"%s\" has no game_server_url", out->product_id);
    /* Trailing slashes go first, so what is checked is what will be used: "http:///" would
     * otherwise pass and leave "http:". */
    size_t ulen = strlen(out->game_server_url);
    while (ulen > 0 && out->game_server_url[ulen - 1] == '/')
        out->game_server_url[--ulen] = '\0';
    if (!is_http_url(out->game_server_url))
        FAIL("config: product \"%s\": game_server_url must be an http:// or https:// URL "
             "with a host",
             out->product_id);
    if (out->game_socket_url == NULL)
        FAIL("config: product \"%s\" has no game_socket_url", out->product_id);
    if (out->redis_url != NULL) {
        char where[64];
        snprintf(where, sizeof(where), "products[%zu].redis_url", idx);
        if (check_redis_url(where, out->redis_url, err, errlen) != 0)
            goto out;
    }
    if (out->game_socket_url[0] == '\0')
        FAIL("config: product \"%s\": game_socket_url is empty", out->product_id);

    /* The settings are the product's object as written (key order, arrays, every digit
     * of a number: SPEC 10), with num_players checked, and added last when absent. */
    if (settings != NULL && !integers_exact(settings))
        FAIL("config: product \"%s\": settings hold an integer outside "
             "-9223372036854775807..18446744073709551614, which would not be kept as written",
             out->product_id);
    if (settings != NULL && out->nfilters > 0 && json_object_object_get_ex(settings, "lobby", NULL))
        FAIL("config: product \"%s\": settings.lobby is where a game's lobby filters go; "
             "with lobby_filters declared, the settings may not hold it",
             out->product_id);
    out->num_players = 2;
    json_object *np = NULL;
    if (settings != NULL && json_object_object_get_ex(settings, "num_players", &np)) {
        long n;
        if (get_long(np, MM_NUM_PLAYERS_MIN, MM_NUM_PLAYERS_MAX, &n) != 0)
            FAIL("config: product \"%s\": settings.num_players must be an integer %d..%d",
                 out->product_id, MM_NUM_PLAYERS_MIN, MM_NUM_PLAYERS_MAX);
        out->num_players = (int)n;
    }
    json_object *own = settings == NULL ? json_object_new_object() : NULL;
    json_object *s = settings != NULL ? settings : own;
    if (s == NULL ||
        (np == NULL && json_object_object_add(s, "num_players", json_object_new_int(2)) != 0)) {
        json_object_put(own);
        FAIL("config: out of memory");
    }
    out->settings_json = strdup(
        json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(own);
    if (out->settings_json == NULL)
        FAIL("config: out of memory");
    st = MM_OK;
out:
    return st;
}

static void set_defaults(mm_config *c)
{
    for (size_t i = 0; i < MM_ARRAY_LEN(long_keys); i++)
        *long_at(c, long_keys[i].offset) = long_keys[i].def;
    for (size_t i = 0; i < MM_ARRAY_LEN(bool_keys); i++)
        *bool_at(c, bool_keys[i].offset) = bool_keys[i].def;
    for (int s = 0; s < MM_STATE_COUNT; s++)
        c->expiry_seconds[s] = default_expiry[s];
    /* the name Redis's own sentinel.conf gives its example */
    snprintf(c->redis_sentinels.master_name, sizeof(c->redis_sentinels.master_name), "mymaster");
    c->log_level = MM_LOG_INFO;
}

static mm_status parse_root(json_object *root, mm_config *c, char *err, size_t errlen)
{
    mm_status st = MM_ERR_INVALID;
    json_object *products = NULL;
    event_sentinel_keys event_keys = {false, false};
    if (!json_object_is_type(root, json_type_object))
        FAIL("config: the document must be a JSON object");
    json_object_object_foreach (root, key, val) {
        int known = 0;
        for (size_t i = 0; i < MM_ARRAY_LEN(string_keys); i++) {
            if (strcmp(key, string_keys[i].key) != 0)
                continue;
            if (!json_object_is_type(val, json_type_string))
                FAIL("config: \"%s\" must be a string", key);
            if (has_nul(val))
                FAIL("config: \"%s\" contains a NUL character", key);
            if (set_string(string_at(c, string_keys[i].offset), json_object_get_string(val)))
                FAIL("config: out of memory");
            known = 1;
        }
        for (size_t i = 0; i < MM_ARRAY_LEN(long_keys); i++) {
            const long_key *k = &long_keys[i];
            if (strcmp(key, k->key) != 0)
                continue;
            if (get_long(val, k->min, k->max, long_at(c, k->offset)) != 0)
                FAIL("config: \"%s\" must be an integer %ld..%ld", key, k->min, k->max);
            known = 1;
        }
        for (size_t i = 0; i < MM_ARRAY_LEN(bool_keys); i++) {
            if (strcmp(key, bool_keys[i].key) != 0)
                continue;
            if (!json_object_is_type(val, json_type_boolean))
                FAIL("config: \"%s\" must be true or false", key);
            *bool_at(c, bool_keys[i].offset) = json_object_get_boolean(val) != 0;
            known = 1;
        }
        if (strcmp(key, "log_level") == 0) {
            if (!json_object_is_type(val, json_type_string) ||
                mm_log_level_parse(json_object_get_string(val), &c->log_level) != 0)
                FAIL("config: \"log_level\" must be one of error, warn, info, debug");
            known = 1;
        } else if (strcmp(key, "expiry_seconds") == 0) {
            if (!json_object_is_type(val, json_type_object))
                FAIL("config: \"expiry_seconds\" must be an object");
            json_object_object_foreach (val, skey, sval) {
                mm_game_state s;
                if (!mm_game_state_parse(skey, strlen(skey), &s))
                    FAIL("config: expiry_seconds has an unknown state \"%s\"", skey);
                if (get_long(sval, 1, 30L * 86400, &c->expiry_seconds[s]) != 0)
                    FAIL("config: expiry_seconds.%s must be an integer 1..2592000", skey);
            }
            known = 1;
        } else if (strcmp(key, "redis_sentinels") == 0) {
            if (parse_sentinels(key, val, &c->redis_sentinels, err, errlen) != 0)
                goto out;
            known = 1;
        } else if (strcmp(key, "redis_master_name") == 0) {
            if (parse_master_name(key, val, &c->redis_sentinels, err, errlen) != 0)
                goto out;
            known = 1;
        } else if (strcmp(key, "event_stream_sentinels") == 0) {
            /* null: the data's (the default) */
            event_keys.sentinels = val != NULL;
            if (val != NULL &&
                parse_sentinels(key, val, &c->event_stream_sentinels, err, errlen) != 0)
                goto out;
            known = 1;
        } else if (strcmp(key, "event_stream_master_name") == 0) {
            event_keys.name = val != NULL;
            if (val != NULL &&
                parse_master_name(key, val, &c->event_stream_sentinels, err, errlen) != 0)
                goto out;
            known = 1;
        } else if (strcmp(key, "products") == 0) {
            if (!json_object_is_type(val, json_type_array))
                FAIL("config: \"products\" must be an array");
            products = val;
            known = 1;
        }
        if (!known)
            FAIL("config: unknown key \"%s\"", key);
    }
    if (products == NULL)
        FAIL("config: \"products\" is missing");
    size_t n = json_object_array_length(products);
    if (n == 0)
        FAIL("config: \"products\" is empty");
    if (n > MM_CONFIG_MAX_PRODUCTS)
        FAIL("config: more than %d products", MM_CONFIG_MAX_PRODUCTS);
    c->products = calloc(n, sizeof(*c->products));
    if (c->products == NULL)
        FAIL("config: out of memory");
    for (size_t i = 0; i < n; i++) {
        c->nproducts = i + 1;
        if (parse_product(json_object_array_get_idx(products, i), i, &c->products[i], err,
                          errlen) != MM_OK)
            goto out;
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->products[j].product_id, c->products[i].product_id) == 0)
                FAIL("config: duplicate product_id \"%s\"", c->products[i].product_id);
    }
    if (c->lobby_default_page_size > c->lobby_max_page_size)
        FAIL("config: lobby_default_page_size is larger than lobby_max_page_size");
    if (strlen(c->cors_allow_origin) > MM_CORS_ORIGIN_MAX)
        FAIL("config: \"cors_allow_origin\" is longer than %d bytes", MM_CORS_ORIGIN_MAX);
    /* it becomes a response header */
    if (mm_text_has_control(c->cors_allow_origin, strlen(c->cors_allow_origin)))
        FAIL("config: \"cors_allow_origin\" contains a control character");
    settle_sentinels(c, &event_keys);
    if (settle_product_sentinels(c, err, errlen) != 0)
        goto out;
    if (check_redis_url("redis_url", c->redis_url, err, errlen) != 0 ||
        check_redis_url("event_stream_url", c->event_stream_url, err, errlen) != 0 ||
        check_metrics_file("metrics_file", c->metrics_file, err, errlen) != 0 ||
        check_publisher(c->lobby_publisher, err, errlen) != 0)
        goto out;
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, c->worker_metrics_address, addr) != 1 &&
        inet_pton(AF_INET6, c->worker_metrics_address, addr) != 1)
        FAIL("config: \"worker_metrics_address\" must be an IPv4 or IPv6 address");
    st = MM_OK;
out:
    return st;
}

mm_status mm_config_parse(const char *json, size_t len, mm_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (len > MM_CONFIG_MAX_BYTES) {
        snprintf(err, errlen, "config: file is larger than %d bytes", MM_CONFIG_MAX_BYTES);
        return MM_ERR_INVALID;
    }
    set_defaults(out);
    for (size_t i = 0; i < MM_ARRAY_LEN(string_keys); i++) {
        if (set_string(string_at(out, string_keys[i].offset), string_keys[i].def) != 0) {
            snprintf(err, errlen, "config: out of memory");
            mm_config_free(out);
            return MM_ERR_NOMEM;
        }
    }
    json_tokener *tok = json_tokener_new_ex(32);
    if (tok == NULL) {
        snprintf(err, errlen, "config: out of memory");
        mm_config_free(out);
        return MM_ERR_NOMEM;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *root = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = (size_t)json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    mm_status st;
    if (root == NULL || jerr != json_tokener_success) {
        snprintf(err, errlen, "config: not valid JSON: %s",
                 jerr == json_tokener_continue ? "unexpected end of file"
                                               : json_tokener_error_desc(jerr));
        st = MM_ERR_INVALID;
    } else {
        while (used < len && (json[used] == ' ' || json[used] == '\n' || json[used] == '\t' ||
                              json[used] == '\r'))
            used++;
        if (used != len) {
            snprintf(err, errlen, "config: trailing characters after the JSON document");
            st = MM_ERR_INVALID;
        } else {
            st = parse_root(root, out, err, errlen);
        }
    }
    json_object_put(root);
    if (st != MM_OK)
        mm_config_free(out);
    return st;
}

mm_status mm_config_check_secret(const mm_config *cfg, char *err, size_t errlen)
{
    if (cfg->insecure_dev_secret)
        return MM_OK;
    const char *why = NULL;
    if (cfg->secret_key[0] == '\0')
        why = "no secret_key is set";
    else if (strcmp(cfg->secret_key, "change-me") == 0)
        why = "secret_key is the public default \"change-me\"";
    else if (strlen(cfg->secret_key) < MM_SECRET_MIN)
        why = "secret_key is shorter than 32 bytes";
    if (why == NULL)
        return MM_OK;
    snprintf(err, errlen,
             "config: %s: tokens signed with it can be forged; set one of at least %d random "
             "bytes (or \"insecure_dev_secret\": true on a development machine)",
             why, MM_SECRET_MIN);
    return MM_ERR_INVALID;
}

mm_status mm_config_apply_env(mm_config *cfg, char *err, size_t errlen)
{
    static const struct {
        const char *env;
        size_t offset;
    } overrides[] = {
        {"MATCHMAKER_REDIS_URL", offsetof(mm_config, redis_url)},
        {"MATCHMAKER_EVENT_STREAM_URL", offsetof(mm_config, event_stream_url)},
        {"MATCHMAKER_SECRET_KEY", offsetof(mm_config, secret_key)},
        {"MATCHMAKER_METRICS_FILE", offsetof(mm_config, metrics_file)},
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(overrides); i++) {
        const char *v = getenv(overrides[i].env);
        if (v == NULL)
            continue;
        if (v[0] == '\0') {
            snprintf(err, errlen, "config: %s is set but empty", overrides[i].env);
            return MM_ERR_INVALID;
        }
        if (i < 2 && check_redis_url(overrides[i].env, v, err, errlen) != 0)
            return MM_ERR_INVALID;
        if (i == 3 && check_metrics_file(overrides[i].env, v, err, errlen) != 0)
            return MM_ERR_INVALID;
        if (set_string(string_at(cfg, overrides[i].offset), v) != 0) {
            snprintf(err, errlen, "config: out of memory");
            return MM_ERR_NOMEM;
        }
    }
    const char *port = getenv("MATCHMAKER_WORKER_METRICS_PORT");
    if (port != NULL) {
        char *end;
        errno = 0;
        long v = strtol(port, &end, 10);
        if (errno != 0 || end == port || *end != '\0' || v < 0 || v > 65535) {
            snprintf(err, errlen, "config: MATCHMAKER_WORKER_METRICS_PORT must be 0..65535");
            return MM_ERR_INVALID;
        }
        cfg->worker_metrics_port = v;
    }
    const char *lvl = getenv("MATCHMAKER_LOG_LEVEL");
    if (lvl != NULL && mm_log_level_parse(lvl, &cfg->log_level) != 0) {
        snprintf(err, errlen,
                 "config: MATCHMAKER_LOG_LEVEL must be one of error, warn, info, "
                 "debug");
        return MM_ERR_INVALID;
    }
    return MM_OK;
}

mm_status mm_config_load(const char *path, mm_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (path == NULL)
        path = getenv("MATCHMAKER_CONFIG");
    if (path == NULL || path[0] == '\0') {
        snprintf(err, errlen,
                 "config: no configuration file given (use -c FILE or set "
                 "MATCHMAKER_CONFIG)");
        return MM_ERR_INVALID;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "config: cannot open %s: %s", path, strerror(errno));
        return MM_ERR_IO;
    }
    char *buf = malloc(MM_CONFIG_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        snprintf(err, errlen, "config: out of memory");
        return MM_ERR_NOMEM;
    }
    size_t len = fread(buf, 1, MM_CONFIG_MAX_BYTES + 1, f);
    int rerr = ferror(f);
    fclose(f);
    mm_status st;
    if (rerr) {
        snprintf(err, errlen, "config: cannot read %s", path);
        st = MM_ERR_IO;
    } else {
        st = mm_config_parse(buf, len, out, err, errlen);
        if (st == MM_OK) {
            st = mm_config_apply_env(out, err, errlen);
            if (st == MM_OK)
                st = mm_config_check_secret(out, err, errlen);
            if (st != MM_OK)
                mm_config_free(out);
        }
    }
    free(buf);
    return st;
}

mm_status mm_config_start(const char *prog, const char *log_path, const char *config_path,
                          mm_config *out)
{
    mm_log_init(prog, MM_LOG_INFO);
    if (log_path != NULL && mm_log_open(log_path) != 0) {
        fprintf(stderr, "%s: cannot open log file %s: %s\n", prog, log_path, strerror(errno));
        memset(out, 0, sizeof(*out));
        return MM_ERR_IO;
    }
    char err[512];
    mm_status st = mm_config_load(config_path, out, err, sizeof(err));
    if (st != MM_OK) {
        mm_log_error("msg=\"refusing to start\" reason=\"%s\"", err);
        return st;
    }
    mm_log_set_level(out->log_level);
    return MM_OK;
}

void mm_config_free(mm_config *cfg)
{
    for (size_t i = 0; i < MM_ARRAY_LEN(string_keys); i++) {
        char **slot = string_at(cfg, string_keys[i].offset);
        free(*slot);
        *slot = NULL;
    }
    for (size_t i = 0; i < cfg->nproducts; i++) {
        free(cfg->products[i].product_id);
        free(cfg->products[i].game_server_url);
        free(cfg->products[i].game_socket_url);
        free(cfg->products[i].redis_url);
        free(cfg->products[i].sentinels);
        free(cfg->products[i].settings_json);
    }
    free(cfg->products);
    cfg->products = NULL;
    cfg->nproducts = 0;
}

const mm_product *mm_config_product(const mm_config *cfg, const char *id, size_t len)
{
    for (size_t i = 0; i < cfg->nproducts; i++) {
        const char *p = cfg->products[i].product_id;
        if (strlen(p) == len && memcmp(p, id, len) == 0)
            return &cfg->products[i];
    }
    return NULL;
}
