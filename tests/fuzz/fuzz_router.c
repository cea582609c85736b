/* Fuzz target: path routing (router.h) over the route table app.c serves, followed by
 * the id check the dispatcher makes. Input: "METHOD\nPATH"; without a newline the whole
 * input is a GET path. The path is copied to a buffer of its exact length, as nginx's
 * DOCUMENT_URI is cut from the request line, so any read past it is caught. */
#include <string.h>

#include "app.h"
#include "fuzz.h"
#include "ids.h"
#include "router.h"

#define METHOD_MAX 16

/* An id the matcher returns lies inside the path. */
static void check_span(const char *s, size_t len, const char *path, size_t path_len)
{
    if (s == NULL) {
        FUZZ_CHECK(len == 0);
        return;
    }
    FUZZ_CHECK(s >= path && s <= path + path_len && len <= (size_t)(path + path_len - s));
    (void)mm_id_valid(s, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char method[METHOD_MAX + 1] = "GET";
    const uint8_t *nl = memchr(data, '\n', size);
    const uint8_t *p = data;
    if (nl != NULL) {
        size_t mlen = (size_t)(nl - data);
        if (mlen > METHOD_MAX)
            mlen = METHOD_MAX;
        memcpy(method, data, mlen);
        method[mlen] = '\0';
        p = nl + 1;
    }
    size_t path_len = size - (size_t)(p - data);
    char *path = malloc(path_len == 0 ? 1 : path_len);
    if (path == NULL)
        return 0;
    memcpy(path, p, path_len);

    const mm_route *route = NULL;
    mm_route_params params;
    char allow[MM_ALLOW_MAX];
    mm_route_result r = mm_router_match(mm_app_routes, mm_app_nroutes, 0, method, path, path_len,
                                        &route, &params, allow);
    FUZZ_CHECK(memchr(allow, '\0', sizeof(allow)) != NULL);
    if (r == MM_ROUTE_FOUND) {
        FUZZ_CHECK(route >= mm_app_routes && route < mm_app_routes + mm_app_nroutes);
        FUZZ_CHECK(strcmp(route->method, method) == 0);
        FUZZ_CHECK((params.product_id != NULL) == (strstr(route->pattern, "{product_id}") != NULL));
        FUZZ_CHECK((params.game_id != NULL) == (strstr(route->pattern, "{game_id}") != NULL));
        check_span(params.product_id, params.product_id_len, path, path_len);
        check_span(params.game_id, params.game_id_len, path, path_len);
        FUZZ_CHECK(params.game_id == NULL || params.game_id_len > 0);
    } else if (r == MM_ROUTE_METHOD_NOT_ALLOWED) {
        FUZZ_CHECK(strstr(allow, "OPTIONS") != NULL);
    } else {
        FUZZ_CHECK(r == MM_ROUTE_NOT_FOUND);
    }
    free(path);
    return 0;
}
