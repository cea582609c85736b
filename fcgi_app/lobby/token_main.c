/* matchmaker-token: mints a development access token signed like the game portal's, so the
 * lobby can be exercised without the portal. The secret comes from --secret, else
 * MATCHMAKER_SECRET_KEY, else the config file's "secret_key" (read here with json-c, not
 * through the config module, so the tool works with a config that names no products). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "jwt.h"
#include "text.h"

#define CONFIG_MAX ((size_t)1024 * 1024)
#define TTL_DEFAULT 3600
#define TTL_MAX (10LL * 365 * 24 * 3600)

typedef enum { TOKEN_OK = 0, TOKEN_FAIL = 1, TOKEN_USAGE = 2 } token_status;

static void usage(FILE *f)
{
    fprintf(f, "usage: matchmaker-token [-c CONFIG] [--secret S] --user-id ID --username NAME"
               " [--ttl SECONDS]\n"
               "Prints a signed HS256 access token. Secret: --secret, else $MATCHMAKER_SECRET_KEY,"
               "\nelse \"secret_key\" from CONFIG (or $MATCHMAKER_CONFIG).\n");
}

/* Reads at most CONFIG_MAX bytes of path into buf (CONFIG_MAX + 1 bytes). */
static token_status read_bounded(const char *path, char *buf, size_t *len)
{
    token_status st = TOKEN_FAIL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "matchmaker-token: cannot open %s: %s\n", path, strerror(errno));
        return TOKEN_FAIL;
    }
    size_t n = fread(buf, 1, CONFIG_MAX + 1, f);
    if (ferror(f)) {
        fprintf(stderr, "matchmaker-token: cannot read %s\n", path);
        goto out;
    }
    if (n > CONFIG_MAX) {
        fprintf(stderr, "matchmaker-token: %s is over %zu bytes\n", path, CONFIG_MAX);
        goto out;
    }
    *len = n;
    st = TOKEN_OK;
out:
    fclose(f);
    return st;
}

/* Copies the config file's "secret_key" into a; a file without one is an error (the servers
 * have no default secret either). */
static token_status secret_from_config(mm_arena *a, const char *path, const char **secret)
{
    token_status st = TOKEN_FAIL;
    json_tokener *tok = NULL;
    json_object *root = NULL;
    json_object *v = NULL;
    size_t len = 0;
    char *buf = mm_arena_alloc(a, CONFIG_MAX + 1);
    if (buf == NULL) {
        fprintf(stderr, "matchmaker-token: out of memory\n");
        goto out;
    }
    if (read_bounded(path, buf, &len) != TOKEN_OK)
        goto out;
    tok = json_tokener_new_ex(32);
    if (tok == NULL) {
        fprintf(stderr, "matchmaker-token: out of memory\n");
        goto out;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, buf, (int)len);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len || !json_object_is_type(root, json_type_object)) {
        fprintf(stderr, "matchmaker-token: %s is not a JSON object\n", path);
        goto out;
    }
    if (!json_object_object_get_ex(root, "secret_key", &v)) {
        fprintf(stderr, "matchmaker-token: %s has no secret_key (give one with --secret)\n", path);
        goto out;
    }
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0) {
        fprintf(stderr, "matchmaker-token: %s: secret_key must be a non-empty string\n", path);
        goto out;
    }
    *secret = mm_arena_strndup(a, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    if (*secret == NULL) {
        fprintf(stderr, "matchmaker-token: out of memory\n");
        goto out;
    }
    st = TOKEN_OK;
out:
    json_object_put(root);
    if (tok != NULL)
        json_tokener_free(tok);
    return st;
}

static token_status parse_ttl(const char *s, long long *ttl)
{
    char *end = NULL;
    if (s[0] < '0' || s[0] > '9')
        return TOKEN_USAGE;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0 || v > TTL_MAX)
        return TOKEN_USAGE;
    *ttl = v;
    return TOKEN_OK;
}

/* 16 random bytes as 32 lowercase hex characters. */
static token_status new_jti(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    if (RAND_bytes(b, (int)sizeof(b)) != 1)
        return TOKEN_FAIL;
    for (size_t i = 0; i < sizeof(b); i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 0x0f];
    }
    out[32] = '\0';
    return TOKEN_OK;
}

static int add(json_object *obj, const char *key, json_object *v)
{
    if (v == NULL)
        return -1;
    if (json_object_object_add(obj, key, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

/* Builds the payload and prints the token. */
static token_status mint(mm_arena *a, const char *secret, const char *user_id, const char *username,
                         long long ttl)
{
    token_status st = TOKEN_FAIL;
    char jti[33];
    json_object *payload = json_object_new_object();
    int64_t now = (int64_t)time(NULL);
    if (payload == NULL || new_jti(jti) != TOKEN_OK)
        goto out;
    if (add(payload, "user_id", json_object_new_string(user_id)) != 0 ||
        add(payload, "username", json_object_new_string(username)) != 0 ||
        add(payload, "token_type", json_object_new_string("access")) != 0 ||
        add(payload, "iat", json_object_new_int64(now)) != 0 ||
        add(payload, "exp", json_object_new_int64(now + ttl)) != 0 ||
        add(payload, "jti", json_object_new_string(jti)) != 0)
        goto out;
    const char *json = json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN);
    if (json == NULL)
        goto out;
    char *token = mm_jwt_sign(a, json, (const unsigned char *)secret, strlen(secret));
    if (token == NULL)
        goto out;
    if (printf("%s\n", token) < 0 || fflush(stdout) != 0)
        goto out;
    st = TOKEN_OK;
out:
    if (st != TOKEN_OK)
        fprintf(stderr, "matchmaker-token: could not mint the token\n");
    json_object_put(payload);
    return st;
}

/* The verifier would refuse anything else; say so now rather than mint a useless token. */
static int claim_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > 0 && n <= max && !mm_text_has_control(s, n) && mm_utf8_valid(s, n);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"secret", required_argument, NULL, 's'},
        {"user-id", required_argument, NULL, 'u'},
        {"username", required_argument, NULL, 'n'},
        {"ttl", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    const char *secret = NULL;
    const char *user_id = NULL;
    const char *username = NULL;
    long long ttl = TTL_DEFAULT;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 's': secret = optarg; break;
        case 'u': user_id = optarg; break;
        case 'n': username = optarg; break;
        case 't':
            if (parse_ttl(optarg, &ttl) != TOKEN_OK) {
                fprintf(stderr, "matchmaker-token: --ttl must be 1..%lld seconds\n", TTL_MAX);
                return TOKEN_USAGE;
            }
            break;
        case 'h': usage(stdout); return TOKEN_OK;
        default: usage(stderr); return TOKEN_USAGE;
        }
    }
    if (optind != argc || user_id == NULL || username == NULL) {
        usage(stderr);
        return TOKEN_USAGE;
    }
    if (!claim_ok(user_id, MM_JWT_USER_ID_MAX) || !claim_ok(username, MM_JWT_USERNAME_MAX)) {
        fprintf(stderr,
                "matchmaker-token: --user-id (max %d bytes) and --username (max %d"
                " bytes) must be non-empty UTF-8 text, without control characters\n",
                MM_JWT_USER_ID_MAX, MM_JWT_USERNAME_MAX);
        return TOKEN_USAGE;
    }

    mm_arena *a = mm_arena_new((size_t)4 * 1024 * 1024);
    if (a == NULL) {
        fprintf(stderr, "matchmaker-token: out of memory\n");
        return TOKEN_FAIL;
    }
    token_status st = TOKEN_FAIL;
    if (secret == NULL) {
        const char *env = getenv("MATCHMAKER_SECRET_KEY");
        if (env != NULL && env[0] != '\0')
            secret = env;
    }
    if (secret == NULL) {
        if (config_path == NULL)
            config_path = getenv("MATCHMAKER_CONFIG");
        if (config_path == NULL || config_path[0] == '\0') {
            fprintf(stderr, "matchmaker-token: no secret: give --secret, set"
                            " MATCHMAKER_SECRET_KEY, or name a config with -c\n");
            st = TOKEN_USAGE;
            goto out;
        }
        if (secret_from_config(a, config_path, &secret) != TOKEN_OK)
            goto out;
    }
    if (secret[0] == '\0') {
        fprintf(stderr, "matchmaker-token: the secret must not be empty\n");
        st = TOKEN_USAGE;
        goto out;
    }
    st = mint(a, secret, user_id, username, ttl);
out:
    mm_arena_free(a);
    return st;
}
