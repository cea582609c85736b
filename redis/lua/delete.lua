-- Deletes a game: its document, its set entries and its wlock. ARGV:
-- deadline_ms, game_id, expect, expected document. expect is 'any' (delete
-- whatever is there), 'doc' (only if the stored document is exactly the
-- expected one: CHANGED otherwise) or 'missing' (only set entries left behind
-- by a document that is gone: CHANGED if a document is there). A document
-- already missing answers NOT_FOUND, its set entries cleaned all the same.
if late() then return {'LATE'} end
local raw = redis.call('HGET', KEYS[1], ARGV[2])
if ARGV[3] == 'doc' then
  if not raw then return {'NOT_FOUND'} end
  if raw ~= ARGV[4] then return {'CHANGED'} end
elseif ARGV[3] == 'missing' and raw then
  return {'CHANGED'}
end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('DEL', KEYS[5])
if not raw then return {'NOT_FOUND'} end
return {'OK'}
