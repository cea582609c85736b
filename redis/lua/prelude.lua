-- The shared prelude of every store script: the functions below are
-- prepended to each script's own file when the programs are built, so a
-- script is loaded by hand as
--   redis-cli SCRIPT LOAD "$(cat redis/lua/prelude.lua redis/lua/reserve.lua)"
--
-- Write scripts take KEYS = games hash, pending, lobby, active sets, wlock
-- key, the product's last-applied-event hash, the product's cleanup queue;
-- their ARGV[1] is the caller's deadline (Unix time, ms): past it the caller
-- has stopped waiting for the answer, so the script answers {'LATE'} and
-- writes nothing (a client told 503 never holds a seat or a game because of
-- that request). They answer {status, document, extra...}.
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

-- raw == nil: no such game; g == false: a document that does not parse.
-- m: the members of the stored text, for save.
local function load(id)
  local raw = redis.call('HGET', KEYS[1], id)
  if not raw then return nil, nil end
  local ok, g = pcall(cjson.decode, raw)
  if not ok or type(g) ~= 'table' or type(g.players) ~= 'table' then return raw, false end
  local m = members(raw)
  if not m or not players_ok(g, m) then return raw, false end
  return raw, g, m
end

local function capacity(g)
  local s = g.settings
  return (type(s) == 'table' and tonumber(s.num_players)) or 2
end

local function save(id, g, m, product)
  local doc = encode_game(g, m)
  redis.call('HSET', KEYS[1], id, doc)
  redis.call('SET', KEYS[5], product)
  return doc
end

local function find_guest(g, user)
  for i, p in ipairs(g.players) do
    if p == user and p ~= g.creator_id then return i end
  end
  return nil
end
