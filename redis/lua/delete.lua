-- Deletes a game: its document, its set entries, its wlock and its last
-- applied event. ARGV: deadline_ms, game_id, expect, expected document,
-- event_id ('' when not from an event: STALE if older than the last applied),
-- cleanup job ('' = none, else queued with the delete). expect is 'any' (delete
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
if stale(ARGV[2], ARGV[5]) then return {'STALE'} end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('DEL', KEYS[5])
redis.call('HDEL', KEYS[6], ARGV[2])
if not raw then return {'NOT_FOUND'} end
queue_cleanup(ARGV[6])
return {'OK'}
