/* HS256 JWT verification and signing. The token is untrusted: every step is bounded (length,
 * JSON depth, claim sizes) and the signature is checked before the payload is parsed, so an
 * attacker without the secret only ever reaches the base64 decoder and the header parser. */
#include "jwt.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define JWT_JSON_DEPTH 16
#define JWT_SIG_LEN 32     /* HMAC-SHA256 */
#define JWT_SIG_B64_LEN 43 /* 32 bytes in unpadded base64url */

static const char jwt_header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
/* jwt_header_json in base64url: the header of every token mm_jwt_sign makes and of most
 * tokens anyone makes. A token that starts with exactly these bytes has alg HS256, so its
 * header needs no decoding or parsing (test_jwt checks the two agree). */
static const char jwt_header_b64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

static size_t b64url_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

/* Writes the unpadded encoding of in[0..n) to out (b64url_encoded_len(n) bytes, no NUL). */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
    }
}

/* Strict unpadded base64url: only the 64 alphabet characters, no '=', no length that cannot
 * come from an encoder (n % 4 == 1), and the unused low bits of the last character must be
 * zero, so each token has exactly one spelling. out holds at least n / 4 * 3 + 2 bytes. */
static bool b64url_decode(const char *in, size_t n, unsigned char *out, size_t *out_len)
{
    if (n % 4 == 1)
        return false;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0)
            return false;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0)
        return false;
    *out_len = o;
    return true;
}

/* Decodes part into a fresh arena buffer. Returns MM_JWT_OK, MM_JWT_MALFORMED or NOMEM. */
static mm_jwt_result decode_part(mm_arena *a, const char *part, size_t n, unsigned char **out,
                                 size_t *out_len)
{
    unsigned char *buf = mm_arena_alloc(a, n / 4 * 3 + 2);
    if (buf == NULL)
        return MM_JWT_NOMEM;
    if (!b64url_decode(part, n, buf, out_len))
        return MM_JWT_MALFORMED;
    *out = buf;
    return MM_JWT_OK;
}

/* Parses exactly buf[0..n) as one JSON value (trailing whitespace allowed, nothing else).
 * Returns a new reference or NULL. */
static json_object *parse_json(const unsigned char *buf, size_t n)
{
    json_object *obj = NULL;
    json_tokener *tok = json_tokener_new_ex(JWT_JSON_DEPTH);
    if (tok == NULL)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, (const char *)buf, (int)n);
    if (obj != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
                        json_tokener_get_parse_end(tok) != n)) {
        json_object_put(obj);
        obj = NULL;
    }
    json_tokener_free(tok);
    return obj;
}

/* A non-empty string claim of at most max bytes, copied into the arena. */
static mm_jwt_result string_claim(mm_arena *a, json_object *v, size_t max, const char **out)
{
    if (!json_object_is_type(v, json_type_string))
        return MM_JWT_BAD_CLAIMS;
    int len = json_object_get_string_len(v);
    if (len <= 0 || (size_t)len > max)
        return MM_JWT_BAD_CLAIMS;
    const char *s = json_object_get_string(v);
    /* well-formed UTF-8 without control characters: safe to log and to pass on to game
     * servers */
    if (mm_text_has_control(s, (size_t)len) || !mm_utf8_valid(s, (size_t)len))
        return MM_JWT_BAD_CLAIMS;
    char *copy = mm_arena_strndup(a, s, (size_t)len);
    if (copy == NULL)
        return MM_JWT_NOMEM;
    *out = copy;
    return MM_JWT_OK;
}

/* user_id: a string, or an integer given as its decimal string. json-c saturates integers
 * outside int64 to INT64_MIN/INT64_MAX without telling; values beyond INT64_MAX are seen
 * through the uint64 accessor, but those below INT64_MIN cannot be told from INT64_MIN
 * itself, so INT64_MIN is refused rather than risk naming the wrong user. */
static mm_jwt_result user_id_claim(mm_arena *a, json_object *v, const char **out)
{
    if (!json_object_is_type(v, json_type_int))
        return string_claim(a, v, MM_JWT_USER_ID_MAX, out);
    int64_t id = json_object_get_int64(v);
    if (id == INT64_MIN || (id == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX))
        return MM_JWT_BAD_CLAIMS;
    char *s = mm_arena_printf(a, "%" PRId64, id);
    if (s == NULL)
        return MM_JWT_NOMEM;
    *out = s;
    return MM_JWT_OK;
}

/* Reads an optional numeric time claim. Returns false if present but not a finite number. */
static bool time_claim(json_object *payload, const char *key, bool *present, double *value)
{
    json_object *v = NULL;
    *present = json_object_object_get_ex(payload, key, &v);
    if (!*present)
        return true;
    if (json_object_is_type(v, json_type_int)) {
        *value = (double)json_object_get_int64(v);
        return true;
    }
    if (json_object_is_type(v, json_type_double)) {
        *value = json_object_get_double(v);
        return isfinite(*value);
    }
    return false;
}

static mm_jwt_result check_alg(const unsigned char *json, size_t n)
{
    mm_jwt_result r = MM_JWT_MALFORMED;
    json_object *header = parse_json(json, n);
    json_object *alg = NULL;
    if (header == NULL || !json_object_is_type(header, json_type_object))
        goto out;
    r = MM_JWT_BAD_ALG;
    if (!json_object_object_get_ex(header, "alg", &alg) ||
        !json_object_is_type(alg, json_type_string))
        goto out;
    /* Compare with the length so "HS256\u0000..." does not pass. */
    if (json_object_get_string_len(alg) != 5 ||
        memcmp(json_object_get_string(alg), "HS256", 5) != 0)
        goto out;
    r = MM_JWT_OK;
out:
    json_object_put(header);
    return r;
}

/* OpenSSL 3 looks the MAC and the digest up by name on every one-shot HMAC() call, and
 * keying an HMAC hashes the key into two digest states. Both are done once per thread:
 * each thread keeps one HMAC-SHA256 context keyed with the secret it last used, and every
 * verification re-initialises it with that key (EVP_MAC_init with a NULL key starts again
 * from the keyed states, without allocating). A call with another secret rekeys it. The
 * context is the thread's own, so threads never share one; it is freed when the thread
 * ends. */
typedef struct {
    EVP_MAC_CTX *ctx;
    unsigned char *key;
    size_t key_len;
} hmac_slot;

static pthread_key_t hmac_key;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static bool hmac_key_ok;

static void hmac_slot_free(void *p)
{
    hmac_slot *slot = p;
    if (slot == NULL)
        return;
    EVP_MAC_CTX_free(slot->ctx);
    if (slot->key != NULL)
        OPENSSL_cleanse(slot->key, slot->key_len);
    free(slot->key);
    free(slot);
}

static void hmac_key_create(void)
{
    hmac_key_ok = pthread_key_create(&hmac_key, hmac_slot_free) == 0;
}

/* This thread's context keyed with secret, ready for EVP_MAC_update; NULL on failure. */
static EVP_MAC_CTX *hmac_for(const unsigned char *secret, size_t secret_len)
{
    if (pthread_once(&hmac_once, hmac_key_create) != 0 || !hmac_key_ok)
        return NULL;
    hmac_slot *slot = pthread_getspecific(hmac_key);
    if (slot != NULL && slot->key_len == secret_len &&
        CRYPTO_memcmp(slot->key, secret, secret_len) == 0)
        return EVP_MAC_init(slot->ctx, NULL, 0, NULL) == 1 ? slot->ctx : NULL;

    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    hmac_slot *fresh = calloc(1, sizeof(*fresh));
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (fresh != NULL && mac != NULL) {
        fresh->ctx = EVP_MAC_CTX_new(mac);
        fresh->key = malloc(secret_len);
    }
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (fresh == NULL || fresh->ctx == NULL || fresh->key == NULL ||
        EVP_MAC_init(fresh->ctx, secret, secret_len, params) != 1 ||
        pthread_setspecific(hmac_key, fresh) != 0) {
        hmac_slot_free(fresh);
        return NULL;
    }
    memcpy(fresh->key, secret, secret_len);
    fresh->key_len = secret_len;
    hmac_slot_free(slot);
    return fresh->ctx;
}

/* HMAC-SHA256 of data under secret into md[32]. */
static bool hs256(const unsigned char *secret, size_t secret_len, const char *data, size_t n,
                  unsigned char md[JWT_SIG_LEN])
{
    if (secret == NULL || secret_len == 0)
        return false;
    EVP_MAC_CTX *c = hmac_for(secret, secret_len);
    size_t len = 0;
    return c != NULL && EVP_MAC_update(c, (const unsigned char *)data, n) == 1 &&
           EVP_MAC_final(c, md, &len, JWT_SIG_LEN) == 1 && len == JWT_SIG_LEN;
}

static mm_jwt_result check_claims(mm_arena *a, const unsigned char *json, size_t n, int64_t now_s,
                                  mm_jwt_claims *out)
{
    mm_jwt_result r = MM_JWT_MALFORMED;
    json_object *payload = parse_json(json, n);
    json_object *v = NULL;
    bool present = false;
    double t = 0;
    mm_jwt_claims claims = {NULL, NULL};
    if (payload == NULL)
        goto out;
    r = MM_JWT_BAD_CLAIMS;
    if (!json_object_is_type(payload, json_type_object))
        goto out;

    /* exp is the first second at which the token is no longer valid (RFC 7519 4.1.4). */
    if (!time_claim(payload, "exp", &present, &t))
        goto out;
    if (present && (double)now_s >= t) {
        r = MM_JWT_EXPIRED;
        goto out;
    }
    if (!time_claim(payload, "nbf", &present, &t))
        goto out;
    if (present && (double)now_s < t) {
        r = MM_JWT_NOT_YET_VALID;
        goto out;
    }

    if (!json_object_object_get_ex(payload, "user_id", &v))
        goto out;
    r = user_id_claim(a, v, &claims.user_id);
    if (r != MM_JWT_OK)
        goto out;
    r = MM_JWT_BAD_CLAIMS;
    if (!json_object_object_get_ex(payload, "username", &v))
        goto out;
    r = string_claim(a, v, MM_JWT_USERNAME_MAX, &claims.username);
    if (r != MM_JWT_OK)
        goto out;
    *out = claims;
out:
    json_object_put(payload);
    return r;
}

mm_jwt_result mm_jwt_verify(mm_arena *a, const char *token, size_t len, const unsigned char *secret,
                            size_t secret_len, int64_t now_s, mm_jwt_claims *out)
{
    if (token == NULL)
        return MM_JWT_MALFORMED;
    if (len > MM_JWT_MAX_LEN)
        return MM_JWT_TOO_LARGE;

    const char *dot1 = memchr(token, '.', len);
    if (dot1 == NULL)
        return MM_JWT_MALFORMED;
    const char *dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
    if (dot2 == NULL)
        return MM_JWT_MALFORMED;
    const char *end = token + len;
    if (memchr(dot2 + 1, '.', (size_t)(end - (dot2 + 1))) != NULL)
        return MM_JWT_MALFORMED;
    size_t header_len = (size_t)(dot1 - token);
    size_t payload_len = (size_t)(dot2 - (dot1 + 1));
    size_t sig_len = (size_t)(end - (dot2 + 1));
    if (header_len == 0 || payload_len == 0 || sig_len == 0)
        return MM_JWT_MALFORMED;

    unsigned char *json = NULL;
    size_t json_len = 0;
    mm_jwt_result r = MM_JWT_OK;
    if (header_len != sizeof(jwt_header_b64) - 1 ||
        memcmp(token, jwt_header_b64, header_len) != 0) {
        r = decode_part(a, token, header_len, &json, &json_len);
        if (r != MM_JWT_OK)
            return r;
        r = check_alg(json, json_len);
        if (r != MM_JWT_OK)
            return r;
    }

    unsigned char sig[JWT_SIG_LEN + 2];
    size_t got = 0;
    if (sig_len > JWT_SIG_B64_LEN) {
        /* Too long to be ours; still say MALFORMED for characters outside the alphabet. */
        for (size_t i = 0; i < sig_len; i++)
            if (b64url_value((unsigned char)dot2[1 + i]) < 0)
                return MM_JWT_MALFORMED;
        return MM_JWT_BAD_SIGNATURE;
    }
    if (!b64url_decode(dot2 + 1, sig_len, sig, &got))
        return MM_JWT_MALFORMED;
    if (got != JWT_SIG_LEN)
        return MM_JWT_BAD_SIGNATURE;
    unsigned char md[JWT_SIG_LEN];
    if (!hs256(secret, secret_len, token, (size_t)(dot2 - token), md))
        return MM_JWT_BAD_SIGNATURE;
    if (CRYPTO_memcmp(md, sig, JWT_SIG_LEN) != 0)
        return MM_JWT_BAD_SIGNATURE;

    r = decode_part(a, dot1 + 1, payload_len, &json, &json_len);
    if (r != MM_JWT_OK)
        return r;
    return check_claims(a, json, json_len, now_s, out);
}

mm_jwt_result mm_jwt_verify_header(mm_arena *a, const char *header, size_t len,
                                   const unsigned char *secret, size_t secret_len, int64_t now_s,
                                   mm_jwt_claims *out)
{
    if (header == NULL)
        return MM_JWT_MALFORMED;
    if (len > MM_JWT_MAX_LEN)
        return MM_JWT_TOO_LARGE;
    const char *space = memchr(header, ' ', len);
    if (space == NULL || space == header)
        return MM_JWT_MALFORMED;
    size_t skip = (size_t)(space - header) + 1;
    return mm_jwt_verify(a, header + skip, len - skip, secret, secret_len, now_s, out);
}

const char *mm_jwt_result_name(mm_jwt_result r)
{
    switch (r) {
    case MM_JWT_OK: return "ok";
    case MM_JWT_MALFORMED: return "malformed";
    case MM_JWT_BAD_ALG: return "bad_alg";
    case MM_JWT_BAD_SIGNATURE: return "bad_signature";
    case MM_JWT_EXPIRED: return "expired";
    case MM_JWT_NOT_YET_VALID: return "not_yet_valid";
    case MM_JWT_BAD_CLAIMS: return "bad_claims";
    case MM_JWT_TOO_LARGE: return "too_large";
    case MM_JWT_NOMEM: return "nomem";
    }
    return "unknown";
}

char *mm_jwt_sign(mm_arena *a, const char *payload_json, const unsigned char *secret,
                  size_t secret_len)
{
    if (payload_json == NULL)
        return NULL;
    size_t payload_len = strnlen(payload_json, MM_JWT_MAX_LEN + 1);
    size_t h = b64url_encoded_len(sizeof(jwt_header_json) - 1);
    size_t p = b64url_encoded_len(payload_len);
    size_t total = h + 1 + p + 1 + JWT_SIG_B64_LEN;
    if (total > MM_JWT_MAX_LEN)
        return NULL;
    char *token = mm_arena_alloc(a, total + 1);
    if (token == NULL)
        return NULL;
    b64url_encode((const unsigned char *)jwt_header_json, sizeof(jwt_header_json) - 1, token);
    token[h] = '.';
    b64url_encode((const unsigned char *)payload_json, payload_len, token + h + 1);
    unsigned char md[JWT_SIG_LEN];
    if (!hs256(secret, secret_len, token, h + 1 + p, md))
        return NULL;
    token[h + 1 + p] = '.';
    b64url_encode(md, JWT_SIG_LEN, token + h + 1 + p + 1);
    token[total] = '\0';
    return token;
}
