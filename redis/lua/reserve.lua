-- Takes a seat. ARGV: deadline_ms, game_id, user_id, now_str, score_ms,
-- product_id, seats limit, calls per minute (0: no limit), join code ('' =
-- joined by id; else the code must still name this game).
-- The user's call is counted (SPEC 11), then the join checks of SPEC section
-- 2, in its order, then the user's seats; the seat is taken and, if that fills
-- the game, it leaves the lobby for the active set. On OK it also answers what
-- the caller needs without decoding the document: {'OK', document, effect,
-- game server URL, players seated, capacity}.
if late() then return {'LATE'} end
local wait = over_rate(ARGV[3], tonumber(ARGV[8]))
if wait then return {'RATE', wait} end
if ARGV[9] ~= '' and redis.call('HGET', KEYS[9], ARGV[9]) ~= ARGV[2] then
  return {'NOT_FOUND'}
end
local raw, g, m = load(ARGV[2])
if not raw then return {'NOT_FOUND'} end
if not g or type(g.game_server_url) ~= 'string' then return {'CORRUPT'} end
if g.state ~= 'creator_joined' then return {'WRONG_STATE', raw} end
if has_player(g, ARGV[3]) then return {'ALREADY_JOINED', raw} end
local cap = capacity(g)
if #g.players >= cap then return {'FULL', raw} end
if at_limit('seats', ARGV[3], tonumber(ARGV[7])) then return {'LIMIT_SEATS', raw} end
g.players[#g.players + 1] = ARGV[3]
g._last_updated = ARGV[4]
local doc = save(ARGV[2], g, m, ARGV[6])
if #g.players >= cap then
  unlist(ARGV[2], g)
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[2])
else
  list(ARGV[2], g, ARGV[5]) -- still listed: 'updated'
end
return {'OK', doc, EFFECT, g.game_server_url, #g.players, cap}
