/* The memory floor of a matchmaker-fcgi process: a program linked with the same libraries
 * that does only what those libraries need for the matchmaker's work (initialise libcurl,
 * which initialises OpenSSL; one HMAC-SHA256; one JSON parse and print; one HTTP POST; one
 * Redis PING; FastCGI's own set-up) and none of the matchmaker's code. scripts/bench.sh
 * prints its VmRSS and RssAnon beside the pool's, so what the matchmaker adds is the
 * difference.
 *   mm-rss-floor [URL-TO-POST-TO [REDIS-UNIX-SOCKET]]
 * prints one line per stage: "stage=<loaded|used> vmrss_kib=N rssanon_kib=N". */
#include <curl/curl.h>
#include <fcgiapp.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>

static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            sscanf(line + n + 1, "%ld", &v);
            break;
        }
    }
    if (f != NULL)
        fclose(f);
    return v;
}

static void report(const char *stage)
{
    printf("stage=%s vmrss_kib=%ld rssanon_kib=%ld\n", stage, status_kib("VmRSS"),
           status_kib("RssAnon"));
    fflush(stdout);
}

static size_t discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    (void)u;
    return size * n;
}

int main(int argc, char **argv)
{
    report("loaded");

    int failures = 0;
    if (FCGX_Init() != 0)
        failures++;

    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    unsigned char md[32];
    size_t md_len = 0;
    if (ctx == NULL || EVP_MAC_init(ctx, (const unsigned char *)"key", 3, params) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)"data", 4) != 1 ||
        EVP_MAC_final(ctx, md, &md_len, sizeof(md)) != 1)
        failures++;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);

    json_object *o = json_tokener_parse("{\"user_id\":\"u1\",\"username\":\"alice\"}");
    if (o == NULL || json_object_to_json_string(o) == NULL)
        failures++;
    json_object_put(o);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        failures++;
    CURL *h = curl_easy_init();
    if (h == NULL) {
        failures++;
    } else if (argc > 1) {
        curl_easy_setopt(h, CURLOPT_URL, argv[1]);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
        if (curl_easy_perform(h) != CURLE_OK)
            failures++;
    }

    if (argc > 2) {
        redisContext *r = redisConnectUnix(argv[2]);
        redisReply *reply = r != NULL && r->err == 0 ? redisCommand(r, "PING") : NULL;
        if (reply == NULL)
            failures++;
        freeReplyObject(reply);
        redisFree(r);
    }

    report("used");
    if (h != NULL)
        curl_easy_cleanup(h);
    curl_global_cleanup();
    if (failures != 0)
        fprintf(stderr, "mm-rss-floor: %d step(s) failed\n", failures);
    return failures != 0;
}
