-- Claims an Idempotency-Key for a request about to run (SPEC 12), or answers
-- what the key holds: the running marker or the first answer. Refused after
-- its deadline like every write (SPEC 10): a claim that reached Redis after
-- the request was answered 503 would answer its retries 409. KEYS: the
-- idempotency key. ARGV: deadline_ms, the running marker, ms the marker lasts.
-- Answers {'OK'} (claimed), {'EXISTS', value}, {'LATE'}.
if late() then return {'LATE'} end
local held = redis.call('GET', KEYS[1])
if held then return {'EXISTS', held} end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {'OK'}
