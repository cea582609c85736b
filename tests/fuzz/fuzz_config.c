/* Fuzz target: the configuration parser (config.h, mm_config_parse: the buffer entry point
 * mm_config_load reads files through). A document that parses has every product findable
 * by its id; one that does not leaves the config empty and names the problem. */
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

/* What config.h and the README promise of an accepted game_server_url: http:// or https://,
 * a host after it, no trailing slash. */
static bool good_server_url(const char *u)
{
    size_t scheme = strncmp(u, "http://", 7) == 0 ? 7 : strncmp(u, "https://", 8) == 0 ? 8 : 0;
    size_t len = strlen(u);
    return scheme > 0 && len > scheme && u[len - 1] != '/';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mm_config cfg;
    char err[256] = "";
    if (mm_config_parse((const char *)data, size, &cfg, err, sizeof(err)) != MM_OK) {
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(cfg.products == NULL && cfg.nproducts == 0 && cfg.redis_url == NULL &&
                   cfg.secret_key == NULL);
        return 0;
    }
    FUZZ_CHECK(cfg.nproducts >= 1 && cfg.nproducts <= MM_CONFIG_MAX_PRODUCTS);
    FUZZ_CHECK(cfg.secret_key != NULL);
    /* the secret check refuses exactly the weak ones (SPEC 11) */
    char why[256];
    FUZZ_CHECK((mm_config_check_secret(&cfg, why, sizeof(why)) == MM_OK) ==
               (cfg.insecure_dev_secret || (strlen(cfg.secret_key) >= MM_SECRET_MIN &&
                                            strcmp(cfg.secret_key, "change-me") != 0)));
    FUZZ_CHECK(cfg.lobby_default_page_size <= cfg.lobby_max_page_size);
    FUZZ_CHECK(strlen(cfg.cors_allow_origin) <= MM_CORS_ORIGIN_MAX);
    for (size_t i = 0; i < cfg.nproducts; i++) {
        const mm_product *p = &cfg.products[i];
        FUZZ_CHECK(mm_config_product(&cfg, p->product_id, strlen(p->product_id)) == p);
        FUZZ_CHECK(p->num_players >= MM_NUM_PLAYERS_MIN && p->num_players <= MM_NUM_PLAYERS_MAX);
        FUZZ_CHECK(p->settings_json != NULL && p->game_socket_url[0] != '\0');
        FUZZ_CHECK(good_server_url(p->game_server_url));
    }
    mm_config_free(&cfg);
    return 0;
}
