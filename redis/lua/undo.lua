-- Gives a seat back. ARGV: game_id, user_id, now_str, score_ms, product_id.
-- A creator_joined game that had left the lobby returns to it.
local raw, g = load(ARGV[1])
if not raw then return {'NOT_FOUND'} end
if not g then return {'CORRUPT'} end
local i = find_guest(g, ARGV[2])
if not i then return {'NOT_PLAYER', raw} end
table.remove(g.players, i)
g._last_updated = ARGV[3]
local doc = save(ARGV[1], g, ARGV[5])
if g.state == 'creator_joined' and not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
end
return {'OK', doc}
