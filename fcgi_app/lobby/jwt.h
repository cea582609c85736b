/* JWT (HS256 only): verifies the tokens the game portal issues and mints development tokens.
 * No I/O: every string returned (claims, minted tokens) lives in the caller's arena; json-c
 * objects used inside are released before returning. The only state kept between calls is
 * one HMAC context per thread, keyed with the secret that thread last used. Safe to call
 * from several threads. */
#ifndef MM_JWT_H
#define MM_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* An Authorization header value, or a bare token, longer than this is refused unread. */
#define MM_JWT_MAX_LEN 8192
#define MM_JWT_USER_ID_MAX 128
#define MM_JWT_USERNAME_MAX 256

typedef struct {
    const char *user_id;  /* never empty; an integer claim is given as its decimal string */
    const char *username; /* never empty */
} mm_jwt_claims;

typedef enum {
    MM_JWT_OK = 0,
    MM_JWT_MALFORMED,     /* not three non-empty base64url parts, or header/payload not JSON */
    MM_JWT_BAD_ALG,       /* header "alg" is not exactly "HS256" */
    MM_JWT_BAD_SIGNATURE, /* wrong length or wrong HMAC (or an empty secret) */
    MM_JWT_EXPIRED,       /* now >= exp */
    MM_JWT_NOT_YET_VALID, /* now < nbf */
    MM_JWT_BAD_CLAIMS,    /* payload not an object, exp/nbf not numbers, user_id/username bad */
    MM_JWT_TOO_LARGE,     /* over MM_JWT_MAX_LEN */
    MM_JWT_NOMEM          /* the arena ran out; not the client's fault */
} mm_jwt_result;

/* Verifies token[0..len) with secret at time now_s (Unix seconds). On MM_JWT_OK fills *out
 * with strings allocated in a; on any failure *out is left untouched. */
mm_jwt_result mm_jwt_verify(mm_arena *a, const char *token, size_t len, const unsigned char *secret,
                            size_t secret_len, int64_t now_s, mm_jwt_claims *out);

/* header is an Authorization value "<scheme> <jwt>": the scheme (any non-empty word: Token,
 * Bearer, ...) and exactly one space are skipped, the rest is verified as above. */
mm_jwt_result mm_jwt_verify_header(mm_arena *a, const char *header, size_t len,
                                   const unsigned char *secret, size_t secret_len, int64_t now_s,
                                   mm_jwt_claims *out);

/* A short stable name ("ok", "expired", ...) for logs. */
const char *mm_jwt_result_name(mm_jwt_result r);

/* Returns "<b64url header>.<b64url payload>.<b64url HMAC-SHA256>" in a, with the header
 * {"alg":"HS256","typ":"JWT"} and payload_json taken byte for byte. NULL if the secret is
 * empty, the token would exceed MM_JWT_MAX_LEN, or memory is short. */
char *mm_jwt_sign(mm_arena *a, const char *payload_json, const unsigned char *secret,
                  size_t secret_len);

#endif
