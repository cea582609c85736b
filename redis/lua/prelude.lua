-- The shared prelude of every store script: the functions below are
-- prepended to each script's own file when the programs are built, so a
-- script is loaded by hand as
--   redis-cli SCRIPT LOAD "$(cat redis/lua/prelude.lua redis/lua/reserve.lua)"
--
-- Write scripts on games take KEYS = 1 games hash, 2 pending, 3 lobby,
-- 4 active sets, 5 the game's wlock, 6 the product's last-applied-event hash,
-- 7 its cleanup queue, 8 its private games (listed to no one), 9 its join
-- codes. Keys named after a user or a lobby filter are made here from the
-- product id (so these scripts do not run on Redis Cluster). Their ARGV[1] is
-- the caller's deadline (Unix time, ms): past it the caller has stopped
-- waiting for the answer, so the script answers {'LATE'} and writes nothing (a
-- client told 503 never holds a seat or a game because of that request). They
-- answer {status, document, lobby effect, extra...}: the effect is what the
-- step did to the listed lobby ('listed', 'updated', 'unlisted' or ''), which
-- the caller publishes (SPEC 13).
--
-- Documents keep the bytes of every value a script does not change: only
-- players, state and _last_updated are encoded here, every other field is
-- copied from the stored text as it was (settings stay byte for byte the
-- product's; a number or an array cjson would re-encode differently, or not
-- at all, is never re-encoded). Known fields come first in the order of
-- SPEC section 3, then the others in the order they were stored.

local function late()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[1])
end

-- ---- the stored text, member by member ----
local find, sub = string.find, string.sub

-- Index just past the string that starts at i (a '"'), or nil.
local function string_end(s, i)
  local j = i + 1
  while true do
    local k = find(s, '["\\]', j)
    if not k then return nil end
    if sub(s, k, k) == '"' then return k + 1 end
    j = k + 2
  end
end

-- Index just past the value that starts at i, or nil. Only the structure is
-- walked: cjson has already accepted the document.
local function value_end(s, i)
  local c = sub(s, i, i)
  if c == '"' then return string_end(s, i) end
  if c ~= '{' and c ~= '[' then
    return find(s, '[,}%]%s]', i) or #s + 1
  end
  local depth, j = 0, i
  while true do
    local k = find(s, '[%[%]{}"]', j)
    if not k then return nil end
    local d = sub(s, k, k)
    if d == '"' then
      j = string_end(s, k)
      if not j then return nil end
    else
      depth = depth + ((d == '{' or d == '[') and 1 or -1)
      j = k + 1
      if depth == 0 then return j end
    end
  end
end

-- The members of the object s: {keys = the keys in document order, text =
-- key -> the exact text of its value (the last one for a repeated key, as
-- cjson decodes it), raw_key = key -> its exact text}. nil when s is not an
-- object.
local function members(s)
  local keys, text, raw_key = {}, {}, {}
  local m = {keys = keys, text = text, raw_key = raw_key}
  local i = find(s, '%S')
  if not i or sub(s, i, i) ~= '{' then return nil end
  i = find(s, '%S', i + 1)
  if i and sub(s, i, i) == '}' then return m end
  while i and sub(s, i, i) == '"' do
    local i0 = i
    local ke = string_end(s, i)
    if not ke then return nil end
    local key = sub(s, i + 1, ke - 2)
    if find(key, '\\', 1, true) then key = cjson.decode(sub(s, i, ke - 1)) end
    i = find(s, '%S', ke)
    if not i or sub(s, i, i) ~= ':' then return nil end
    local vs = find(s, '%S', i + 1)
    local ve = vs and value_end(s, vs)
    if not ve then return nil end
    if text[key] == nil then keys[#keys + 1] = key end
    text[key] = sub(s, vs, ve - 1)
    raw_key[key] = sub(s, i0, ke - 1)
    i = find(s, '%S', ve)
    if not i then return nil end
    local c = sub(s, i, i)
    if c == '}' then return m end
    if c ~= ',' then return nil end
    i = find(s, '%S', i + 1)
  end
  return nil
end

-- cjson writes "/" as "\/" (every such pair is an escape of its own): written
-- plainly, as the C encoder does.
local function enc(v)
  return (string.gsub(cjson.encode(v), '\\/', '/'))
end

local order = {'game_id', 'product_id', 'game_server_url', 'creator_id', 'creator_name',
  'players', 'settings', 'token', '_last_updated', 'state'}
local changes = {players = true, _last_updated = true, state = true}
local known = {}
for _, k in ipairs(order) do known[k] = true end

-- The document of game g, whose stored text had the members m.
local function encode_game(g, m)
  local out = {}
  for _, k in ipairs(order) do
    local v
    if k == 'players' then
      local p = {}
      for i, id in ipairs(g.players) do p[i] = enc(id) end
      v = '[' .. table.concat(p, ', ') .. ']'
    elseif changes[k] or m.text[k] == nil then
      v = enc(g[k])
    else
      v = m.text[k]
    end
    out[#out + 1] = '"' .. k .. '": ' .. v
  end
  for _, k in ipairs(m.keys) do
    if not known[k] then out[#out + 1] = m.raw_key[k] .. ': ' .. m.text[k] end
  end
  return '{' .. table.concat(out, ', ') .. '}'
end

-- The cjson check of load leaves the shape of players to this: an array of
-- strings, as the C decoder wants it.
local function players_ok(g, m)
  if sub(m.text.players or '', 1, 1) ~= '[' then return false end
  for _, v in pairs(g.players) do
    if type(v) ~= 'string' then return false end
  end
  return true
end

-- Stream ids "ms-seq": is a newer than b?
local function newer(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not am or not bm then return true end
  am, bm = tonumber(am), tonumber(bm)
  if am ~= bm then return am > bm end
  return tonumber(as) > tonumber(bs)
end

-- Events of one game are applied in stream order (SPEC 10): an event older
-- than the last one applied to the game is stale. event_id '' : not an event.
local function stale(id, event_id)
  if event_id == '' then return false end
  local last = redis.call('HGET', KEYS[6], id)
  return last ~= false and last ~= nil and not newer(event_id, last)
end

local function applied(id, event_id)
  if event_id ~= '' then redis.call('HSET', KEYS[6], id, event_id) end
end

-- A game-server call to make after the change (curation's remove_game and
-- remove_player), queued in the same step so it is never lost: due at once.
local function queue_cleanup(job)
  if job ~= '' then
    local t = redis.call('TIME')
    redis.call('ZADD', KEYS[7], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), job)
  end
end

-- ---- the product's keys ----
local PRODUCT = sub(KEYS[1] or '', 9) -- after '__games:'

-- A user's seats in games not yet in progress, open games created, and calls
-- this minute (SPEC 11), per product.
local function user_key(kind, user)
  return '__user_' .. kind .. ':' .. PRODUCT .. ':' .. user
end

-- ---- the listed lobby and its filter indexes ----
local EFFECT = ''

-- The game's lobby filter pairs ('key=value', sorted by key).
local function lobby_pairs(g)
  local s = g.settings
  local l = type(s) == 'table' and s.lobby
  local out = {}
  if type(l) == 'table' then
    for k, v in pairs(l) do
      if type(k) == 'string' and type(v) == 'string' then out[#out + 1] = k .. '=' .. v end
    end
  end
  table.sort(out)
  return out
end

-- One index per set of pairs a query may ask for: every nonempty subset of the
-- game's pairs (a product declares at most 4 filters: at most 15 indexes), in
-- the same order as the lobby. '__lobby_games:P|mode=ranked|region=eu'.
local function index_keys(g)
  local p = lobby_pairs(g)
  local n = math.min(#p, 4)
  local keys = {}
  for mask = 1, 2 ^ n - 1 do
    local parts = {}
    for i = 1, n do
      if math.floor(mask / 2 ^ (i - 1)) % 2 == 1 then parts[#parts + 1] = p[i] end
    end
    keys[#keys + 1] = KEYS[3] .. '|' .. table.concat(parts, '|')
  end
  return keys
end

local function is_private(g)
  return g.private == true
end

-- Lists the game (a private one only in the private set), keeping the score of
-- a game already listed.
local function list(id, g, score)
  if is_private(g) then
    redis.call('ZADD', KEYS[8], 'NX', score, id)
    return
  end
  local added = redis.call('ZADD', KEYS[3], 'NX', score, id)
  for _, k in ipairs(index_keys(g)) do redis.call('ZADD', k, 'NX', score, id) end
  EFFECT = added == 1 and 'listed' or 'updated'
end

-- Takes the game out of the lobby (g may be false: a document that does not
-- parse, whose filter indexes cannot be known).
local function unlist(id, g)
  redis.call('ZREM', KEYS[8], id)
  if redis.call('ZREM', KEYS[3], id) == 1 then EFFECT = 'unlisted' end
  if g then
    for _, k in ipairs(index_keys(g)) do redis.call('ZREM', k, id) end
  end
end

-- ---- per-user limits (SPEC 11) ----
local SEAT_STATES = {created = true, creator_joined = true, all_players_joined = true}
local OPEN_STATES = {created = true, creator_joined = true}

-- Keeps the users' seat and open-game sets in step with the game, from what it
-- was (before: players, state and creator, or nil for a new game) to what it
-- is (g, or nil once deleted).
local function track(id, before, g)
  local seated = {}
  if g and SEAT_STATES[g.state] then
    for _, p in ipairs(g.players) do seated[p] = true end
  end
  if before then
    for _, p in ipairs(before.players) do
      if not seated[p] then redis.call('SREM', user_key('seats', p), id) end
    end
  end
  for p in pairs(seated) do redis.call('SADD', user_key('seats', p), id) end
  local creator = (g and g.creator_id) or (before and before.creator)
  if type(creator) == 'string' then
    if g and OPEN_STATES[g.state] then
      redis.call('SADD', user_key('games', creator), id)
    else
      redis.call('SREM', user_key('games', creator), id)
    end
  end
end

-- Whether the user holds limit or more of kind ('seats', 'games'). At the
-- limit, entries whose game is gone (deleted by a path that could not read its
-- document) are dropped first, so a count never stays wrong.
local function at_limit(kind, user, limit)
  if limit <= 0 then return false end
  local key = user_key(kind, user)
  local n = redis.call('SCARD', key)
  if n < limit then return false end
  for _, id in ipairs(redis.call('SMEMBERS', key)) do
    if redis.call('HEXISTS', KEYS[1], id) == 0 then
      redis.call('SREM', key, id)
      n = n - 1
    end
  end
  return n >= limit
end

-- Counts a call of the user in the current minute; the milliseconds until the
-- minute ends when this one is over limit, else false.
local function over_rate(user, limit)
  if limit <= 0 then return false end
  local key = user_key('rate', user)
  local n = redis.call('INCR', key)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, 60000) end
  if n > limit then return math.max(redis.call('PTTL', key), 1) end
  return false
end

-- ---- one game ----

-- raw == nil: no such game; g == false: a document that does not parse.
-- m: the members of the stored text and the game as it was (before), for save.
local function load(id)
  local raw = redis.call('HGET', KEYS[1], id)
  if not raw then return nil, nil end
  local ok, g = pcall(cjson.decode, raw)
  if not ok or type(g) ~= 'table' or type(g.players) ~= 'table' then return raw, false end
  local m = members(raw)
  if not m or not players_ok(g, m) then return raw, false end
  local was = {}
  for i, p in ipairs(g.players) do was[i] = p end
  m.before = {players = was, state = g.state, creator = g.creator_id}
  return raw, g, m
end

local function capacity(g)
  local s = g.settings
  return (type(s) == 'table' and tonumber(s.num_players)) or 2
end

local function save(id, g, m, product)
  local doc = encode_game(g, m)
  redis.call('HSET', KEYS[1], id, doc)
  redis.call('SET', 'wlock:' .. id, product) -- KEYS[5], or a game quick_match picked
  track(id, m.before, g)
  return doc
end

-- A join code is freed when its game starts or goes (SPEC 12).
local function free_code(id, g)
  if type(g.join_code) == 'string' and redis.call('HGET', KEYS[9], g.join_code) == id then
    redis.call('HDEL', KEYS[9], g.join_code)
  end
end

-- Deletes the game and everything that names it.
local function remove(id, g)
  unlist(id, g)
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('DEL', 'wlock:' .. id)
  redis.call('HDEL', KEYS[6], id)
  if g then
    free_code(id, g)
    track(id, {players = g.players, state = g.state, creator = g.creator_id}, nil)
  end
end

local function find_guest(g, user)
  for i, p in ipairs(g.players) do
    if p == user and p ~= g.creator_id then return i end
  end
  return nil
end

local function has_player(g, user)
  for _, p in ipairs(g.players) do
    if p == user then return true end
  end
  return false
end
