-- Takes due game-server cleanup calls from a product's queue (a sorted set:
-- member = the job, score = when it is due, Unix ms on Redis's clock). Each
-- job taken is leased: its score moves lease_ms ahead, so a worker that dies
-- with it in hand leaves it to be taken again then. KEYS: the queue.
-- ARGV: deadline_ms, lease_ms, max. Answers the jobs taken.
if late() then return {'LATE'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local jobs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, job in ipairs(jobs) do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), job)
end
return {'OK', jobs}
