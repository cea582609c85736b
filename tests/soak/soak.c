/* mm-soak: the soak test's load generator and checker (scripts/soak.sh), also the
 * failover drill's load (scripts/failover-drill.sh).
 *   mm-soak load NGINX_SOCK GS_URL SECRET SECONDS THREADS [RECORD_DIR]
 *     mixed create / list / join through nginx for SECONDS; after a create the
 *     game server is asked to report the creator connected (so the worker
 *     lists the game); prints the answers counted by operation and kind. With
 *     RECORD_DIR, every answer is written to RECORD_DIR/answers.tsv (start and
 *     end in Unix ms, operation, status, product, game id, user) and every
 *     report of the creator connected to RECORD_DIR/emits.tsv (start, end,
 *     status, product, game id, stream entry id), for tests/soak/drill_check.c.
 *   mm-soak check REDIS_SOCK
 *     the stored-state invariants (tests/integration/consistency.h); exit 1
 *     on any violation. */
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "consistency.h"
#include "jwt.h"

enum { OP_CREATE, OP_LIST, OP_JOIN, OP_COUNT };
static const char *const op_names[] = {"create", "open_games", "join"};
/* kinds of answer */
enum { K_OK, K_409, K_404, K_400, K_502, K_503, K_TRANSPORT, K_OTHER, K_COUNT };
static const char *const kind_names[] = {
    "200",       "409 conflict", "404 not found", "400", "502 game server", "503 unavailable",
    "transport", "other"};

static const char *nginx_sock, *gs_url, *secret;
static double deadline;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counts[OP_COUNT][K_COUNT];
static long emits_failed;
static double slowest;
static FILE *answers_out, *emits_out; /* the record, when asked for (under lock) */

/* Wall-clock Unix milliseconds: the record is compared with the time of the kill. */
static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    char *p;
    size_t len;
} buf;

static size_t collect(char *p, size_t size, size_t n, void *u)
{
    buf *b = u;
    size_t add = size * n;
    if (b->len + add < 65536) {
        memcpy(b->p + b->len, p, add);
        b->len += add;
        b->p[b->len] = '\0';
    }
    return add;
}

/* One exchange; returns the HTTP status, or 0 on a transport error. */
static long exchange(CURL *c, const char *sock, const char *url, const char *auth, const char *body,
                     buf *out, double *secs)
{
    struct curl_slist *hl = auth ? curl_slist_append(NULL, auth) : NULL;
    out->len = 0;
    out->p[0] = '\0';
    curl_easy_reset(c);
    if (sock != NULL)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (body != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    double t0 = now_s();
    CURLcode rc = curl_easy_perform(c);
    *secs = now_s() - t0;
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    return status;
}

static int kind_of(long status)
{
    switch (status) {
    case 0: return K_TRANSPORT;
    case 200: return K_OK;
    case 409: return K_409;
    case 404: return K_404;
    case 400: return K_400;
    case 502: return K_502;
    case 503: return K_503;
    default: return K_OTHER;
    }
}

/* Counts an answer and, when recording, writes it down: it started at start_ms (Unix) and
 * took secs. */
static void count(int op, long status, double secs, long long start_ms, const char *product,
                  const char *game, const char *user)
{
    pthread_mutex_lock(&lock);
    counts[op][kind_of(status)]++;
    if (secs > slowest)
        slowest = secs;
    if (answers_out != NULL)
        fprintf(answers_out, "%lld\t%lld\t%s\t%ld\t%s\t%s\t%s\n", start_ms,
                start_ms + (long long)(secs * 1000), op_names[op], status, product,
                game[0] ? game : "-", user);
    pthread_mutex_unlock(&lock);
}

/* The value of the string field name of the JSON object in text, into out ("" if none). */
static void field_of(const char *text, const char *name, char *out, size_t cap)
{
    json_object *j = json_tokener_parse(text), *v;
    out[0] = '\0';
    if (j != NULL && json_object_object_get_ex(j, name, &v) &&
        json_object_is_type(v, json_type_string))
        snprintf(out, cap, "%s", json_object_get_string(v));
    json_object_put(j);
}

static const char *auth_for(mm_arena *a, const char *user)
{
    char payload[256];
    long now = (long)time(NULL);
    snprintf(payload, sizeof(payload), "{\"user_id\": \"%s\", \"username\": \"%s\", \"exp\": %ld}",
             user, user, now + 3600);
    char *t = mm_jwt_sign(a, payload, (const unsigned char *)secret, strlen(secret));
    return t ? mm_arena_printf(a, "Authorization: Bearer %s", t) : NULL;
}

/* A game id from an answer holding "game_id" fields: the n-th one, cycling. */
static int pick_game(const char *json, unsigned n, char out[64])
{
    json_object *j = json_tokener_parse(json), *g, *id;
    int ok = 0;
    if (j != NULL && json_object_is_type(j, json_type_array) && json_object_array_length(j) > 0) {
        g = json_object_array_get_idx(j, n % json_object_array_length(j));
        if (json_object_object_get_ex(g, "game_id", &id)) {
            snprintf(out, 64, "%s", json_object_get_string(id));
            ok = 1;
        }
    }
    json_object_put(j);
    return ok;
}

static void *worker(void *arg)
{
    int index = *(const int *)arg;
    CURL *c = curl_easy_init();
    mm_arena *a = mm_arena_new(0);
    char *mem = malloc(65536);
    buf b = {mem, 0};
    char url[512], user[64], game[64], body[256], entry[64];
    double secs;
    for (unsigned k = 0; now_s() < deadline; k++) {
        mm_arena_reset(a);
        snprintf(user, sizeof(user), "soak%d-%u", index, k);
        int op = (int)(k % 4 == 3 ? OP_CREATE : k % 2 ? OP_JOIN : OP_LIST);
        const char *product = k % 8 < 4 ? "exrps3" : "exrps";
        long status;
        long long t0 = wall_ms();
        if (op == OP_CREATE) {
            snprintf(url, sizeof(url), "http://localhost/game_lobby/%s/create_game", product);
            status = exchange(c, nginx_sock, url, auth_for(a, user), "{}", &b, &secs);
            game[0] = '\0';
            if (status == 200)
                field_of(b.p, "game_id", game, sizeof(game));
            count(op, status, secs, t0, product, game, user);
            if (game[0] != '\0') {
                /* the creator connects: the game server reports it */
                snprintf(body, sizeof(body),
                         "{\"product_id\": \"%s\", \"game_id\": \"%s\", \"type\": "
                         "\"state_change\", \"new_state\": \"creator_joined\"}",
                         product, game);
                snprintf(url, sizeof(url), "%s/_control/emit", gs_url);
                t0 = wall_ms();
                status = exchange(c, NULL, url, NULL, body, &b, &secs);
                entry[0] = '\0';
                if (status == 200)
                    field_of(b.p, "id", entry, sizeof(entry));
                pthread_mutex_lock(&lock);
                if (status != 200)
                    emits_failed++;
                if (emits_out != NULL)
                    fprintf(emits_out, "%lld\t%lld\t%ld\t%s\t%s\t%s\n", t0,
                            t0 + (long long)(secs * 1000), status, product, game,
                            entry[0] ? entry : "-");
                pthread_mutex_unlock(&lock);
            }
        } else {
            snprintf(url, sizeof(url), "http://localhost/game_lobby/%s/open_games?count=10",
                     product);
            status = exchange(c, nginx_sock, url, NULL, NULL, &b, &secs);
            count(OP_LIST, status, secs, t0, product, "", "-");
            if (op == OP_JOIN && status == 200 && pick_game(b.p, k, game)) {
                snprintf(url, sizeof(url), "http://localhost/game_lobby/%s/join_game/%s", product,
                         game);
                t0 = wall_ms();
                status = exchange(c, nginx_sock, url, auth_for(a, user), "{}", &b, &secs);
                count(OP_JOIN, status, secs, t0, product, game, user);
            }
        }
    }
    free(mem);
    mm_arena_free(a);
    curl_easy_cleanup(c);
    return NULL;
}

static int load(int argc, char **argv)
{
    if (argc != 7 && argc != 8) {
        fprintf(stderr,
                "usage: mm-soak load NGINX_SOCK GS_URL SECRET SECONDS THREADS [RECORD_DIR]\n");
        return 2;
    }
    if (argc == 8) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/answers.tsv", argv[7]);
        answers_out = fopen(path, "w");
        snprintf(path, sizeof(path), "%s/emits.tsv", argv[7]);
        emits_out = fopen(path, "w");
        if (answers_out == NULL || emits_out == NULL) {
            fprintf(stderr, "mm-soak: cannot write the record in %s\n", argv[7]);
            return 2;
        }
    }
    nginx_sock = argv[2];
    gs_url = argv[3];
    secret = argv[4];
    double seconds = strtod(argv[5], NULL);
    long threads = strtol(argv[6], NULL, 10);
    if (seconds <= 0 || threads < 1 || threads > 64) {
        fprintf(stderr, "mm-soak: SECONDS > 0 and THREADS 1..64\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    deadline = now_s() + seconds;
    pthread_t tid[64];
    int index[64];
    for (long i = 0; i < threads; i++) {
        index[i] = (int)i;
        pthread_create(&tid[i], NULL, worker, &index[i]);
    }
    for (long i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    long total = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        printf("%-10s", op_names[op]);
        for (int k = 0; k < K_COUNT; k++) {
            total += counts[op][k];
            if (counts[op][k] > 0)
                printf("  %s: %ld", kind_names[k], counts[op][k]);
        }
        printf("\n");
    }
    printf("requests: %ld in %.0f s (%.0f/s), slowest %.3f s, creator-connected reports "
           "that failed: %ld\n",
           total, seconds, (double)total / seconds, slowest, emits_failed);
    long bad = 0;
    for (int op = 0; op < OP_COUNT; op++)
        bad += counts[op][K_TRANSPORT] + counts[op][K_OTHER];
    printf("answers outside the SPEC (transport errors, other statuses): %ld\n", bad);
    curl_global_cleanup();
    if (answers_out != NULL && fclose(answers_out) != 0)
        bad++;
    if (emits_out != NULL && fclose(emits_out) != 0)
        bad++;
    return bad == 0 ? 0 : 1;
}

static int check(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mm-soak check REDIS_SOCK\n");
        return 2;
    }
    redisContext *c = redisConnectUnix(argv[2]);
    if (c == NULL || c->err) {
        fprintf(stderr, "mm-soak: cannot reach Redis at %s\n", argv[2]);
        return 2;
    }
    static const char *const products[] = {"exrps", "exrps3", NULL};
    mm_consistency r;
    int rc = mm_consistency_check(c, products, &r);
    redisFree(c);
    if (rc != 0) {
        fprintf(stderr, "mm-soak: Redis did not answer the check\n");
        return 2;
    }
    printf("games: %ld, violations: %ld%s%s\n", r.games, r.violations,
           r.violations ? ", first: " : "", r.first);
    return r.violations == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "load") == 0)
        return load(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return check(argc, argv);
    fprintf(stderr, "usage: mm-soak load ... | mm-soak check REDIS_SOCK\n");
    return 2;
}
