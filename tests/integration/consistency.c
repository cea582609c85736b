#include "consistency.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void violation(mm_consistency *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void violation(mm_consistency *out, const char *fmt, ...)
{
    if (out->violations++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(out->first, sizeof(out->first), fmt, ap);
        va_end(ap);
    }
}

static const char *const set_names[] = {"__pending_games:", "__lobby_games:", "__active_games:"};

/* One game document: parses, capacity respected, no duplicate, in exactly one set. */
static void check_game(redisContext *c, const char *product, const char *id, const char *doc,
                       mm_consistency *out)
{
    json_object *g = json_tokener_parse(doc);
    json_object *players = NULL, *settings = NULL, *np = NULL;
    if (g == NULL || !json_object_object_get_ex(g, "players", &players) ||
        !json_object_is_type(players, json_type_array)) {
        violation(out, "%s/%s: document does not parse or has no players", product, id);
        json_object_put(g);
        return;
    }
    int cap = 2;
    if (json_object_object_get_ex(g, "settings", &settings) &&
        json_object_object_get_ex(settings, "num_players", &np))
        cap = json_object_get_int(np);
    size_t n = json_object_array_length(players);
    if (n == 0 || n > (size_t)cap)
        violation(out, "%s/%s: %zu players for %d seats", product, id, n, cap);
    for (size_t i = 0; i < n; i++) {
        const char *a = json_object_get_string(json_object_array_get_idx(players, i));
        for (size_t k = i + 1; k < n; k++) {
            const char *b = json_object_get_string(json_object_array_get_idx(players, k));
            if (a != NULL && b != NULL && strcmp(a, b) == 0)
                violation(out, "%s/%s: player %s twice", product, id, a);
        }
    }
    json_object_put(g);
    int in = 0;
    for (int s = 0; s < 3; s++) {
        redisReply *r = redisCommand(c, "ZSCORE %s%s %s", set_names[s], product, id);
        if (r != NULL && r->type == REDIS_REPLY_STRING)
            in++;
        freeReplyObject(r);
    }
    if (in != 1)
        violation(out, "%s/%s: in %d sets", product, id, in);
}

int mm_consistency_check(redisContext *c, const char *const *products, mm_consistency *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t p = 0; products[p] != NULL; p++) {
        redisReply *all = redisCommand(c, "HGETALL __games:%s", products[p]);
        if (all == NULL || all->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(all);
            return -1;
        }
        for (size_t i = 0; i + 1 < all->elements; i += 2) {
            out->games++;
            check_game(c, products[p], all->element[i]->str, all->element[i + 1]->str, out);
        }
        freeReplyObject(all);
        for (int s = 0; s < 3; s++) {
            redisReply *m = redisCommand(c, "ZRANGE %s%s 0 -1", set_names[s], products[p]);
            if (m == NULL || m->type != REDIS_REPLY_ARRAY) {
                freeReplyObject(m);
                return -1;
            }
            for (size_t i = 0; i < m->elements; i++) {
                redisReply *e =
                    redisCommand(c, "HEXISTS __games:%s %s", products[p], m->element[i]->str);
                if (e == NULL || e->type != REDIS_REPLY_INTEGER || e->integer != 1)
                    violation(out, "%s%s: member %s has no document", set_names[s], products[p],
                              m->element[i]->str);
                freeReplyObject(e);
            }
            freeReplyObject(m);
        }
    }
    return 0;
}
