/* Unit tests for jwt.c. Tokens are built here with OpenSSL's own base64 and HMAC (not with
 * the code under test) so that each rejection case differs from a valid token in exactly one
 * way; two vectors were computed outside C (openssl dgst, basenc, and the matchmaker-token
 * tool). Tokens are passed in exact-size heap copies so ASan catches any over-read. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "arena.h"
#include "jwt.h"
#include "mm.h"

#define NOW 1700000000
#define STD_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define STD_PAYLOAD "{\"user_id\":\"u1\",\"username\":\"alice\"}"

static const unsigned char secret[] = "unit-test-secret";
#define SECRET_LEN (sizeof(secret) - 1)

/* Computed on the command line:
 *   h=$(printf '%s' "$HEADER" | basenc --base64url -w0 | tr -d =)   (likewise p)
 *   printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -hmac fixed-vector-secret -binary
 *     | basenc --base64url -w0 | tr -d =                                               */
static const char fixed_payload[] =
    "{\"token_type\":\"access\",\"exp\":4102444800,\"iat\":1700000000,\"jti\":\"6f1e0c2a9b8d4e7f\","
    "\"user_id\":\"3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b\",\"username\":\"alice\"}";
static const char fixed_token[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjZm"
    "MWUwYzJhOWI4ZDRlN2YiLCJ1c2VyX2lkIjoiM2YyYjhjMWUtN2E0ZC00ZTVmLTliNmEtMGMxZDJlM2Y0YTViIiwi"
    "dXNlcm5hbWUiOiJhbGljZSJ9."
    "KnhNR0K0Ce-Hbs9mdKbVygjdEGouimp84dMWi24PBGw";

/* Printed by: matchmaker-token --secret cli-secret --user-id 42 --username 'Zoë' --ttl 600
 * (payload: user_id "42", username "Zoë", token_type, iat 1795462300, exp 1795462900, jti). */
static const char cli_token[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJ1c2VyX2lkIjoiNDIiLCJ1c2VybmFtZSI6Ilpvw6siLCJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiaWF0IjoxNzk1"
    "NDYyMzAwLCJleHAiOjE3OTU0NjI5MDAsImp0aSI6IjY5ZmFiYmJjMzY5NDc5NWVkMDU0YTM5ZGNlOTYzZDdjIn0."
    "XT5zXtzGHwlBPB60OvjSJnW5JOGAZBKvBFcKPPX7ljc";

/* ---- helpers ---------------------------------------------------------------------------- */

static int setup(void **state)
{
    *state = mm_arena_new(0);
    return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    mm_arena_free(*state);
    return 0;
}

/* Unpadded base64url via OpenSSL's standard base64, independent of jwt.c's encoder. */
static char *b64(mm_arena *a, const void *data, size_t n)
{
    char *out = mm_arena_alloc(a, 4 * ((n + 2) / 3) + 1);
    assert_non_null(out);
    int len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    assert_true(len >= 0);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return out;
}

static char *b64s(mm_arena *a, const char *s)
{
    return b64(a, s, strlen(s));
}

/* "h64.p64.<HMAC over h64.p64>": the parts are signed exactly as given, even if malformed. */
static char *sign_parts(mm_arena *a, const char *h64, const char *p64, const unsigned char *key,
                        size_t key_len)
{
    char *input = mm_arena_printf(a, "%s.%s", h64, p64);
    assert_non_null(input);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    assert_non_null(
        HMAC(EVP_sha256(), key, (int)key_len, (unsigned char *)input, strlen(input), md, &md_len));
    assert_int_equal(md_len, 32);
    char *token = mm_arena_printf(a, "%s.%s", input, b64(a, md, md_len));
    assert_non_null(token);
    return token;
}

static char *make_token(mm_arena *a, const char *header_json, const char *payload_json)
{
    return sign_parts(a, b64s(a, header_json), b64s(a, payload_json), secret, SECRET_LEN);
}

/* Verifies s[0..n) from an unterminated heap copy of exactly n bytes. */
static mm_jwt_result verify_n(mm_arena *a, const char *s, size_t n, const unsigned char *key,
                              size_t key_len, int64_t now, mm_jwt_claims *c)
{
    char *copy = malloc(n == 0 ? 1 : n);
    assert_non_null(copy);
    memcpy(copy, s, n);
    mm_jwt_result r = mm_jwt_verify(a, copy, n, key, key_len, now, c);
    free(copy);
    return r;
}

static mm_jwt_result verify(mm_arena *a, const char *token, mm_jwt_claims *c)
{
    return verify_n(a, token, strlen(token), secret, SECRET_LEN, NOW, c);
}

static mm_jwt_result verify_header_n(mm_arena *a, const char *s, size_t n, mm_jwt_claims *c)
{
    char *copy = malloc(n == 0 ? 1 : n);
    assert_non_null(copy);
    memcpy(copy, s, n);
    mm_jwt_result r = mm_jwt_verify_header(a, copy, n, secret, SECRET_LEN, NOW, c);
    free(copy);
    return r;
}

static void expect_result(const char *name, mm_jwt_result got, mm_jwt_result want)
{
    if (got != want)
        fail_msg("case \"%s\": got %s, want %s", name, mm_jwt_result_name(got),
                 mm_jwt_result_name(want));
}

static void expect_claims(const char *name, const mm_jwt_claims *c, const char *user_id,
                          const char *username)
{
    if (c->user_id == NULL || strcmp(c->user_id, user_id) != 0)
        fail_msg("case \"%s\": user_id \"%s\", want \"%s\"", name,
                 c->user_id ? c->user_id : "(null)", user_id);
    if (c->username == NULL || strcmp(c->username, username) != 0)
        fail_msg("case \"%s\": username \"%s\", want \"%s\"", name,
                 c->username ? c->username : "(null)", username);
}

/* Replaces the last character of a base64url string by the next one in the alphabet: this
 * sets the lowest bit, which is an unused bit when the length is 2 or 3 mod 4, so a lax
 * decoder would produce the same bytes. */
static void bump_last(char *s)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(s);
    const char *p = strchr(alphabet, s[n - 1]);
    assert_non_null(p);
    assert_true((p - alphabet) % 2 == 0); /* the unused bits are zero before the bump */
    s[n - 1] = p[1];
}

/* ---- well-signed tokens: header and payload JSON, signed correctly ---------------------- */

typedef struct {
    const char *name;
    const char *header;
    const char *payload;
    mm_jwt_result want;
    const char *user_id; /* when want is MM_JWT_OK */
    const char *username;
} signed_case;

/* clang-format off */
#define ACCEPT(name, header, payload, uid, uname) {name, header, payload, MM_JWT_OK, uid, uname}
#define REJECT(name, header, payload, want) {name, header, payload, want, NULL, NULL}
/* clang-format on */

static const signed_case signed_cases[] = {
    ACCEPT("minimal", STD_HEADER, STD_PAYLOAD, "u1", "alice"),
    ACCEPT("portal payload", STD_HEADER,
           "{\"token_type\":\"access\",\"exp\":1700003600,\"iat\":1700000000,"
           "\"jti\":\"8c6f0e52a1b94d3e9f7a2b1c0d4e5f60\","
           "\"user_id\":\"3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b\",\"username\":\"alice\"}",
           "3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b", "alice"),
    ACCEPT("integer user_id", STD_HEADER, "{\"user_id\":42,\"username\":\"bob\"}", "42", "bob"),
    ACCEPT("negative user_id", STD_HEADER, "{\"user_id\":-7,\"username\":\"bob\"}", "-7", "bob"),
    ACCEPT("zero user_id", STD_HEADER, "{\"user_id\":0,\"username\":\"bob\"}", "0", "bob"),
    ACCEPT("int64 max user_id", STD_HEADER,
           "{\"user_id\":9223372036854775807,\"username\":\"bob\"}", "9223372036854775807", "bob"),
    ACCEPT("header without typ", "{\"alg\":\"HS256\"}", STD_PAYLOAD, "u1", "alice"),
    ACCEPT("header with other typ and kid", "{\"typ\":\"at+jwt\",\"kid\":\"k1\",\"alg\":\"HS256\"}",
           STD_PAYLOAD, "u1", "alice"),
    ACCEPT("exp now+1", STD_HEADER,
           "{\"exp\":1700000001,\"user_id\":\"u1\",\"username\":\"alice\"}", "u1", "alice"),
    ACCEPT("exp float just ahead", STD_HEADER,
           "{\"exp\":1700000000.5,\"user_id\":\"u1\",\"username\":\"alice\"}", "u1", "alice"),
    ACCEPT("nbf now", STD_HEADER, "{\"nbf\":1700000000,\"user_id\":\"u1\",\"username\":\"alice\"}",
           "u1", "alice"),
    ACCEPT("nbf past, exp future", STD_HEADER,
           "{\"nbf\":1600000000,\"exp\":1800000000,\"user_id\":\"u1\",\"username\":\"alice\"}",
           "u1", "alice"),
    ACCEPT("utf-8 username raw", STD_HEADER,
           "{\"user_id\":\"u1\",\"username\":\"Zo\xc3\xab \xf0\x9f\x8e\xae\"}", "u1",
           "Zo\xc3\xab \xf0\x9f\x8e\xae"),
    ACCEPT("utf-8 username escaped", STD_HEADER,
           "{\"user_id\":\"u1\",\"username\":\"Zo\\u00eb \\ud83c\\udfae\"}", "u1",
           "Zo\xc3\xab \xf0\x9f\x8e\xae"),
    ACCEPT(
        "unknown claims ignored", STD_HEADER,
        "{\"user_id\":\"u1\",\"username\":\"alice\",\"roles\":[\"a\",{\"b\":null}],\"iat\":\"x\"}",
        "u1", "alice"),
    ACCEPT("trailing whitespace", STD_HEADER, STD_PAYLOAD " \n", "u1", "alice"),

    /* alg */
    REJECT("alg none, signed", "{\"alg\":\"none\",\"typ\":\"JWT\"}", STD_PAYLOAD, MM_JWT_BAD_ALG),
    REJECT("alg HS512", "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", STD_PAYLOAD, MM_JWT_BAD_ALG),
    REJECT("alg RS256", "{\"alg\":\"RS256\"}", STD_PAYLOAD, MM_JWT_BAD_ALG),
    REJECT("alg lowercase", "{\"alg\":\"hs256\"}", STD_PAYLOAD, MM_JWT_BAD_ALG),
    REJECT("alg with NUL", "{\"alg\":\"HS256\\u0000\"}", STD_PAYLOAD, MM_JWT_BAD_ALG),
    REJECT("alg with suffix", "{\"alg\":\"HS2566\"}", STD_PAYLOAD, MM_JWT_BAD_ALG),
    REJECT("alg missing", "{\"typ\":\"JWT\"}", STD_PAYLOAD, MM_JWT_BAD_ALG),
    REJECT("alg not a string", "{\"alg\":256}", STD_PAYLOAD, MM_JWT_BAD_ALG),
    REJECT("alg null", "{\"alg\":null}", STD_PAYLOAD, MM_JWT_BAD_ALG),
    REJECT("header not JSON", "HS256", STD_PAYLOAD, MM_JWT_MALFORMED),
    REJECT("header JSON array", "[\"HS256\"]", STD_PAYLOAD, MM_JWT_MALFORMED),
    REJECT("header JSON string", "\"HS256\"", STD_PAYLOAD, MM_JWT_MALFORMED),
    REJECT("header trailing garbage", "{\"alg\":\"HS256\"}x", STD_PAYLOAD, MM_JWT_MALFORMED),
    REJECT("header two objects", "{\"alg\":\"HS256\"}{}", STD_PAYLOAD, MM_JWT_MALFORMED),
    REJECT("header truncated JSON", "{\"alg\":\"HS256\"", STD_PAYLOAD, MM_JWT_MALFORMED),

    /* payload shape */
    REJECT("payload not JSON", STD_HEADER, "user_id=u1", MM_JWT_MALFORMED),
    REJECT("payload truncated JSON", STD_HEADER, "{\"user_id\":\"u1\"", MM_JWT_MALFORMED),
    REJECT("payload trailing garbage", STD_HEADER, STD_PAYLOAD "x", MM_JWT_MALFORMED),
    REJECT("payload invalid utf-8", STD_HEADER, "{\"user_id\":\"u1\",\"username\":\"a\xff\"}",
           MM_JWT_MALFORMED),
    REJECT("payload too deep", STD_HEADER,
           "{\"user_id\":\"u1\",\"username\":\"a\",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
           MM_JWT_MALFORMED),
    REJECT("payload array", STD_HEADER, "[\"u1\",\"alice\"]", MM_JWT_BAD_CLAIMS),
    REJECT("payload number", STD_HEADER, "42 ", MM_JWT_BAD_CLAIMS),

    /* time claims */
    REJECT("exp == now", STD_HEADER,
           "{\"exp\":1700000000,\"user_id\":\"u1\",\"username\":\"alice\"}", MM_JWT_EXPIRED),
    REJECT("exp past", STD_HEADER, "{\"exp\":1600000000,\"user_id\":\"u1\",\"username\":\"alice\"}",
           MM_JWT_EXPIRED),
    REJECT("exp float just past", STD_HEADER,
           "{\"exp\":1699999999.5,\"user_id\":\"u1\",\"username\":\"alice\"}", MM_JWT_EXPIRED),
    REJECT("exp checked before claims", STD_HEADER, "{\"exp\":1,\"user_id\":null}", MM_JWT_EXPIRED),
    REJECT("exp huge negative", STD_HEADER,
           "{\"exp\":-99999999999999999999999,\"user_id\":\"u1\",\"username\":\"alice\"}",
           MM_JWT_EXPIRED),
    REJECT("nbf now+1", STD_HEADER,
           "{\"nbf\":1700000001,\"user_id\":\"u1\",\"username\":\"alice\"}", MM_JWT_NOT_YET_VALID),
    REJECT("nbf far future", STD_HEADER,
           "{\"nbf\":4102444800,\"exp\":4102448400,\"user_id\":\"u1\",\"username\":\"alice\"}",
           MM_JWT_NOT_YET_VALID),
    REJECT("exp string", STD_HEADER,
           "{\"exp\":\"1700003600\",\"user_id\":\"u1\",\"username\":\"alice\"}", MM_JWT_BAD_CLAIMS),
    REJECT("exp null", STD_HEADER, "{\"exp\":null,\"user_id\":\"u1\",\"username\":\"alice\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("exp bool", STD_HEADER, "{\"exp\":true,\"user_id\":\"u1\",\"username\":\"alice\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("exp infinite", STD_HEADER, "{\"exp\":1e400,\"user_id\":\"u1\",\"username\":\"alice\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("nbf string", STD_HEADER, "{\"nbf\":\"0\",\"user_id\":\"u1\",\"username\":\"alice\"}",
           MM_JWT_BAD_CLAIMS),

    /* user_id */
    REJECT("user_id float", STD_HEADER, "{\"user_id\":42.0,\"username\":\"bob\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("user_id fraction", STD_HEADER, "{\"user_id\":42.5,\"username\":\"bob\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("user_id bool", STD_HEADER, "{\"user_id\":true,\"username\":\"bob\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("user_id null", STD_HEADER, "{\"user_id\":null,\"username\":\"bob\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("user_id object", STD_HEADER, "{\"user_id\":{\"id\":1},\"username\":\"bob\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("user_id array", STD_HEADER, "{\"user_id\":[\"u1\"],\"username\":\"bob\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("user_id missing", STD_HEADER, "{\"username\":\"bob\"}", MM_JWT_BAD_CLAIMS),
    REJECT("user_id empty", STD_HEADER, "{\"user_id\":\"\",\"username\":\"bob\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("user_id over int64", STD_HEADER,
           "{\"user_id\":9223372036854775808,\"username\":\"bob\"}", MM_JWT_BAD_CLAIMS),
    REJECT("user_id under int64", STD_HEADER,
           "{\"user_id\":-9223372036854775809,\"username\":\"bob\"}", MM_JWT_BAD_CLAIMS),
    REJECT("user_id newline", STD_HEADER, "{\"user_id\":\"u\\n1\",\"username\":\"bob\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("user_id NUL", STD_HEADER, "{\"user_id\":\"u\\u00001\",\"username\":\"bob\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("user_id overlong utf-8", STD_HEADER, "{\"user_id\":\"\xc0\xaf\",\"username\":\"bob\"}",
           MM_JWT_BAD_CLAIMS),

    /* username */
    REJECT("username integer", STD_HEADER, "{\"user_id\":\"u1\",\"username\":7}",
           MM_JWT_BAD_CLAIMS),
    REJECT("username missing", STD_HEADER, "{\"user_id\":\"u1\"}", MM_JWT_BAD_CLAIMS),
    REJECT("username empty", STD_HEADER, "{\"user_id\":\"u1\",\"username\":\"\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("username null", STD_HEADER, "{\"user_id\":\"u1\",\"username\":null}",
           MM_JWT_BAD_CLAIMS),
    REJECT("username escape sequence", STD_HEADER,
           "{\"user_id\":\"u1\",\"username\":\"\\u001b[31mred\"}", MM_JWT_BAD_CLAIMS),
    REJECT("username DEL", STD_HEADER, "{\"user_id\":\"u1\",\"username\":\"a\\u007f\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("username tab", STD_HEADER, "{\"user_id\":\"u1\",\"username\":\"a\\tb\"}",
           MM_JWT_BAD_CLAIMS),
    REJECT("username surrogate bytes", STD_HEADER,
           "{\"user_id\":\"u1\",\"username\":\"\xed\xa0\x80\"}", MM_JWT_BAD_CLAIMS),
};

static void test_signed_cases(void **state)
{
    mm_arena *a = *state;
    for (size_t i = 0; i < MM_ARRAY_LEN(signed_cases); i++) {
        const signed_case *c = &signed_cases[i];
        mm_jwt_claims claims = {"untouched", "untouched"};
        mm_jwt_result r = verify(a, make_token(a, c->header, c->payload), &claims);
        expect_result(c->name, r, c->want);
        if (c->want == MM_JWT_OK)
            expect_claims(c->name, &claims, c->user_id, c->username);
        else
            expect_claims(c->name, &claims, "untouched", "untouched");
        mm_arena_reset(a);
    }
}

/* ---- literal tokens that never get as far as the signature ------------------------------ */

typedef struct {
    const char *name;
    const char *token;
    mm_jwt_result want;
} raw_case;

static const raw_case raw_cases[] = {
    {"empty", "", MM_JWT_MALFORMED},
    {"one part", "eyJhbGciOiJIUzI1NiJ9", MM_JWT_MALFORMED},
    {"two parts", "eyJhbGciOiJIUzI1NiJ9.e30", MM_JWT_MALFORMED},
    {"four parts", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA.AAAA", MM_JWT_MALFORMED},
    {"only dots", "..", MM_JWT_MALFORMED},
    {"three dots", "...", MM_JWT_MALFORMED},
    {"empty header", ".e30.AAAA", MM_JWT_MALFORMED},
    {"empty payload", "eyJhbGciOiJIUzI1NiJ9..AAAA", MM_JWT_MALFORMED},
    {"empty signature", "eyJhbGciOiJIUzI1NiJ9.e30.", MM_JWT_MALFORMED},
    {"alg none, empty signature",
     "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ1c2VyX2lkIjoidTEiLCJ1c2VybmFtZSI6ImFsaWNlIn0.",
     MM_JWT_MALFORMED},
    {"alg none, junk signature",
     "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ1c2VyX2lkIjoidTEiLCJ1c2VybmFtZSI6ImFsaWNlIn0.AAAA",
     MM_JWT_BAD_ALG},
    {"header len%4 == 1", "eyJhbGciOiJIUzI1NiJ9A.e30.AAAA", MM_JWT_MALFORMED},
    {"header standard base64", "eyJhbGciOiJIUzI1NiJ9+.e30.AAAA", MM_JWT_MALFORMED},
    {"spaces", "eyJhbGciOiJIUzI1NiJ9 . e30 . AAAA", MM_JWT_MALFORMED},
};

static void test_raw_cases(void **state)
{
    mm_arena *a = *state;
    for (size_t i = 0; i < MM_ARRAY_LEN(raw_cases); i++) {
        mm_jwt_claims claims = {NULL, NULL};
        expect_result(raw_cases[i].name, verify(a, raw_cases[i].token, &claims), raw_cases[i].want);
        mm_arena_reset(a);
    }
}

/* ---- independent vectors ---------------------------------------------------------------- */

static void test_fixed_vector(void **state)
{
    mm_arena *a = *state;
    static const unsigned char key[] = "fixed-vector-secret";
    mm_jwt_claims c = {NULL, NULL};
    expect_result("fixed",
                  verify_n(a, fixed_token, strlen(fixed_token), key, sizeof(key) - 1, NOW, &c),
                  MM_JWT_OK);
    expect_claims("fixed", &c, "3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b", "alice");
    expect_result(
        "fixed at exp",
        verify_n(a, fixed_token, strlen(fixed_token), key, sizeof(key) - 1, 4102444800LL, &c),
        MM_JWT_EXPIRED);
    expect_result("fixed, wrong key", verify(a, fixed_token, &c), MM_JWT_BAD_SIGNATURE);
    /* The signer reproduces the command-line result byte for byte. */
    char *signed_here = mm_jwt_sign(a, fixed_payload, key, sizeof(key) - 1);
    assert_non_null(signed_here);
    assert_string_equal(signed_here, fixed_token);
}

/* A secret longer than SHA-256's 64-byte block is hashed first (RFC 2104).
 * Computed with: openssl dgst -sha256 -hmac "$(printf 'k%.0s' $(seq 100))"
 * over the header and payload, as for fixed_token. */
static void test_long_secret_vector(void **state)
{
    mm_arena *a = *state;
    static const char token[] =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJ1c2VyX2lkIjoidTEiLCJ1c2VybmFtZSI6ImJvYiIsImV4cCI6NDEwMjQ0NDgwMH0."
        "FsQw2Nmniu-97fe_LKwLWO7GR0XqT-UPfcSY9ZM9T0Y";
    unsigned char key[100];
    memset(key, 'k', sizeof(key));
    mm_jwt_claims c = {NULL, NULL};
    expect_result("long secret", verify_n(a, token, strlen(token), key, sizeof(key), NOW, &c),
                  MM_JWT_OK);
    expect_claims("long secret", &c, "u1", "bob");
    expect_result("long secret, one byte short",
                  verify_n(a, token, strlen(token), key, sizeof(key) - 1, NOW, &c),
                  MM_JWT_BAD_SIGNATURE);
}

static void test_cli_token(void **state)
{
    mm_arena *a = *state;
    static const unsigned char key[] = "cli-secret";
    mm_jwt_claims c = {NULL, NULL};
    size_t n = strlen(cli_token);
    expect_result("cli at iat", verify_n(a, cli_token, n, key, sizeof(key) - 1, 1795462300, &c),
                  MM_JWT_OK);
    expect_claims("cli", &c, "42", "Zo\xc3\xab");
    expect_result("cli at exp-1", verify_n(a, cli_token, n, key, sizeof(key) - 1, 1795462899, &c),
                  MM_JWT_OK);
    expect_result("cli at exp", verify_n(a, cli_token, n, key, sizeof(key) - 1, 1795462900, &c),
                  MM_JWT_EXPIRED);
    expect_result("cli, wrong key", verify_n(a, cli_token, n, secret, SECRET_LEN, 1795462300, &c),
                  MM_JWT_BAD_SIGNATURE);
}

/* The payload exactly as matchmaker-token builds it, signed by mm_jwt_sign. */
static void test_sign_roundtrip(void **state)
{
    mm_arena *a = *state;
    const char *payload = "{\"user_id\":\"7\",\"username\":\"bob\",\"token_type\":\"access\","
                          "\"iat\":1700000000,\"exp\":1700003600,"
                          "\"jti\":\"0123456789abcdef0123456789abcdef\"}";
    char *token = mm_jwt_sign(a, payload, secret, SECRET_LEN);
    assert_non_null(token);
    assert_true(strncmp(token, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0);
    /* Same bytes as the test's own OpenSSL-based construction. */
    assert_string_equal(token, make_token(a, STD_HEADER, payload));
    mm_jwt_claims c = {NULL, NULL};
    expect_result("roundtrip", verify(a, token, &c), MM_JWT_OK);
    expect_claims("roundtrip", &c, "7", "bob");
    expect_result("roundtrip at exp",
                  verify_n(a, token, strlen(token), secret, SECRET_LEN, 1700003600, &c),
                  MM_JWT_EXPIRED);
}

/* The process keeps one keyed HMAC context; verifying under one secret, then another, then
 * the first again must give each secret's own answer every time. */
static void test_secret_switch(void **state)
{
    mm_arena *a = *state;
    static const unsigned char other[] = "another-secret";
    char *mine = make_token(a, STD_HEADER, STD_PAYLOAD);
    char *theirs =
        sign_parts(a, b64s(a, STD_HEADER), b64s(a, STD_PAYLOAD), other, sizeof(other) - 1);
    assert_non_null(mine);
    assert_non_null(theirs);
    for (int round = 0; round < 3; round++) {
        mm_jwt_claims c = {NULL, NULL};
        expect_result("mine", verify(a, mine, &c), MM_JWT_OK);
        expect_result("theirs under mine", verify(a, theirs, &c), MM_JWT_BAD_SIGNATURE);
        expect_result("theirs",
                      verify_n(a, theirs, strlen(theirs), other, sizeof(other) - 1, NOW, &c),
                      MM_JWT_OK);
        expect_result("mine under theirs",
                      verify_n(a, mine, strlen(mine), other, sizeof(other) - 1, NOW, &c),
                      MM_JWT_BAD_SIGNATURE);
        /* a secret that is a prefix of another is a different secret */
        expect_result("mine under a prefix of the secret",
                      verify_n(a, mine, strlen(mine), secret, SECRET_LEN - 1, NOW, &c),
                      MM_JWT_BAD_SIGNATURE);
    }
}

/* Threads each keep their own keyed context: four threads verifying under four secrets at
 * once all get their own answers. */
#define THREADS 4
typedef struct {
    int index;
    int wrong; /* answers that were not the expected ones */
} thread_job;

static void *verify_loop(void *arg)
{
    thread_job *job = arg;
    unsigned char mine[32], next[32];
    snprintf((char *)mine, sizeof(mine), "thread-secret-%d", job->index);
    snprintf((char *)next, sizeof(next), "thread-secret-%d", (job->index + 1) % THREADS);
    size_t mine_len = strlen((char *)mine), next_len = strlen((char *)next);
    mm_arena *a = mm_arena_new(0);
    if (a == NULL) {
        job->wrong = -1;
        return NULL;
    }
    for (int i = 0; i < 300; i++) {
        char *t = mm_jwt_sign(a, STD_PAYLOAD, mine, mine_len);
        mm_jwt_claims c = {NULL, NULL};
        if (t == NULL || mm_jwt_verify(a, t, strlen(t), mine, mine_len, NOW, &c) != MM_JWT_OK ||
            mm_jwt_verify(a, t, strlen(t), next, next_len, NOW, &c) != MM_JWT_BAD_SIGNATURE)
            job->wrong++;
        mm_arena_reset(a);
    }
    mm_arena_free(a);
    return NULL;
}

static void test_threads_keep_their_own_key(void **state)
{
    (void)state;
    pthread_t th[THREADS];
    thread_job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (thread_job){.index = i, .wrong = 0};
        assert_int_equal(pthread_create(&th[i], NULL, verify_loop, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(jobs[i].wrong, 0);
    }
}

static void test_sign_refuses(void **state)
{
    mm_arena *a = *state;
    assert_null(mm_jwt_sign(a, STD_PAYLOAD, secret, 0));
    assert_null(mm_jwt_sign(a, STD_PAYLOAD, NULL, 0));
    assert_null(mm_jwt_sign(a, NULL, secret, SECRET_LEN));
    /* A payload whose token would exceed MM_JWT_MAX_LEN could never be verified. */
    char *big = mm_arena_alloc(a, 7000);
    assert_non_null(big);
    memset(big, 'a', 6999);
    big[6999] = '\0';
    assert_null(mm_jwt_sign(a, big, secret, SECRET_LEN));
}

/* ---- signature, secret, tampering ------------------------------------------------------- */

static void test_signature(void **state)
{
    mm_arena *a = *state;
    mm_jwt_claims c = {NULL, NULL};
    char *good = make_token(a, STD_HEADER, STD_PAYLOAD);
    const char *sig = strrchr(good, '.') + 1;
    assert_int_equal(strlen(sig), 43);
    size_t body = (size_t)(sig - good); /* "h.p." */
    expect_result("good", verify(a, good, &c), MM_JWT_OK);

    static const unsigned char other[] = "unit-test-secreT";
    expect_result("wrong secret",
                  verify_n(a, good, strlen(good), other, sizeof(other) - 1, NOW, &c),
                  MM_JWT_BAD_SIGNATURE);
    expect_result("secret prefix", verify_n(a, good, strlen(good), secret, SECRET_LEN - 1, NOW, &c),
                  MM_JWT_BAD_SIGNATURE);
    expect_result("empty secret", verify_n(a, good, strlen(good), secret, 0, NOW, &c),
                  MM_JWT_BAD_SIGNATURE);
    expect_result("NULL secret", verify_n(a, good, strlen(good), NULL, 0, NOW, &c),
                  MM_JWT_BAD_SIGNATURE);

    char *h = mm_arena_strndup(a, good, (size_t)(strchr(good, '.') - good));
    char *tampered = mm_arena_printf(
        a, "%s.%s.%s", h, b64s(a, "{\"user_id\":\"admin\",\"username\":\"alice\"}"), sig);
    expect_result("tampered payload", verify(a, tampered, &c), MM_JWT_BAD_SIGNATURE);
    tampered = mm_arena_printf(a, "%s.%s", b64s(a, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"x\":1}"),
                               strchr(good, '.') + 1);
    expect_result("tampered header", verify(a, tampered, &c), MM_JWT_BAD_SIGNATURE);

    char *t = mm_arena_strdup(a, good);
    bump_last(t);
    expect_result("signature trailing bits", verify(a, t, &c), MM_JWT_MALFORMED);
    t = mm_arena_printf(a, "%s=", good);
    expect_result("signature padded", verify(a, t, &c), MM_JWT_MALFORMED);
    unsigned char sig64[64] = {0};
    t = mm_arena_printf(a, "%.*s%s", (int)body, good, b64(a, sig64, 31));
    expect_result("signature 31 bytes", verify(a, t, &c), MM_JWT_BAD_SIGNATURE);
    t = mm_arena_printf(a, "%.*s%s", (int)body, good, b64(a, sig64, 33));
    expect_result("signature 33 bytes", verify(a, t, &c), MM_JWT_BAD_SIGNATURE);
    t = mm_arena_strndup(a, good, strlen(good) - 2);
    expect_result("signature 41 chars", verify(a, t, &c), MM_JWT_MALFORMED);
    t = mm_arena_printf(a, "%.*s%s", (int)body, good, b64(a, sig64, sizeof(sig64)));
    expect_result("signature 64 bytes", verify(a, t, &c), MM_JWT_BAD_SIGNATURE);
    t = mm_arena_printf(a, "%.*s%s*", (int)body, good, b64(a, sig64, sizeof(sig64)));
    expect_result("long signature, bad char", verify(a, t, &c), MM_JWT_MALFORMED);
    t = mm_arena_strdup(a, good);
    t[body + 5] = '+';
    expect_result("signature standard base64", verify(a, t, &c), MM_JWT_MALFORMED);
    t = mm_arena_strdup(a, good);
    t[body + 5] = t[body + 5] == 'A' ? 'B' : 'A';
    expect_result("signature one char changed", verify(a, t, &c), MM_JWT_BAD_SIGNATURE);
}

/* ---- strict base64url: the altered text is signed, so only the decoder can object -------- */

static void test_base64_strict(void **state)
{
    mm_arena *a = *state;
    mm_jwt_claims c = {NULL, NULL};
    const char *h64 = b64s(a, STD_HEADER);
    /* Payloads of length 1 and 2 mod 3, whose encodings end in unused bits. */
    const char *payloads[] = {
        "{\"user_id\":\"u1\",\"username\":\"al\"}",
        "{\"user_id\":\"u1\",\"username\":\"a\"}",
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(payloads); i++) {
        size_t n = strlen(payloads[i]);
        assert_int_not_equal(n % 3, 0);
        char *p64 = b64s(a, payloads[i]);
        expect_result("plain", verify(a, sign_parts(a, h64, p64, secret, SECRET_LEN), &c),
                      MM_JWT_OK);

        const char *pad = n % 3 == 1 ? "==" : "=";
        char *padded = mm_arena_printf(a, "%s%s", p64, pad);
        expect_result("payload padded",
                      verify(a, sign_parts(a, h64, padded, secret, SECRET_LEN), &c),
                      MM_JWT_MALFORMED);

        char *bits = mm_arena_strdup(a, p64);
        bump_last(bits);
        expect_result("payload trailing bits",
                      verify(a, sign_parts(a, h64, bits, secret, SECRET_LEN), &c),
                      MM_JWT_MALFORMED);
    }

    /* A header of length 1 mod 3, padded. */
    const char *h28 = "{\"alg\":\"HS256\",\"typ\":\"JWT\" }";
    assert_int_equal(strlen(h28) % 3, 1);
    const char *p64 = b64s(a, STD_PAYLOAD);
    expect_result("header unpadded",
                  verify(a, sign_parts(a, b64s(a, h28), p64, secret, SECRET_LEN), &c), MM_JWT_OK);
    expect_result(
        "header padded",
        verify(a, sign_parts(a, mm_arena_printf(a, "%s==", b64s(a, h28)), p64, secret, SECRET_LEN),
               &c),
        MM_JWT_MALFORMED);

    /* Length 1 mod 4 cannot come from any encoder. */
    const char *p36 = "{\"user_id\":\"u1\",\"username\":\"alice\"} ";
    assert_int_equal(strlen(p36) % 3, 0);
    char *odd = mm_arena_printf(a, "%sA", b64s(a, p36));
    expect_result("payload len%4 == 1", verify(a, sign_parts(a, h64, odd, secret, SECRET_LEN), &c),
                  MM_JWT_MALFORMED);

    /* Characters outside the url-safe alphabet, each in the middle of the payload. */
    const char bad_chars[] = {'+', '/', '=', '*', ' ', '\t', '\x80', '\xff'};
    for (size_t i = 0; i < sizeof(bad_chars); i++) {
        char *p = mm_arena_strdup(a, p64);
        p[10] = bad_chars[i];
        char name[32];
        snprintf(name, sizeof(name), "payload char 0x%02x", (unsigned char)bad_chars[i]);
        expect_result(name, verify(a, sign_parts(a, h64, p, secret, SECRET_LEN), &c),
                      MM_JWT_MALFORMED);
    }

    /* A NUL byte inside the token (length given explicitly). */
    char *good = make_token(a, STD_HEADER, STD_PAYLOAD);
    size_t n = strlen(good);
    good[5] = '\0';
    expect_result("NUL in header", verify_n(a, good, n, secret, SECRET_LEN, NOW, &c),
                  MM_JWT_MALFORMED);

    /* Raw NUL after the JSON object, inside the signed payload. */
    char *nul_p64 = b64(a, STD_PAYLOAD, sizeof(STD_PAYLOAD)); /* includes the NUL */
    expect_result("NUL after payload JSON",
                  verify(a, sign_parts(a, h64, nul_p64, secret, SECRET_LEN), &c), MM_JWT_MALFORMED);
}

/* Every prefix and every one-character change of a valid token is refused, without reading
 * outside the given length. */
static void test_truncations_and_mutations(void **state)
{
    mm_arena *a = *state;
    mm_jwt_claims c = {NULL, NULL};
    char *good = make_token(
        a, STD_HEADER,
        "{\"token_type\":\"access\",\"exp\":1700003600,\"user_id\":42,\"username\":\"alice\"}");
    size_t n = strlen(good);
    expect_result("full", verify(a, good, &c), MM_JWT_OK);
    for (size_t len = 0; len < n; len++) {
        mm_jwt_result r = verify_n(a, good, len, secret, SECRET_LEN, NOW, &c);
        if (r == MM_JWT_OK || r == MM_JWT_TOO_LARGE)
            fail_msg("prefix of %zu/%zu bytes: %s", len, n, mm_jwt_result_name(r));
    }
    char *header = mm_arena_printf(a, "Bearer %s", good);
    size_t hn = strlen(header);
    for (size_t len = 0; len < hn; len++) {
        mm_jwt_result r = verify_header_n(a, header, len, &c);
        if (r == MM_JWT_OK)
            fail_msg("header prefix of %zu/%zu bytes accepted", len, hn);
    }
    for (size_t i = 0; i < n; i++) {
        char saved = good[i];
        good[i] = 'A';
        if (saved == 'A')
            good[i] = 'B';
        else if (saved == '.')
            good[i] = 'x';
        mm_jwt_result r = verify_n(a, good, n, secret, SECRET_LEN, NOW, &c);
        if (r == MM_JWT_OK)
            fail_msg("change at %zu accepted", i);
        good[i] = saved;
    }
    expect_result("restored", verify(a, good, &c), MM_JWT_OK);
}

/* ---- length limits ---------------------------------------------------------------------- */

static char *repeat(mm_arena *a, char ch, size_t n)
{
    char *s = mm_arena_alloc(a, n + 1);
    assert_non_null(s);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

static void test_claim_lengths(void **state)
{
    mm_arena *a = *state;
    mm_jwt_claims c = {NULL, NULL};
    const struct {
        size_t user_id_len, username_len;
        mm_jwt_result want;
    } rows[] = {
        {MM_JWT_USER_ID_MAX, 5, MM_JWT_OK},
        {MM_JWT_USER_ID_MAX + 1, 5, MM_JWT_BAD_CLAIMS},
        {2, MM_JWT_USERNAME_MAX, MM_JWT_OK},
        {2, MM_JWT_USERNAME_MAX + 1, MM_JWT_BAD_CLAIMS},
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(rows); i++) {
        char *uid = repeat(a, 'u', rows[i].user_id_len);
        char *name = repeat(a, 'n', rows[i].username_len);
        char *payload = mm_arena_printf(a, "{\"user_id\":\"%s\",\"username\":\"%s\"}", uid, name);
        mm_jwt_result r = verify(a, make_token(a, STD_HEADER, payload), &c);
        char label[64];
        snprintf(label, sizeof(label), "user_id %zu, username %zu", rows[i].user_id_len,
                 rows[i].username_len);
        expect_result(label, r, rows[i].want);
        if (r == MM_JWT_OK)
            expect_claims(label, &c, uid, name);
    }
    /* A 4-byte character at the username limit counts as 4 bytes. */
    char *name = mm_arena_printf(a, "%s\xf0\x9f\x8e\xae", repeat(a, 'n', MM_JWT_USERNAME_MAX - 3));
    char *payload = mm_arena_printf(a, "{\"user_id\":\"u1\",\"username\":\"%s\"}", name);
    expect_result("multibyte over limit", verify(a, make_token(a, STD_HEADER, payload), &c),
                  MM_JWT_BAD_CLAIMS);
}

static void test_too_large(void **state)
{
    mm_arena *a = *state;
    mm_jwt_claims c = {NULL, NULL};
    char *good = make_token(a, STD_HEADER, STD_PAYLOAD);
    size_t n = strlen(good);
    assert_true(n + 2 < MM_JWT_MAX_LEN);

    /* An Authorization value of exactly 8 KiB (long scheme) is read; one byte more is not. */
    size_t scheme = MM_JWT_MAX_LEN - 1 - n;
    char *header = mm_arena_printf(a, "%s %s", repeat(a, 'B', scheme), good);
    assert_int_equal(strlen(header), MM_JWT_MAX_LEN);
    expect_result("header 8192", verify_header_n(a, header, MM_JWT_MAX_LEN, &c), MM_JWT_OK);
    expect_claims("header 8192", &c, "u1", "alice");
    header = mm_arena_printf(a, "%s %s", repeat(a, 'B', scheme + 1), good);
    expect_result("header 8193", verify_header_n(a, header, MM_JWT_MAX_LEN + 1, &c),
                  MM_JWT_TOO_LARGE);
    char *huge = repeat(a, 'A', 1 << 20);
    expect_result("header 1 MiB", verify_header_n(a, huge, 1 << 20, &c), MM_JWT_TOO_LARGE);
    expect_result("token 8193", verify_n(a, huge, MM_JWT_MAX_LEN + 1, secret, SECRET_LEN, NOW, &c),
                  MM_JWT_TOO_LARGE);
    expect_result("token 8192 junk", verify_n(a, huge, MM_JWT_MAX_LEN, secret, SECRET_LEN, NOW, &c),
                  MM_JWT_MALFORMED);
}

static void test_arena_exhausted(void **state)
{
    mm_arena *small = mm_arena_new(64);
    assert_non_null(small);
    mm_arena *a = *state;
    char *token = make_token(
        a, STD_HEADER,
        "{\"token_type\":\"access\",\"exp\":1700003600,\"user_id\":\"u1\",\"username\":\"alice\"}");
    mm_jwt_claims c = {NULL, NULL};
    expect_result("arena cap", verify_n(small, token, strlen(token), secret, SECRET_LEN, NOW, &c),
                  MM_JWT_NOMEM);
    assert_null(c.user_id);
    mm_arena_free(small);
}

/* ---- Authorization header ----------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *before; /* the header is before + token + after */
    const char *after;
    mm_jwt_result want;
} header_case;

static const header_case header_cases[] = {
    {"Bearer", "Bearer ", "", MM_JWT_OK},
    {"Token", "Token ", "", MM_JWT_OK},
    {"any scheme", "JWT ", "", MM_JWT_OK},
    {"lowercase scheme", "bearer ", "", MM_JWT_OK},
    {"no scheme, no space", "", "", MM_JWT_MALFORMED},
    {"empty scheme", " ", "", MM_JWT_MALFORMED},
    {"two spaces", "Bearer  ", "", MM_JWT_MALFORMED},
    {"tab separator", "Bearer\t", "", MM_JWT_MALFORMED},
    {"trailing space", "Bearer ", " ", MM_JWT_MALFORMED},
    {"three words", "Bearer ", " extra", MM_JWT_MALFORMED},
};

static void test_header_cases(void **state)
{
    mm_arena *a = *state;
    char *token = make_token(a, STD_HEADER, STD_PAYLOAD);
    for (size_t i = 0; i < MM_ARRAY_LEN(header_cases); i++) {
        const header_case *hc = &header_cases[i];
        char *value = mm_arena_printf(a, "%s%s%s", hc->before, token, hc->after);
        mm_jwt_claims c = {NULL, NULL};
        expect_result(hc->name, verify_header_n(a, value, strlen(value), &c), hc->want);
        if (hc->want == MM_JWT_OK)
            expect_claims(hc->name, &c, "u1", "alice");
    }
    static const char *const literal[] = {"", "Bearer", "Bearer ", "Token", " "};
    for (size_t i = 0; i < MM_ARRAY_LEN(literal); i++) {
        mm_jwt_claims c = {NULL, NULL};
        expect_result(literal[i], verify_header_n(a, literal[i], strlen(literal[i]), &c),
                      MM_JWT_MALFORMED);
    }
    mm_jwt_claims c = {NULL, NULL};
    expect_result("NULL header", mm_jwt_verify_header(a, NULL, 0, secret, SECRET_LEN, NOW, &c),
                  MM_JWT_MALFORMED);
    expect_result("NULL token", mm_jwt_verify(a, NULL, 0, secret, SECRET_LEN, NOW, &c),
                  MM_JWT_MALFORMED);
    /* The header's failures are the token's failures. */
    char *expired =
        make_token(a, STD_HEADER, "{\"exp\":1,\"user_id\":\"u1\",\"username\":\"alice\"}");
    char *value = mm_arena_printf(a, "Bearer %s", expired);
    expect_result("expired via header", verify_header_n(a, value, strlen(value), &c),
                  MM_JWT_EXPIRED);
}

static void test_result_names(void **state)
{
    const char *want[] = {"ok",      "malformed",     "bad_alg",    "bad_signature",
                          "expired", "not_yet_valid", "bad_claims", "too_large",
                          "nomem"};
    for (int r = MM_JWT_OK; r <= MM_JWT_NOMEM; r++)
        assert_string_equal(mm_jwt_result_name((mm_jwt_result)r), want[r]);
    assert_string_equal(mm_jwt_result_name((mm_jwt_result)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signed_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixed_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_secret_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_switch, setup, teardown),
        cmocka_unit_test(test_threads_keep_their_own_key),
        cmocka_unit_test_setup_teardown(test_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base64_strict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncations_and_mutations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arena_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_cases, setup, teardown),
        cmocka_unit_test(test_result_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
