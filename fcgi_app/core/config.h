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

#define MM_CONFIG_MAX_BYTES (1 << 20)
#define MM_CONFIG_MAX_PRODUCTS 256
#define MM_NUM_PLAYERS_MIN 2
#define MM_NUM_PLAYERS_MAX 64
/* cors_allow_origin goes into every response head, whose buffer is bounded */
#define MM_CORS_ORIGIN_MAX 256

typedef struct {
    char *product_id;
    char *game_server_url; /* no trailing slash */
    char *game_socket_url;
    char *settings_json; /* the product's settings object, with num_players */
    int num_players;
} mm_product;

typedef struct {
    char *redis_url;
    char *event_stream_url;
    char *secret_key;
    char *cors_allow_origin;
    char *event_group;
    char *metrics_file;           /* the pool's shared counters */
    char *worker_metrics_address; /* where the worker serves /metrics */
    mm_log_level log_level;
    long lobby_default_page_size;
    long lobby_max_page_size;
    long game_server_connect_timeout_ms;
    long game_server_timeout_ms;
    long redis_timeout_ms;
    long expiry_seconds[MM_STATE_COUNT];
    long curation_interval_ms;
    long curation_batch_size;
    long event_claim_idle_ms;
    long event_max_deliveries;       /* then an entry that cannot be applied is dead-lettered */
    long event_stream_max_len;       /* the stream is trimmed towards this many entries */
    long event_consumer_max_idle_ms; /* idle consumers with nothing pending are removed */
    long worker_metrics_port;        /* 0: off */
    /* GET /game_lobby/_bench/noop answers a constant body (the benchmark's
     * FastCGI ceiling); off by default, so the path is an unknown one. */
    bool bench_noop_route;
    mm_product *products;
    size_t nproducts;
} mm_config;

/* Parses a configuration document (no I/O, no environment). On failure
 * returns MM_ERR_INVALID and one line naming the problem in err; *out is
 * left empty. */
mm_status mm_config_parse(const char *json, size_t len, mm_config *out, char *err, size_t errlen);

/* Reads path (or, when NULL, $MATCHMAKER_CONFIG), parses it and applies the
 * MATCHMAKER_* environment overrides. */
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

void mm_config_free(mm_config *cfg);

/* The registered product with this id, or NULL. */
const mm_product *mm_config_product(const mm_config *cfg, const char *id, size_t len);

#endif
