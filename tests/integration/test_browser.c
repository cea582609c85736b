/* The lobby page (nginx/lobby/) in a real browser: Debian's chromium, headless, driven
 * through chromium-driver's WebDriver API (plain HTTP and JSON, so libcurl and json-c
 * suffice). The page must load and go live with no console error, show a game within 1 s of
 * its listing and drop it within 1 s of the join that fills it, and let a player create,
 * join, quick-match and leave with a pasted token. Screenshots of the page (desktop and
 * phone widths) are left beside the test's log. Run by test_browser.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define P "exrps" /* two seats: one join fills a game */
#define WAIT_MS 5000
#define LIVE_MS 1000 /* SPEC 13 page: a change shows within this */

static mm_arena *arena;
static CURL *curl;
static char driver[64];   /* http://127.0.0.1:PORT of chromedriver */
static char session[128]; /* /session/ID */

typedef struct {
    char *data;
    size_t len;
} growbuf;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    growbuf *b = ud;
    char *d = realloc(b->data, b->len + size * n + 1);
    if (d == NULL)
        return 0;
    memcpy(d + b->len, p, size * n);
    b->len += size * n;
    d[b->len] = '\0';
    b->data = d;
    return size * n;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- WebDriver ---------------------------------------------------------------------- */

/* One WebDriver command: its "value" (a new reference; NULL when there is none). Fails the
 * test on a transport error or a WebDriver error. */
static json_object *wd(const char *method, const char *path, json_object *body)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", driver, path);
    growbuf b = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60000L);
    const char *text = "{}";
    if (body != NULL)
        text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(h);
    json_object_put(body);
    if (rc != CURLE_OK)
        fail_msg("WebDriver %s %s: %s", method, path, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    json_object *root = json_tokener_parse(b.data ? b.data : ""), *value = NULL;
    if (status != 200 || root == NULL)
        fail_msg("WebDriver %s %s: %ld %.600s", method, path, status, b.data ? b.data : "");
    free(b.data);
    if (json_object_object_get_ex(root, "value", &value))
        json_object_get(value);
    json_object_put(root);
    return value;
}

static const char *at(const char *suffix)
{
    return mm_arena_printf(arena, "%s%s", session, suffix);
}

/* Runs script in the page (a function body; arguments[0] is arg when given). */
static json_object *js(const char *script, const char *arg)
{
    json_object *body = json_object_new_object(), *args = json_object_new_array();
    json_object_object_add(body, "script", json_object_new_string(script));
    if (arg != NULL)
        json_object_array_add(args, json_object_new_string(arg));
    json_object_object_add(body, "args", args);
    return wd("POST", at("/execute/sync"), body);
}

static bool js_true(const char *script, const char *arg)
{
    json_object *v = js(script, arg);
    bool t = json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
    json_object_put(v);
    return t;
}

static const char *js_text(const char *script, const char *arg)
{
    json_object *v = js(script, arg);
    const char *t = mm_arena_strdup(arena, v ? json_object_get_string(v) : "");
    json_object_put(v);
    return t;
}

/* Milliseconds until script (with arg) is true, or -1 after timeout_ms. */
static long until(const char *script, const char *arg, long timeout_ms)
{
    long t0 = now_ms();
    do {
        if (js_true(script, arg))
            return now_ms() - t0;
        usleep(10 * 1000);
    } while (now_ms() - t0 < timeout_ms);
    return -1;
}

static const char *element(const char *css)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, "using", json_object_new_string("css selector"));
    json_object_object_add(body, "value", json_object_new_string(css));
    json_object *v = wd("POST", at("/element"), body);
    const char *id = NULL;
    json_object_object_foreach (v, key, val) { /* the one member: the W3C element key */
        (void)key;
        id = mm_arena_strdup(arena, json_object_get_string(val));
    }
    json_object_put(v);
    if (id == NULL)
        fail_msg("no element %s", css);
    return id;
}

static void click(const char *css)
{
    json_object_put(
        wd("POST", at(mm_arena_printf(arena, "/element/%s/click", element(css))), NULL));
}

static void type_into(const char *css, const char *text)
{
    const char *e = element(css);
    json_object_put(wd("POST", at(mm_arena_printf(arena, "/element/%s/clear", e)), NULL));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "text", json_object_new_string(text));
    json_object_put(wd("POST", at(mm_arena_printf(arena, "/element/%s/value", e)), body));
}

/* Everything the page logged at error level so far fails the test. */
static void no_console_errors(void)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, "type", json_object_new_string("browser"));
    json_object *entries = wd("POST", at("/se/log"), body);
    assert_true(json_object_is_type(entries, json_type_array));
    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        json_object *e = json_object_array_get_idx(entries, i), *level, *msg;
        if (json_object_object_get_ex(e, "level", &level) &&
            strcmp(json_object_get_string(level), "SEVERE") == 0) {
            json_object_object_get_ex(e, "message", &msg);
            fail_msg("console error: %s", json_object_get_string(msg));
        }
    }
    json_object_put(entries);
}

static void screenshot(const char *name)
{
    json_object *v = wd("GET", at("/screenshot"), NULL);
    const char *b64 = json_object_get_string(v);
    size_t len = strlen(b64);
    unsigned char *png = malloc(len);
    assert_non_null(png);
    int n = EVP_DecodeBlock(png, (const unsigned char *)b64, (int)len);
    assert_true(n > 8);
    for (size_t i = len; i > 0 && b64[i - 1] == '='; i--)
        n--; /* the decoder counts padding as zero bytes */
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", itest_env("MM_TEST_SHOTS"), name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(png, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    free(png);
    json_object_put(v);
    printf("screenshot: %s (%d bytes)\n", path, n);
}

/* ---- the stack ---------------------------------------------------------------------- */

static const char *bare_token(const char *user)
{
    const char *h = itest_auth(arena, user, user);
    return strstr(h, "Bearer ") + 7;
}

static void api_join(const char *user, const char *game)
{
    const char *h[] = {itest_auth(arena, user, user), NULL};
    itest_response r;
    itest_request("POST", mm_arena_printf(arena, "/game_lobby/" P "/join_game/%s", game), h, NULL,
                  0, &r);
    assert_int_equal(r.status, 200);
    itest_response_free(&r);
}

#define LISTED                                                                                     \
    "return document.querySelector('#games [data-game-id=\"' + arguments[0] + '\"]') !== null"
#define GONE                                                                                       \
    "return document.querySelector('#games [data-game-id=\"' + arguments[0] + '\"]') === null"

/* ---- the tests ---------------------------------------------------------------------- */

static int setup(void **state)
{
    arena = mm_arena_new(0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
    snprintf(driver, sizeof(driver), "http://127.0.0.1:%s", itest_env("MM_TEST_DRIVER_PORT"));
    long t0 = now_ms();
    bool ready = false;
    while (!ready && now_ms() - t0 < 15000) {
        growbuf b = {0};
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, mm_arena_printf(arena, "%s/status", driver));
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
        ready = curl_easy_perform(curl) == CURLE_OK && b.data && strstr(b.data, "\"ready\":true");
        free(b.data);
        if (!ready)
            usleep(100 * 1000);
    }
    if (!ready) {
        fprintf(stderr, "chromedriver is not ready\n");
        return -1;
    }
    /* the flags keep a headless chromium from reaching the network on its own */
    static const char *const flags[] = {"--headless",
                                        "--no-sandbox",
                                        "--disable-gpu",
                                        "--disable-background-networking",
                                        "--disable-sync",
                                        "--no-first-run",
                                        "--disable-component-update",
                                        "--disable-dev-shm-usage",
                                        "--window-size=1100,1000"};
    json_object *args = json_object_new_array();
    for (size_t i = 0; i < MM_ARRAY_LEN(flags); i++)
        json_object_array_add(args, json_object_new_string(flags[i]));
    json_object_array_add(
        args, json_object_new_string(mm_arena_printf(arena, "--user-data-dir=%s",
                                                     itest_env("MM_TEST_BROWSER_PROFILE"))));
    json_object *opts = json_object_new_object();
    json_object_object_add(opts, "binary", json_object_new_string(itest_env("MM_TEST_CHROMIUM")));
    json_object_object_add(opts, "args", args);
    json_object *logging = json_object_new_object();
    json_object_object_add(logging, "browser", json_object_new_string("ALL"));
    json_object *match = json_object_new_object();
    json_object_object_add(match, "browserName", json_object_new_string("chrome"));
    json_object_object_add(match, "goog:chromeOptions", opts);
    json_object_object_add(match, "goog:loggingPrefs", logging);
    json_object *caps = json_object_new_object(), *body = json_object_new_object();
    json_object_object_add(caps, "alwaysMatch", match);
    json_object_object_add(body, "capabilities", caps);
    json_object *v = wd("POST", "/session", body), *id;
    if (!json_object_object_get_ex(v, "sessionId", &id))
        return -1;
    snprintf(session, sizeof(session), "/session/%s", json_object_get_string(id));
    json_object_put(v);
    return 0;
}

static int teardown(void **state)
{
    if (session[0] != '\0')
        json_object_put(wd("DELETE", session, NULL));
    curl_easy_cleanup(curl);
    mm_arena_free(arena);
    return 0;
}

static void the_page_loads_and_goes_live(void **state)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, "url",
                           json_object_new_string(mm_arena_printf(arena, "%s/lobby/?product=" P,
                                                                  itest_env("MM_TEST_HTTP_BASE"))));
    json_object_put(wd("POST", at("/url"), body));
    assert_string_equal(js_text("return document.title", NULL), "Game lobby");
    long ms =
        until("return document.getElementById('status').dataset.state === 'live'", NULL, WAIT_MS);
    if (ms < 0)
        fail_msg("the page is not live: %s",
                 js_text("return document.getElementById('status').textContent", NULL));
    no_console_errors();
}

static void a_game_listed_through_the_api_shows_within_a_second(void **state)
{
    const char *game = itest_create_game(arena, P, "page-a");
    assert_true(js_true(GONE, game)); /* created is not listed */
    long t0 = now_ms();
    itest_creator_joined(P, game);
    long ms = until(LISTED, game, WAIT_MS);
    assert_true(ms >= 0);
    long total = now_ms() - t0;
    printf("listed game on the page after %ld ms\n", total);
    if (total > LIVE_MS)
        fail_msg("the game showed after %ld ms", total);
    /* its card: the creator's name, 1 of 2 players */
    const char *text = js_text("return document.querySelector('#games [data-game-id=\"' + "
                               "arguments[0] + '\"]').textContent",
                               game);
    assert_non_null(strstr(text, "page-a"));
    assert_non_null(strstr(text, "1 of 2 players"));

    t0 = now_ms();
    api_join("page-b", game); /* fills it */
    ms = until(GONE, game, WAIT_MS);
    assert_true(ms >= 0);
    total = now_ms() - t0;
    printf("full game gone from the page after %ld ms\n", total);
    if (total > LIVE_MS)
        fail_msg("the full game went after %ld ms", total);
    no_console_errors();
}

/* The page's own buttons, with pasted tokens: create, join, leave, quick match. */
static void a_player_plays_from_the_page(void **state)
{
    type_into("#token", bare_token("page-c"));
    assert_non_null(
        strstr(js_text("return document.getElementById('who').textContent", NULL), "page-c"));
    click("#create");
    assert_true(until("return document.querySelector('#mine [data-game-id]') !== null", NULL,
                      WAIT_MS) >= 0);
    const char *game =
        js_text("return document.querySelector('#mine [data-game-id]').dataset.gameId", NULL);
    assert_non_null(strstr(js_text("return document.getElementById('result').textContent", NULL),
                           "Created game"));
    itest_creator_joined(P, game);
    assert_true(until(LISTED, game, WAIT_MS) >= 0);
    /* the creator is seated: no Join for them */
    assert_true(js_true("return document.querySelector('#games [data-game-id=\"' + arguments[0] + "
                        "'\"] button').disabled",
                        game));

    type_into("#token", bare_token("page-d"));
    click(mm_arena_printf(arena, "#games [data-game-id=\"%s\"] button", game));
    assert_true(until(GONE, game, WAIT_MS) >= 0); /* page-d filled it */
    assert_non_null(strstr(js_text("return document.getElementById('result').textContent", NULL),
                           "Joined game"));

    click(mm_arena_printf(arena, "#mine [data-game-id=\"%s\"] button", game)); /* leave */
    assert_true(until(LISTED, game, WAIT_MS) >= 0); /* back in the lobby */

    type_into("#token", bare_token("page-e"));
    click("#quick");
    assert_true(until(GONE, game, WAIT_MS) >= 0); /* page-e took the free seat */
    assert_non_null(strstr(js_text("return document.getElementById('result').textContent", NULL),
                           "Joined game"));
    no_console_errors();
}

/* The page as a player sees it, for the test log and docs/: a few open games. */
static void screenshots_of_the_page(void **state)
{
    static const char *const creators[] = {"alice", "bob", "carol"};
    const char *last = NULL;
    for (size_t i = 0; i < MM_ARRAY_LEN(creators); i++) {
        last = itest_create_game(arena, P, creators[i]);
        itest_creator_joined(P, last);
    }
    assert_true(until(LISTED, last, WAIT_MS) >= 0);
    usleep(1000 * 1000); /* the arrival highlight fades */
    screenshot("test_browser-lobby.png");
    json_object *rect = json_object_new_object();
    json_object_object_add(rect, "width", json_object_new_int(390));
    json_object_object_add(rect, "height", json_object_new_int(844));
    json_object_put(wd("POST", at("/window/rect"), rect));
    /* readable on a phone: nothing wider than the screen */
    assert_true(js_true("return document.documentElement.scrollWidth <= window.innerWidth", NULL));
    screenshot("test_browser-lobby-phone.png");
    no_console_errors();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_page_loads_and_goes_live),
        cmocka_unit_test(a_game_listed_through_the_api_shows_within_a_second),
        cmocka_unit_test(a_player_plays_from_the_page),
        cmocka_unit_test(screenshots_of_the_page),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
