-- Quick match (SPEC 12): picks the oldest listed game that matches the
-- filters, has a free seat and does not hold the user, and takes the seat, in
-- one step, so players racing for seats never over-fill a game nor sit in two.
-- ARGV: deadline_ms, user_id, now_str, score_ms, product_id, seats limit,
-- calls per minute (0: no limit), filter index ('' = the whole lobby, else
-- '|key=value|...' as index_keys makes it), games to pass over (ids joined by
-- ','; the game server refused them). Answers {'OK', document, effect, game
-- server URL, players seated, capacity, game_id}, {'NONE'} (the caller
-- creates a game), RATE or LIMIT_SEATS. At most 200 games are looked at.
if late() then return {'LATE'} end
local user = ARGV[2]
local wait = over_rate(user, tonumber(ARGV[7]))
if wait then return {'RATE', wait} end
if at_limit('seats', user, tonumber(ARGV[6])) then return {'LIMIT_SEATS'} end
local skip = {}
for id in string.gmatch(ARGV[9], '[^,]+') do skip[id] = true end
local key = KEYS[3] .. ARGV[8]
for page = 0, 7 do
  local ids = redis.call('ZRANGE', key, page * 25, page * 25 + 24)
  for _, id in ipairs(ids) do
    if not skip[id] then
      local _, g, m = load(id)
      if g and g.state == 'creator_joined' and not is_private(g) and
         type(g.game_server_url) == 'string' and not has_player(g, user) and
         #g.players < capacity(g) then
        local cap = capacity(g)
        g.players[#g.players + 1] = user
        g._last_updated = ARGV[3]
        local doc = save(id, g, m, ARGV[5])
        if #g.players >= cap then
          unlist(id, g)
          redis.call('ZADD', KEYS[4], ARGV[4], id)
        else
          list(id, g, ARGV[4])
        end
        return {'OK', doc, EFFECT, g.game_server_url, #g.players, cap, id}
      end
    end
  end
  if #ids < 25 then break end
end
return {'NONE'}
