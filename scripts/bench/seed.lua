-- Seeds open games straight into Redis (run inside Redis by bench.sh with
-- redis-cli --eval): COUNT games of PRODUCT in state creator_joined, each
-- with its creator as the only player, in the lobby set, in the layout of
-- SPEC section 5 and the document form of section 3.
--   KEYS: __games:{product}, __lobby_games:{product}
--   ARGV: product, game_server_url, num_players, tag, first, count,
--         score_ms, last_updated
-- Game ids are "%08d%024d" of (tag, i) for i in [first, first + count): 32
-- digits, so valid hex ids, and join_game.lua can rebuild them.
local product, url = ARGV[1], ARGV[2]
local num_players, tag = tonumber(ARGV[3]), tonumber(ARGV[4])
local first, count = tonumber(ARGV[5]), tonumber(ARGV[6])
local score, when = tonumber(ARGV[7]), ARGV[8]
for i = first, first + count - 1 do
  local id = string.format("%08d%024d", tag, i)
  local creator = "seed-" .. i
  local doc = '{"game_id": "' .. id .. '", "product_id": "' .. product ..
    '", "game_server_url": "' .. url .. '", "creator_id": "' .. creator ..
    '", "creator_name": "player ' .. i .. '", "players": ["' .. creator ..
    '"], "settings": {"num_players": ' .. num_players .. '}, "token": "' ..
    string.format("%032x", i) .. '", "_last_updated": "' .. when ..
    '", "state": "creator_joined"}'
  redis.call('HSET', KEYS[1], id, doc)
  redis.call('ZADD', KEYS[2], score + i, id)
  redis.call('SET', 'wlock:' .. id, product)
end
return count
