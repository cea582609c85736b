-- Admits a user's create (or a quick match that found no game) before the game
-- server is asked to make a game: counts the call in the user's minute and
-- checks the user's open games and seats against the limits (SPEC 11). The
-- create script checks the limits again in its own step; this one spares the
-- game server the calls a flood would make. KEYS: the games hash.
-- ARGV: deadline_ms, user, calls per minute, open games, seats (0: no limit),
-- count_call ('1': count this call; '0': already counted).
-- Answers {'OK'}, {'RATE', ms until the minute ends}, {'LIMIT_GAMES'},
-- {'LIMIT_SEATS'}.
if late() then return {'LATE'} end
if ARGV[6] == '1' then
  local wait = over_rate(ARGV[2], tonumber(ARGV[3]))
  if wait then return {'RATE', wait} end
end
if at_limit('games', ARGV[2], tonumber(ARGV[4])) then return {'LIMIT_GAMES'} end
if at_limit('seats', ARGV[2], tonumber(ARGV[5])) then return {'LIMIT_SEATS'} end
return {'OK'}
