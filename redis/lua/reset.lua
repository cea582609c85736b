-- A guest left or never connected: drop them, back to creator_joined, listed
-- in the lobby again. ARGV: deadline_ms, game_id, user_id ('' = the last
-- player), expected document ('' = any), now_str, score_ms, product_id,
-- event_id ('' when not from an event), cleanup job ('' = none).
-- Answers {'OK', document, effect, the player removed}.
if late() then return {'LATE'} end
local raw, g, m = load(ARGV[2])
if not raw then return {'NOT_FOUND'} end
if ARGV[4] ~= '' and raw ~= ARGV[4] then return {'CHANGED', raw} end
if stale(ARGV[2], ARGV[8]) then return {'STALE', raw} end
if not g then return {'CORRUPT'} end
if g.state ~= 'creator_joined' and g.state ~= 'all_players_joined' and
   g.state ~= 'in_progress' then return {'WRONG_STATE', raw} end
local i
if ARGV[3] == '' then
  i = find_guest(g, g.players[#g.players])
else
  i = find_guest(g, ARGV[3])
end
if not i then return {'NOT_PLAYER', raw} end
local removed = table.remove(g.players, i)
g.state = 'creator_joined'
g._last_updated = ARGV[5]
local doc = save(ARGV[2], g, m, ARGV[7])
applied(ARGV[2], ARGV[8])
queue_cleanup(ARGV[9])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
list(ARGV[2], g, ARGV[6])
return {'OK', doc, EFFECT, removed}
