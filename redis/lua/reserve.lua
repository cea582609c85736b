-- Takes a seat. ARGV: deadline_ms, game_id, user_id, now_str, score_ms,
-- product_id. The join checks of SPEC section 2, in its order; the seat is
-- taken and, if that fills the game, it moves from the lobby to the active
-- set. On OK it also answers what the caller needs without decoding the
-- document: the game server's URL, the players now seated and the capacity.
if late() then return {'LATE'} end
local raw, g, m = load(ARGV[2])
if not raw then return {'NOT_FOUND'} end
if not g or type(g.game_server_url) ~= 'string' then return {'CORRUPT'} end
if g.state ~= 'creator_joined' then return {'WRONG_STATE', raw} end
for _, p in ipairs(g.players) do
  if p == ARGV[3] then return {'ALREADY_JOINED', raw} end
end
local cap = capacity(g)
if #g.players >= cap then return {'FULL', raw} end
g.players[#g.players + 1] = ARGV[3]
g._last_updated = ARGV[4]
local doc = save(ARGV[2], g, m, ARGV[6])
if #g.players >= cap then
  redis.call('ZREM', KEYS[3], ARGV[2])
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[2])
end
return {'OK', doc, g.game_server_url, #g.players, cap}
