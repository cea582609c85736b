-- Seeds open games straight into Redis (run inside Redis by bench.sh with
-- redis-cli --eval): COUNT games of PRODUCT in state creator_joined, each
-- with its creator as the only player, in the lobby set, in the layout of
-- SPEC section 5 and the document form of section 3.
--   KEYS: __games:{product}, __lobby_games:{product}
--   ARGV: product, game_server_url, num_players, tag, first, count,
--         score_ms, last_updated, kind
-- kind '' : listed games. 'private': private games (SPEC 12), in
-- __private_games:{product}, each with the join code common.lua's
-- mm.join_code(tag, i) makes. 'mode=VALUE': listed games whose settings carry
-- the lobby filter mode=VALUE, in its filter index too.
-- Game ids are "%08d%024d" of (tag, i) for i in [first, first + count): 32
-- digits, so valid hex ids, and join_game.lua can rebuild them.
local product, url = ARGV[1], ARGV[2]
local num_players, tag = tonumber(ARGV[3]), tonumber(ARGV[4])
local first, count = tonumber(ARGV[5]), tonumber(ARGV[6])
local score, when = tonumber(ARGV[7]), ARGV[8]
local kind = ARGV[9] or ''
local mode = string.match(kind, '^mode=(.+)$')
local alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'
local function code(n) -- as common.lua's mm.join_code
  local out = {}
  for _ = 1, 6 do
    local d = n % 32
    out[#out + 1] = string.sub(alphabet, d + 1, d + 1)
    n = math.floor(n / 32)
  end
  return table.concat(out)
end
for i = first, first + count - 1 do
  local id = string.format("%08d%024d", tag, i)
  local creator = "seed-" .. i
  local settings = '{"num_players": ' .. num_players ..
    (mode and (', "lobby": {"mode": "' .. mode .. '"}') or '') .. '}'
  local extra = ''
  if kind == 'private' then
    extra = ', "private": true, "join_code": "' .. code(tag * 10000000 + i) .. '"'
  end
  local doc = '{"game_id": "' .. id .. '", "product_id": "' .. product ..
    '", "game_server_url": "' .. url .. '", "creator_id": "' .. creator ..
    '", "creator_name": "player ' .. i .. '", "players": ["' .. creator ..
    '"], "settings": ' .. settings .. ', "token": "' ..
    string.format("%032x", i) .. '", "_last_updated": "' .. when ..
    '", "state": "creator_joined"' .. extra .. '}'
  redis.call('HSET', KEYS[1], id, doc)
  if kind == 'private' then
    redis.call('ZADD', '__private_games:' .. product, score + i, id)
    redis.call('HSET', '__join_codes:' .. product, code(tag * 10000000 + i), id)
  else
    redis.call('ZADD', KEYS[2], score + i, id)
    if mode then redis.call('ZADD', KEYS[2] .. '|mode=' .. mode, score + i, id) end
  end
  redis.call('SET', 'wlock:' .. id, product)
end
return count
