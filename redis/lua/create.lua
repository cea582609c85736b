-- Stores a new game (state created) in the hash and the pending set, with its
-- join code when it is private, and counts it for its creator (SPEC 11).
-- ARGV: deadline_ms, game_id, document, score_ms, product_id, creator,
-- open games limit, seats limit (0: none), join code ('' = none).
-- Answers {'OK', document, ''}, EXISTS, CODE_TAKEN (another live game of the
-- product has that code: the caller draws another), LIMIT_GAMES, LIMIT_SEATS.
if late() then return {'LATE'} end
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return {'EXISTS'} end
if at_limit('games', ARGV[6], tonumber(ARGV[7])) then return {'LIMIT_GAMES'} end
if at_limit('seats', ARGV[6], tonumber(ARGV[8])) then return {'LIMIT_SEATS'} end
if ARGV[9] ~= '' and redis.call('HEXISTS', KEYS[9], ARGV[9]) == 1 then return {'CODE_TAKEN'} end
-- the set first: a write refused (out of memory, a key of the wrong type) fails
-- the step before anything is written
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('SET', KEYS[5], ARGV[5])
if ARGV[9] ~= '' then redis.call('HSET', KEYS[9], ARGV[9], ARGV[2]) end
track(ARGV[2], nil, {players = {ARGV[6]}, state = 'created', creator_id = ARGV[6]})
return {'OK', ARGV[3], ''}
