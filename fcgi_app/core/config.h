/* The configuration file (one JSON document shared by both programs), its
 * defaults, its validation, and the environment overrides. An mm_config owns
 * all its strings; mm_config_free releases them. */
#ifndef MM_CONFIG_H
#define MM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "game_state.h"
#include "log.h"
#include "mm.h"
#include "sentinel.h"

#define MM_CONFIG_MAX_BYTES (1 << 20)
#define MM_CONFIG_MAX_PRODUCTS 256
#define MM_NUM_PLAYERS_MIN 2
#define MM_NUM_PLAYERS_MAX 64
#define MM_SECRET_MIN 32 /* bytes of secret_key, unless insecure_dev_secret */
/* cors_allow_origin goes into every response head, whose buffer is bounded */
#define MM_CORS_ORIGIN_MAX 256

/* SPEC 13: where the lobby's changes are published by default: the publisher socket of
 * the host's nginx (nginx/matchmaker-server.conf.in). */
#define MM_LOBBY_PUBLISHER_DEFAULT "unix:/run/matchmaker-live/publish.sock"

/* SPEC 12: a product's lobby filters, declared in its "lobby_filters". */
#define MM_FILTERS_MAX 4        /* keys per product */
#define MM_FILTER_VALUES_MAX 16 /* values per key */
#define MM_FILTER_NAME_MAX 32   /* bytes of a key or a value, [A-Za-z0-9_-] */

typedef struct {
    char name[MM_FILTER_NAME_MAX + 1];
    char values[MM_FILTER_VALUES_MAX][MM_FILTER_NAME_MAX + 1];
    int nvalues;
} mm_lobby_filter;

typedef struct {
    char *product_id;
    char *game_server_url; /* no trailing slash */
    char *game_socket_url;
    char *settings_json; /* the product's settings object, with num_players */
    char *redis_url;     /* SPEC 14: the product's own Redis (NULL: the global redis_url) */
    /* SPEC 14: the product's own sentinel pair (NULL: none of its own; see
     * mm_config_sentinels). The file may give the list, the master name or both: a name alone
     * is another master on the global sentinels, a list alone keeps the global name. */
    mm_sentinel_set *sentinels;
    bool own_sentinel_list, own_master_name; /* what the file gave, settled after it is read */
    int num_players;
    mm_lobby_filter filters[MM_FILTERS_MAX]; /* in the order declared */
    int nfilters;
} mm_product;

/* The filter of p named name[0..len), or NULL. */
const mm_lobby_filter *mm_product_filter(const mm_product *p, const char *name, size_t len);
/* Whether value[0..len) is one of f's declared values. */
bool mm_filter_allows(const mm_lobby_filter *f, const char *value, size_t len);

typedef struct {
    char *redis_url;
    char *event_stream_url;
    /* SPEC 14: where the sentinels say the primary is (n == 0: at the URL's address; the
     * master name defaults to "mymaster"). The URLs' user, password and database apply
     * either way. The event stream's pair defaults to the data's. */
    mm_sentinel_set redis_sentinels;
    mm_sentinel_set event_stream_sentinels;
    char *secret_key;
    char *cors_allow_origin;
    char *event_group;
    char *metrics_file;           /* the pool's shared counters */
    char *worker_metrics_address; /* where the worker serves /metrics */
    char *lobby_publisher;        /* SPEC 13: "unix:/path" or "http://host:port"; "": off */
    mm_log_level log_level;
    long lobby_default_page_size;
    long lobby_max_page_size;
    long game_server_connect_timeout_ms;
    long game_server_timeout_ms;
    long redis_timeout_ms;
    long redis_min_replicas_ack; /* SPEC 14: replicas each write waits for (WAIT) */
    long expiry_seconds[MM_STATE_COUNT];
    long curation_interval_ms;
    long curation_batch_size;
    long event_claim_idle_ms;
    long event_max_deliveries;       /* then an entry that cannot be applied is dead-lettered */
    long event_stream_max_len;       /* the stream is trimmed towards this many entries */
    long event_consumer_max_idle_ms; /* idle consumers with nothing pending are removed */
    /* SPEC 11, per user and product (0: no limit) */
    long max_open_games_per_user;  /* games created and not started */
    long max_seats_per_user;       /* seats held in games not in progress */
    long user_requests_per_minute; /* create/join/quick_match calls */
    /* SPEC 11: a game server failing this many times in a row is not called for the
     * cooldown, by any process of the host's pool */
    long game_server_failure_threshold;
    long game_server_cooldown_ms;
    long worker_metrics_port;      /* 0: off */
    long lobby_publish_timeout_ms; /* one publish, connecting included */
    /* GET /game_lobby/_bench/noop answers a constant body (the benchmark's
     * FastCGI ceiling); off by default, so the path is an unknown one. */
    bool bench_noop_route;
    /* A short or missing secret_key is accepted (development only: SPEC 11). */
    bool insecure_dev_secret;
    mm_product *products;
    size_t nproducts;
} mm_config;

/* Parses a configuration document (no I/O, no environment). On failure
 * returns MM_ERR_INVALID and one line naming the problem in err; *out is
 * left empty. */
mm_status mm_config_parse(const char *json, size_t len, mm_config *out, char *err, size_t errlen);

/* Reads path (or, when NULL, $MATCHMAKER_CONFIG), parses it, applies the
 * MATCHMAKER_* environment overrides and checks the secret
 * (mm_config_check_secret). */
mm_status mm_config_load(const char *path, mm_config *out, char *err, size_t errlen);

/* The start of both programs: logs as prog (appending to log_path instead of stderr when
 * it is not NULL), then loads the configuration as mm_config_load and applies its log
 * level. On failure says why -- on stderr when the log cannot be opened, in the log when
 * the configuration is refused -- and *out is left empty. */
mm_status mm_config_start(const char *prog, const char *log_path, const char *config_path,
                          mm_config *out);

/* Applies MATCHMAKER_REDIS_URL, MATCHMAKER_EVENT_STREAM_URL,
 * MATCHMAKER_SECRET_KEY, MATCHMAKER_LOG_LEVEL, MATCHMAKER_METRICS_FILE and
 * MATCHMAKER_WORKER_METRICS_PORT. */
mm_status mm_config_apply_env(mm_config *cfg, char *err, size_t errlen);

/* SPEC 11: no secret, the old default "change-me" or one shorter than MM_SECRET_MIN bytes is
 * refused (one line naming the problem in err), unless insecure_dev_secret is set. */
mm_status mm_config_check_secret(const mm_config *cfg, char *err, size_t errlen);

void mm_config_free(mm_config *cfg);

/* The Redis URL of p's games: its own, or the global one. */
const char *mm_config_redis_url(const mm_config *cfg, const mm_product *p);
/* The sentinels that find p's primary (NULL p: the global deployment's): p's own pair; else
 * none when p names a Redis URL of its own (it is reached at that address); else the global
 * pair. NULL or n == 0: the URL's address. */
const mm_sentinel_set *mm_config_sentinels(const mm_config *cfg, const mm_product *p);

/* The registered product with this id, or NULL. */
const mm_product *mm_config_product(const mm_config *cfg, const char *id, size_t len);

#endif
