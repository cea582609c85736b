-- Deletes a game. ARGV: game_id, expected document ('' = any). Set entries
-- and the wlock go even when the document is already missing (a dangling
-- entry is cleaned).
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  if not raw then return {'NOT_FOUND'} end
  if raw ~= ARGV[2] then return {'CHANGED'} end
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[5])
if not raw then return {'NOT_FOUND'} end
return {'OK'}
