-- Deletes a game: its document, its set and index entries, its wlock, its join
-- code, its last applied event, its place in its users' counts. ARGV:
-- deadline_ms, game_id, expect, expected document, event_id ('' when not from
-- an event: STALE if older than the last applied), cleanup job ('' = none,
-- else queued with the delete). expect is 'any' (delete whatever is there),
-- 'doc' (only if the stored document is exactly the expected one: CHANGED
-- otherwise) or 'missing' (only set entries left behind by a document that is
-- gone: CHANGED if a document is there). A document already missing answers
-- NOT_FOUND, its set entries cleaned all the same. Answers {status, the
-- document deleted, effect}.
if late() then return {'LATE'} end
local raw = redis.call('HGET', KEYS[1], ARGV[2])
if ARGV[3] == 'doc' then
  if not raw then return {'NOT_FOUND'} end
  if raw ~= ARGV[4] then return {'CHANGED'} end
elseif ARGV[3] == 'missing' and raw then
  return {'CHANGED'}
end
if stale(ARGV[2], ARGV[5]) then return {'STALE'} end
local g = false
if raw then
  local _, decoded, m = load(ARGV[2])
  if decoded and m then g = decoded end
end
remove(ARGV[2], g)
if not raw then return {'NOT_FOUND', false, EFFECT} end
queue_cleanup(ARGV[6])
return {'OK', raw, EFFECT}
