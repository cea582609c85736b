-- Gives back a seat the game server did not take. ARGV: deadline_ms, game_id,
-- user_id, now_str, score_ms, product_id. Only while the game is still as the
-- reservation left it: in state creator_joined (a reservation never changes
-- the state) with the user seated. Once the game moved on (the game server
-- reported all_players_joined, say), nothing is undone: CHANGED. A game that
-- had left the lobby when it filled returns to it.
if late() then return {'LATE'} end
local raw, g, m = load(ARGV[2])
if not raw then return {'NOT_FOUND'} end
if not g then return {'CORRUPT'} end
local i = find_guest(g, ARGV[3])
if not i then return {'NOT_PLAYER', raw} end
if g.state ~= 'creator_joined' then return {'CHANGED', raw} end
table.remove(g.players, i)
g._last_updated = ARGV[4]
local doc = save(ARGV[2], g, m, ARGV[6])
redis.call('ZREM', KEYS[4], ARGV[2])
list(ARGV[2], g, ARGV[5])
return {'OK', doc, EFFECT}
