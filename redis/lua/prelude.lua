-- The shared prelude of every store script: the functions below are
-- prepended to each script's own file when the programs are built, so a
-- script is loaded by hand as
--   redis-cli SCRIPT LOAD "$(cat redis/lua/prelude.lua redis/lua/reserve.lua)"
--
-- Write scripts take KEYS = games hash, pending, lobby, active sets, wlock key
-- and answer {status, document, extra}. Documents are re-encoded in the
-- canonical field order of SPEC section 3 (fields unknown to this version are
-- kept, after the known ones), with _last_updated and scores supplied by the
-- caller's clock.
--
-- cjson writes "/" as "\/"; every such pair is an escape of its own (cjson
-- never leaves a bare "/" or a lone backslash), so undoing it keeps the JSON
-- exact and makes the documents byte-identical to the C encoder's for plain
-- strings. The literal parts below hold no backslash, so one pass over the
-- whole document undoes the same pairs as a pass over each value would.
local enc = cjson.encode
local known = {game_id=1, product_id=1, game_server_url=1, creator_id=1,
  creator_name=1, players=1, settings=1, token=1, _last_updated=1, state=1}
local function encode_game(g)
  local p = {}
  for i, id in ipairs(g.players) do p[i] = enc(id) end
  local out = {'{"game_id": ', enc(g.game_id), ', "product_id": ', enc(g.product_id),
    ', "game_server_url": ', enc(g.game_server_url), ', "creator_id": ',
    enc(g.creator_id), ', "creator_name": ', enc(g.creator_name), ', "players": [',
    table.concat(p, ', '), '], "settings": ', enc(g.settings), ', "token": ',
    enc(g.token), ', "_last_updated": ', enc(g._last_updated), ', "state": ',
    enc(g.state)}
  for k, v in pairs(g) do
    if not known[k] then out[#out + 1] = ', ' .. enc(k) .. ': ' .. enc(v) end
  end
  out[#out + 1] = '}'
  return (string.gsub(table.concat(out), '\\/', '/'))
end
local function load(id)
  local raw = redis.call('HGET', KEYS[1], id)
  if not raw then return nil, nil end
  local ok, g = pcall(cjson.decode, raw)
  if not ok or type(g) ~= 'table' or type(g.players) ~= 'table' then return raw, false end
  return raw, g
end
local function capacity(g)
  local s = g.settings
  return (type(s) == 'table' and tonumber(s.num_players)) or 2
end
local function save(id, g, product)
  local doc = encode_game(g)
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
