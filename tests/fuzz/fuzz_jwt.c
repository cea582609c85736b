/* Fuzz target: the JWT verifier (jwt.h). Each input is tried as a bare token and as an
 * Authorization header; it is also signed as a payload and verified, because an input
 * without the secret never gets past the signature to the claim checks. */
#include <string.h>

#include "fuzz.h"
#include "jwt.h"

#define SECRET "fuzz-secret"
#define OTHER_SECRET "another-secret"
#define NOW_S INT64_C(1800000000) /* 2027-01-15 */

static const unsigned char *secret = (const unsigned char *)SECRET;
static const unsigned char *other = (const unsigned char *)OTHER_SECRET;

/* What mm_jwt_verify promises about the claims it accepts. */
static void check(mm_jwt_result r, const mm_jwt_claims *c)
{
    FUZZ_CHECK(mm_jwt_result_name(r) != NULL);
    if (r != MM_JWT_OK)
        return;
    FUZZ_CHECK(c->user_id != NULL && c->username != NULL);
    size_t ulen = strlen(c->user_id), nlen = strlen(c->username);
    FUZZ_CHECK(ulen > 0 && ulen <= MM_JWT_USER_ID_MAX);
    FUZZ_CHECK(nlen > 0 && nlen <= MM_JWT_USERNAME_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    mm_arena *a = mm_arena_new(0);
    char *payload = malloc(size + 1);
    if (a == NULL || payload == NULL)
        goto out;

    mm_jwt_claims c = {NULL, NULL};
    check(mm_jwt_verify(a, in, size, secret, strlen(SECRET), NOW_S, &c), &c);
    c = (mm_jwt_claims){NULL, NULL};
    check(mm_jwt_verify_header(a, in, size, secret, strlen(SECRET), NOW_S, &c), &c);

    memcpy(payload, data, size);
    payload[size] = '\0';
    const char *token = mm_jwt_sign(a, payload, secret, strlen(SECRET));
    if (token != NULL) {
        c = (mm_jwt_claims){NULL, NULL};
        mm_jwt_result r = mm_jwt_verify(a, token, strlen(token), secret, strlen(SECRET), NOW_S, &c);
        check(r, &c);
        FUZZ_CHECK(r != MM_JWT_BAD_ALG && r != MM_JWT_BAD_SIGNATURE && r != MM_JWT_TOO_LARGE);
        /* the same token in an Authorization header, unless that makes it too long */
        const char *header = mm_arena_printf(a, "Bearer %s", token);
        if (header != NULL) {
            size_t hlen = strlen(header);
            mm_jwt_result hr =
                mm_jwt_verify_header(a, header, hlen, secret, strlen(SECRET), NOW_S, &c);
            FUZZ_CHECK(hr == r || (hlen > MM_JWT_MAX_LEN && hr == MM_JWT_TOO_LARGE));
        }
        r = mm_jwt_verify(a, token, strlen(token), other, strlen(OTHER_SECRET), NOW_S, &c);
        /* an empty payload makes an empty middle part, refused before the signature */
        FUZZ_CHECK(r == MM_JWT_BAD_SIGNATURE || (payload[0] == '\0' && r == MM_JWT_MALFORMED));
    }
out:
    free(payload);
    mm_arena_free(a);
    return 0;
}
