/* The store's Lua scripts. Each runs atomically inside Redis and re-checks
 * everything it depends on there, so no read-then-write window exists.
 *
 * Write scripts take KEYS = games hash, pending, lobby, active sets, wlock key
 * and answer {status, document, extra}. Documents are re-encoded in the
 * canonical field order of SPEC section 3 (fields unknown to this version are
 * kept, after the known ones), with _last_updated and scores supplied by the
 * caller's clock. */
#include "store_lua.h"

const char mm_lua_prelude[] =
    /* cjson writes "/" as "\/"; every such pair is an escape of its own (cjson
     * never leaves a bare "/" or a lone backslash), so undoing it keeps the JSON
     * exact and makes the documents byte-identical to the C encoder's for plain
     * strings. The literal parts below hold no backslash, so one pass over the
     * whole document undoes the same pairs as a pass over each value would. */
    "local enc = cjson.encode\n"
    "local known = {game_id=1, product_id=1, game_server_url=1, creator_id=1,\n"
    "  creator_name=1, players=1, settings=1, token=1, _last_updated=1, state=1}\n"
    "local function encode_game(g)\n"
    "  local p = {}\n"
    "  for i, id in ipairs(g.players) do p[i] = enc(id) end\n"
    "  local out = {'{\"game_id\": ', enc(g.game_id), ', \"product_id\": ', enc(g.product_id),\n"
    "    ', \"game_server_url\": ', enc(g.game_server_url), ', \"creator_id\": ',\n"
    "    enc(g.creator_id), ', \"creator_name\": ', enc(g.creator_name), ', \"players\": [',\n"
    "    table.concat(p, ', '), '], \"settings\": ', enc(g.settings), ', \"token\": ',\n"
    "    enc(g.token), ', \"_last_updated\": ', enc(g._last_updated), ', \"state\": ',\n"
    "    enc(g.state)}\n"
    "  for k, v in pairs(g) do\n"
    "    if not known[k] then out[#out + 1] = ', ' .. enc(k) .. ': ' .. enc(v) end\n"
    "  end\n"
    "  out[#out + 1] = '}'\n"
    "  return (string.gsub(table.concat(out), '\\\\/', '/'))\n"
    "end\n"
    /* raw == nil: no such game; g == false: a document that does not parse */
    "local function load(id)\n"
    "  local raw = redis.call('HGET', KEYS[1], id)\n"
    "  if not raw then return nil, nil end\n"
    "  local ok, g = pcall(cjson.decode, raw)\n"
    "  if not ok or type(g) ~= 'table' or type(g.players) ~= 'table' then return raw, false end\n"
    "  return raw, g\n"
    "end\n"
    "local function capacity(g)\n"
    "  local s = g.settings\n"
    "  return (type(s) == 'table' and tonumber(s.num_players)) or 2\n"
    "end\n"
    "local function save(id, g, product)\n"
    "  local doc = encode_game(g)\n"
    "  redis.call('HSET', KEYS[1], id, doc)\n"
    "  redis.call('SET', KEYS[5], product)\n"
    "  return doc\n"
    "end\n"
    "local function find_guest(g, user)\n"
    "  for i, p in ipairs(g.players) do\n"
    "    if p == user and p ~= g.creator_id then return i end\n"
    "  end\n"
    "  return nil\n"
    "end\n";

/* ARGV: game_id, document, score_ms, product_id */
static const char lua_create[] =
    "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {'EXISTS'} end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])\n"
    "redis.call('SET', KEYS[5], ARGV[4])\n"
    "return {'OK', ARGV[2]}\n";

/* ARGV: game_id, new_state, now_str, score_ms, product_id.
 * Only the state right after the current one is accepted. Reaching
 * creator_joined publishes the game (pending -> lobby); later states keep it
 * in the active set (entered once: its score is the time it entered). */
static const char lua_advance[] =
    "local raw, g = load(ARGV[1])\n"
    "if not raw then return {'NOT_FOUND'} end\n"
    "if not g then return {'CORRUPT'} end\n"
    "local order = {created=1, creator_joined=2, all_players_joined=3, in_progress=4,\n"
    "  ended=5}\n"
    "local from, to = order[g.state], order[ARGV[2]]\n"
    "if not from or not to or to ~= from + 1 then return {'WRONG_STATE', raw} end\n"
    "g.state = ARGV[2]\n"
    "g._last_updated = ARGV[3]\n"
    "local doc = save(ARGV[1], g, ARGV[5])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "if ARGV[2] == 'creator_joined' then\n"
    "  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])\n"
    "else\n"
    "  redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "  redis.call('ZADD', KEYS[4], 'NX', ARGV[4], ARGV[1])\n"
    "end\n"
    "return {'OK', doc}\n";

/* ARGV: game_id, user_id, now_str, score_ms, product_id.
 * The join checks of SPEC section 2, in its order; the seat is taken and, if
 * that fills the game, it moves from the lobby to the active set. On OK it
 * also answers what the caller needs without decoding the document: the game
 * server's URL, the players now seated and the capacity. */
static const char lua_reserve[] =
    "local raw, g = load(ARGV[1])\n"
    "if not raw then return {'NOT_FOUND'} end\n"
    "if not g or type(g.game_server_url) ~= 'string' then return {'CORRUPT'} end\n"
    "if g.state ~= 'creator_joined' then return {'WRONG_STATE', raw} end\n"
    "for _, p in ipairs(g.players) do\n"
    "  if p == ARGV[2] then return {'ALREADY_JOINED', raw} end\n"
    "end\n"
    "local cap = capacity(g)\n"
    "if #g.players >= cap then return {'FULL', raw} end\n"
    "g.players[#g.players + 1] = ARGV[2]\n"
    "g._last_updated = ARGV[3]\n"
    "local doc = save(ARGV[1], g, ARGV[5])\n"
    "if #g.players >= cap then\n"
    "  redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])\n"
    "end\n"
    "return {'OK', doc, g.game_server_url, #g.players, cap}\n";

/* ARGV: game_id, user_id, now_str, score_ms, product_id.
 * Gives the seat back; a creator_joined game that had left the lobby returns. */
static const char lua_undo[] =
    "local raw, g = load(ARGV[1])\n"
    "if not raw then return {'NOT_FOUND'} end\n"
    "if not g then return {'CORRUPT'} end\n"
    "local i = find_guest(g, ARGV[2])\n"
    "if not i then return {'NOT_PLAYER', raw} end\n"
    "table.remove(g.players, i)\n"
    "g._last_updated = ARGV[3]\n"
    "local doc = save(ARGV[1], g, ARGV[5])\n"
    "if g.state == 'creator_joined' and not redis.call('ZSCORE', KEYS[3], ARGV[1]) then\n"
    "  redis.call('ZREM', KEYS[4], ARGV[1])\n"
    "  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])\n"
    "end\n"
    "return {'OK', doc}\n";

/* ARGV: game_id, user_id ('' = the last player), expected document ('' = any),
 * now_str, score_ms, product_id. A guest left or never connected: drop them,
 * back to creator_joined, listed in the lobby again. */
static const char lua_reset[] =
    "local raw, g = load(ARGV[1])\n"
    "if not raw then return {'NOT_FOUND'} end\n"
    "if ARGV[3] ~= '' and raw ~= ARGV[3] then return {'CHANGED', raw} end\n"
    "if not g then return {'CORRUPT'} end\n"
    "if g.state ~= 'creator_joined' and g.state ~= 'all_players_joined' and\n"
    "   g.state ~= 'in_progress' then return {'WRONG_STATE', raw} end\n"
    "local i\n"
    "if ARGV[2] == '' then\n"
    "  i = find_guest(g, g.players[#g.players])\n"
    "else\n"
    "  i = find_guest(g, ARGV[2])\n"
    "end\n"
    "if not i then return {'NOT_PLAYER', raw} end\n"
    "local removed = table.remove(g.players, i)\n"
    "g.state = 'creator_joined'\n"
    "g._last_updated = ARGV[4]\n"
    "local doc = save(ARGV[1], g, ARGV[6])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('ZREM', KEYS[4], ARGV[1])\n"
    "redis.call('ZADD', KEYS[3], 'NX', ARGV[5], ARGV[1])\n"
    "return {'OK', doc, removed}\n";

/* ARGV: game_id, expected document ('' = any). Set entries and the wlock go
 * even when the document is already missing (a dangling entry is cleaned). */
static const char lua_delete[] = "local raw = redis.call('HGET', KEYS[1], ARGV[1])\n"
                                 "if ARGV[2] ~= '' then\n"
                                 "  if not raw then return {'NOT_FOUND'} end\n"
                                 "  if raw ~= ARGV[2] then return {'CHANGED'} end\n"
                                 "end\n"
                                 "redis.call('HDEL', KEYS[1], ARGV[1])\n"
                                 "redis.call('ZREM', KEYS[2], ARGV[1])\n"
                                 "redis.call('ZREM', KEYS[3], ARGV[1])\n"
                                 "redis.call('ZREM', KEYS[4], ARGV[1])\n"
                                 "redis.call('DEL', KEYS[5])\n"
                                 "if not raw then return {'NOT_FOUND'} end\n"
                                 "return {'OK'}\n";

/* KEYS: a set, the games hash. ARGV: 'rank', start, stop | 'score', max, offset, limit.
 * Answers id, document (nil when missing), id, document, ... */
static const char lua_fetch[] =
    "local ids\n"
    "if ARGV[1] == 'rank' then\n"
    "  ids = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[3])\n"
    "else\n"
    "  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', ARGV[3], ARGV[4])\n"
    "end\n"
    "if #ids == 0 then return {} end\n"
    "local docs = redis.call('HMGET', KEYS[2], unpack(ids))\n"
    "local out = {}\n"
    "for i, id in ipairs(ids) do\n"
    "  out[2 * i - 1] = id\n"
    "  out[2 * i] = docs[i]\n"
    "end\n"
    "return out\n";

const char *const mm_lua_bodies[MM_LUA_COUNT] = {
    [MM_LUA_CREATE] = lua_create, [MM_LUA_ADVANCE] = lua_advance, [MM_LUA_RESERVE] = lua_reserve,
    [MM_LUA_UNDO] = lua_undo,     [MM_LUA_RESET] = lua_reset,     [MM_LUA_DELETE] = lua_delete,
    [MM_LUA_FETCH] = lua_fetch,
};
