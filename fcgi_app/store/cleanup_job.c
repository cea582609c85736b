#include "cleanup_job.h"

#include <json-c/json.h>
#include <string.h>

#define JOB_DEPTH 4

static const char *const op_names[] = {"remove_game", "remove_player"};

const char *mm_cleanup_op_name(mm_cleanup_op op)
{
    return (unsigned)op < 2 ? op_names[op] : "unknown";
}

char *mm_cleanup_job_encode(mm_arena *a, const mm_cleanup_job *job)
{
    if (job->game_server_url == NULL || job->game_id == NULL ||
        (job->op == MM_CLEANUP_REMOVE_PLAYER && job->user_id == NULL))
        return NULL;
    json_object *o = json_object_new_object();
    if (o == NULL)
        return NULL;
    json_object_object_add(o, "op", json_object_new_string(mm_cleanup_op_name(job->op)));
    json_object_object_add(o, "url", json_object_new_string(job->game_server_url));
    json_object_object_add(o, "game_id", json_object_new_string(job->game_id));
    if (job->op == MM_CLEANUP_REMOVE_PLAYER)
        json_object_object_add(o, "user_id", json_object_new_string(job->user_id));
    json_object_object_add(o, "attempt", json_object_new_int(job->attempt));
    const char *text =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy =
        text != NULL && strlen(text) <= MM_CLEANUP_MAX_JOB ? mm_arena_strdup(a, text) : NULL;
    json_object_put(o);
    return copy;
}

/* A string member without NUL, copied into a; NULL when absent or mistyped. */
static const char *string_of(mm_arena *a, json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    size_t len = (size_t)json_object_get_string_len(v);
    const char *s = json_object_get_string(v);
    if (len == 0 || memchr(s, '\0', len) != NULL)
        return NULL;
    return mm_arena_strndup(a, s, len);
}

mm_status mm_cleanup_job_decode(mm_arena *a, const char *text, size_t len, mm_cleanup_job *out)
{
    memset(out, 0, sizeof(*out));
    if (len == 0 || len > MM_CLEANUP_MAX_JOB)
        return MM_ERR_INVALID;
    mm_status st = MM_ERR_INVALID;
    json_tokener *tok = json_tokener_new_ex(JOB_DEPTH);
    if (tok == NULL)
        return MM_ERR_NOMEM;
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    json_object *v;
    if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object))
        goto out;
    const char *op = string_of(a, o, "op");
    out->game_server_url = string_of(a, o, "url");
    out->game_id = string_of(a, o, "game_id");
    if (op == NULL || out->game_server_url == NULL || out->game_id == NULL)
        goto out;
    if (strcmp(op, op_names[MM_CLEANUP_REMOVE_GAME]) == 0) {
        out->op = MM_CLEANUP_REMOVE_GAME;
    } else if (strcmp(op, op_names[MM_CLEANUP_REMOVE_PLAYER]) == 0) {
        out->op = MM_CLEANUP_REMOVE_PLAYER;
        if ((out->user_id = string_of(a, o, "user_id")) == NULL)
            goto out;
    } else {
        goto out;
    }
    if (strncmp(out->game_server_url, "http://", 7) != 0 &&
        strncmp(out->game_server_url, "https://", 8) != 0)
        goto out;
    if (!json_object_object_get_ex(o, "attempt", &v) || !json_object_is_type(v, json_type_int))
        goto out;
    int64_t n = json_object_get_int64(v);
    if (n < 0 || n > 1000)
        goto out;
    out->attempt = (int)n;
    st = MM_OK;
out:
    json_object_put(o);
    json_tokener_free(tok);
    if (st != MM_OK)
        memset(out, 0, sizeof(*out));
    return st;
}
