/* The Lua source of the store's scripts (store.c runs them with EVALSHA),
 * embedded from the .lua files in redis/lua at build time (scripts/lua-to-c.sh).
 * Each script is the shared prelude followed by its body. */
#ifndef MM_STORE_SCRIPTS_H
#define MM_STORE_SCRIPTS_H

typedef enum {
    MM_LUA_CREATE = 0,
    MM_LUA_ADVANCE,
    MM_LUA_RESERVE,
    MM_LUA_UNDO,
    MM_LUA_RESET,
    MM_LUA_DELETE,
    MM_LUA_FETCH,
    MM_LUA_CLEANUP_CLAIM,
    MM_LUA_CLEANUP_SETTLE,
    MM_LUA_DEAD_LETTER,
    MM_LUA_STREAM_TRIM,
    MM_LUA_ADMIT,
    MM_LUA_QUICK,
    MM_LUA_LEAVE,
    MM_LUA_IDEM_CLAIM,
    MM_LUA_IDEM_KEEP,
    MM_LUA_COUNT
} mm_lua_script;

extern const char mm_lua_prelude[];
extern const char *const mm_lua_bodies[MM_LUA_COUNT];

#endif
