-- Stores a new game (state created) in the hash and the pending set.
-- ARGV: deadline_ms, game_id, document, score_ms, product_id
if late() then return {'LATE'} end
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return {'EXISTS'} end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
redis.call('SET', KEYS[5], ARGV[5])
return {'OK', ARGV[3]}
