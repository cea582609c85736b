-- Stores a new game (state created) in the hash and the pending set.
-- ARGV: game_id, document, score_ms, product_id
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {'EXISTS'} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SET', KEYS[5], ARGV[4])
return {'OK', ARGV[2]}
