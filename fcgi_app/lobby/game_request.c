#include "game_request.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

#define BODY_DEPTH 8

static mm_status add_pick(mm_game_request *out, const mm_product *p, const char *key, size_t klen,
                          const char *value, size_t vlen)
{
    const mm_lobby_filter *f = mm_product_filter(p, key, klen);
    if (f == NULL || !mm_filter_allows(f, value, vlen))
        return MM_ERR_INVALID;
    for (int i = 0; i < f->nvalues; i++)
        if (strlen(f->values[i]) == vlen && memcmp(f->values[i], value, vlen) == 0)
            value = f->values[i]; /* the product's own copy, NUL-terminated */
    for (int i = 0; i < out->npicks; i++)
        if (out->picks[i].filter == f)
            return MM_ERR_INVALID; /* the same key twice */
    out->picks[out->npicks].filter = f;
    out->picks[out->npicks].value = value;
    out->npicks++;
    return MM_OK;
}

/* The picks in the product's declared order. */
static void sort_declared(const mm_product *p, mm_game_request *r)
{
    mm_game_request sorted = {.private_game = r->private_game};
    for (int d = 0; d < p->nfilters; d++)
        for (int i = 0; i < r->npicks; i++)
            if (r->picks[i].filter == &p->filters[d])
                sorted.picks[sorted.npicks++] = r->picks[i];
    *r = sorted;
}

mm_status mm_game_request_parse(const mm_product *p, const char *body, size_t len,
                                mm_game_request *out)
{
    memset(out, 0, sizeof(*out));
    if (body == NULL || len == 0 || len > MM_MAX_BODY)
        return MM_OK;
    json_tokener *tok = json_tokener_new_ex(BODY_DEPTH);
    if (tok == NULL)
        return MM_ERR_NOMEM;
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    bool object = root != NULL && json_tokener_get_error(tok) == json_tokener_success &&
                  json_object_is_type(root, json_type_object);
    json_tokener_free(tok);
    mm_status st = MM_OK;
    json_object *v;
    if (!object)
        goto out; /* not a JSON object: asks for nothing (SPEC 12) */
    out->private_game = json_object_object_get_ex(root, "private", &v) &&
                        json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
    if (json_object_object_get_ex(root, "lobby", &v)) {
        if (!json_object_is_type(v, json_type_object)) {
            st = MM_ERR_INVALID;
            goto out;
        }
        json_object_object_foreach (v, key, val) {
            if (out->npicks == MM_FILTERS_MAX || !json_object_is_type(val, json_type_string) ||
                add_pick(out, p, key, strlen(key), json_object_get_string(val),
                         (size_t)json_object_get_string_len(val)) != MM_OK) {
                st = MM_ERR_INVALID;
                goto out;
            }
        }
        sort_declared(p, out);
    }
out:
    json_object_put(root);
    if (st != MM_OK)
        memset(out, 0, sizeof(*out));
    return st;
}

mm_status mm_game_request_from_query(const mm_product *p, const char *query, mm_game_request *out)
{
    memset(out, 0, sizeof(*out));
    for (int d = 0; d < p->nfilters; d++) {
        const char *v;
        size_t len;
        if (!mm_query_param(query, p->filters[d].name, &v, &len))
            continue;
        if (add_pick(out, p, p->filters[d].name, strlen(p->filters[d].name), v, len) != MM_OK) {
            memset(out, 0, sizeof(*out));
            return MM_ERR_INVALID;
        }
    }
    return MM_OK;
}

static int by_name(const void *x, const void *y)
{
    const mm_filter_pick *a = x, *b = y;
    return strcmp(a->filter->name, b->filter->name);
}

char *mm_game_request_index(mm_arena *a, const mm_game_request *r)
{
    mm_filter_pick sorted[MM_FILTERS_MAX];
    memcpy(sorted, r->picks, sizeof(sorted[0]) * (size_t)r->npicks);
    qsort(sorted, (size_t)r->npicks, sizeof(sorted[0]), by_name);
    size_t cap = 1 + (size_t)r->npicks * (2 * MM_FILTER_NAME_MAX + 2);
    char *out = mm_arena_alloc(a, cap);
    if (out == NULL)
        return NULL;
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < r->npicks; i++)
        n += (size_t)snprintf(out + n, cap - n, "|%s=%s", sorted[i].filter->name, sorted[i].value);
    return out;
}

char *mm_game_request_settings(mm_arena *a, const mm_product *p, const mm_game_request *r)
{
    const char *base = p->settings_json;
    size_t blen = strlen(base);
    if (r->npicks == 0)
        return mm_arena_strndup(a, base, blen);
    /* the product's object without its closing brace, then the lobby object and the brace:
     * the product's settings keep their bytes (SPEC 10) */
    while (blen > 0 && base[blen - 1] != '}')
        blen--;
    if (blen == 0)
        return NULL;
    size_t body_end = blen - 1;
    bool empty = true;
    for (size_t i = 1; i < body_end && empty; i++)
        empty = base[i] == ' ' || base[i] == '\n' || base[i] == '\t' || base[i] == '\r';
    size_t cap = blen + 16 + (size_t)r->npicks * (2 * MM_FILTER_NAME_MAX + 8);
    char *out = mm_arena_alloc(a, cap);
    if (out == NULL)
        return NULL;
    memcpy(out, base, body_end);
    size_t n = body_end;
    n += (size_t)snprintf(out + n, cap - n, "%s\"lobby\":{", empty ? "" : ",");
    for (int i = 0; i < r->npicks; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s\"%s\":\"%s\"", i > 0 ? "," : "",
                              r->picks[i].filter->name, r->picks[i].value);
    snprintf(out + n, cap - n, "}}");
    return out;
}
