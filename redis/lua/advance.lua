-- Moves a game to the next state. ARGV: deadline_ms, game_id, new_state,
-- now_str, score_ms, product_id, event_id ('' when not from an event). Only
-- the state right after the current one is accepted, never one behind. For an
-- event, a state further ahead is accepted too: the events in between were
-- handled elsewhere and are still in flight (a worker died holding them, or
-- another replica has them), and being older they will be STALE when they
-- come (SPEC 10: a game's events apply in stream order), so the game ends in
-- the state its last event says.
-- Reaching creator_joined lists the game (pending -> lobby, or the private
-- set); later states keep it in the active set (entered once: its score is
-- the time it entered). A start frees the join code.
if late() then return {'LATE'} end
local raw, g, m = load(ARGV[2])
if not raw then return {'NOT_FOUND'} end
if stale(ARGV[2], ARGV[7]) then return {'STALE', raw} end
if not g then return {'CORRUPT'} end
local rank = {created=1, creator_joined=2, all_players_joined=3, in_progress=4, ended=5}
local from, to = rank[g.state], rank[ARGV[3]]
if not from or not to or to <= from or (ARGV[7] == '' and to ~= from + 1) then
  return {'WRONG_STATE', raw}
end
g.state = ARGV[3]
g._last_updated = ARGV[4]
local doc = save(ARGV[2], g, m, ARGV[6])
applied(ARGV[2], ARGV[7])
redis.call('ZREM', KEYS[2], ARGV[2])
if ARGV[3] == 'creator_joined' then
  list(ARGV[2], g, ARGV[5])
else
  unlist(ARGV[2], g)
  redis.call('ZADD', KEYS[4], 'NX', ARGV[5], ARGV[2])
end
if to >= rank.in_progress then free_code(ARGV[2], g) end
return {'OK', doc, EFFECT}
