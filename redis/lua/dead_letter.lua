-- Moves a stream entry that could not be applied to the dead-letter stream
-- and acknowledges it, in one step (SPEC 10): the dead letter holds the
-- entry's fields plus reason and original_id. An entry already gone from the
-- stream is acknowledged all the same. KEYS: the event stream, the dead-letter
-- stream. ARGV: deadline_ms, group, entry id, reason, dead-letter max length.
if late() then return {'LATE'} end
local found = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])
if #found == 1 then
  local fields = found[1][2]
  fields[#fields + 1] = 'reason'
  fields[#fields + 1] = ARGV[4]
  fields[#fields + 1] = 'original_id'
  fields[#fields + 1] = ARGV[3]
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', unpack(fields))
end
redis.call('XACK', KEYS[1], ARGV[2], ARGV[3])
return {'OK'}
