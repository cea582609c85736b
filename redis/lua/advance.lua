-- Moves a game to the next state. ARGV: game_id, new_state, now_str, score_ms,
-- product_id. Only the state right after the current one is accepted.
-- Reaching creator_joined publishes the game (pending -> lobby); later states
-- keep it in the active set (entered once: its score is the time it entered).
local raw, g = load(ARGV[1])
if not raw then return {'NOT_FOUND'} end
if not g then return {'CORRUPT'} end
local order = {created=1, creator_joined=2, all_players_joined=3, in_progress=4,
  ended=5}
local from, to = order[g.state], order[ARGV[2]]
if not from or not to or to ~= from + 1 then return {'WRONG_STATE', raw} end
g.state = ARGV[2]
g._last_updated = ARGV[3]
local doc = save(ARGV[1], g, ARGV[5])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == 'creator_joined' then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
else
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[4], 'NX', ARGV[4], ARGV[1])
end
return {'OK', doc}
