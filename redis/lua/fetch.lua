-- Reads members of a set with their documents. KEYS: a set, the games hash.
-- ARGV: 'rank', start, stop | 'score', max, offset, limit.
-- Answers id, document (nil when missing), id, document, ...
local ids
if ARGV[1] == 'rank' then
  ids = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[3])
else
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', ARGV[3], ARGV[4])
end
if #ids == 0 then return {} end
local docs = redis.call('HMGET', KEYS[2], unpack(ids))
local out = {}
for i, id in ipairs(ids) do
  out[2 * i - 1] = id
  out[2 * i] = docs[i]
end
return out
