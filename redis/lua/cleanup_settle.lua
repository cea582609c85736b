-- Settles a cleanup job taken by cleanup_claim: removes it (done, or given
-- up) and, for a retry, queues its next attempt (another member: the attempt
-- count is part of the job) due delay_ms from now. KEYS: the queue.
-- ARGV: deadline_ms, job, next attempt ('' = none), delay_ms.
if late() then return {'LATE'} end
redis.call('ZREM', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
end
return {'OK'}
