-- A player leaves (SPEC 12). ARGV: deadline_ms, game_id, user_id, now_str,
-- score_ms, product_id. The creator of a game not yet started cancels it: the
-- game is deleted ({'DELETED', document as it was, effect, game server URL}).
-- Another player of a game not yet started leaves it: out of the players, the
-- game back to creator_joined and listed again ({'LEFT', document, effect,
-- game server URL}). Else NOT_FOUND, NOT_PLAYER, or STARTED (in_progress,
-- ended).
if late() then return {'LATE'} end
local raw, g, m = load(ARGV[2])
if not raw then return {'NOT_FOUND'} end
if not g or type(g.game_server_url) ~= 'string' then return {'CORRUPT'} end
if not has_player(g, ARGV[3]) then return {'NOT_PLAYER', raw} end
if g.state == 'in_progress' or g.state == 'ended' then return {'STARTED', raw} end
if ARGV[3] == g.creator_id then
  remove(ARGV[2], g)
  return {'DELETED', raw, EFFECT, g.game_server_url}
end
table.remove(g.players, find_guest(g, ARGV[3]))
g.state = 'creator_joined'
g._last_updated = ARGV[4]
local doc = save(ARGV[2], g, m, ARGV[6])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
list(ARGV[2], g, ARGV[5])
return {'LEFT', doc, EFFECT, g.game_server_url}
