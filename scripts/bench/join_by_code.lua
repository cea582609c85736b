-- POST /game_lobby/{product}/join_by_code/{code}: each request joins a different
-- pre-seeded private game of 2 players (seed.lua 'private'), which it fills. Thread t
-- of T takes games t, t+T, t+2T, ... as join_game.lua does.
dofile(os.getenv("MM_BENCH_LUA") .. "/common.lua")

local product, tag, auth, i

function init(args)
  product = mm.env("MM_BENCH_JOIN_PRODUCT", "exduel")
  tag = tonumber(mm.env("MM_BENCH_JOIN_TAG", "1"))
  auth = mm.env("MM_BENCH_TOKEN", "")
  i = tid
end

function request()
  local path = "/game_lobby/" .. product .. "/join_by_code/" .. mm.join_code(tag, i)
  i = i + nthreads
  return wrk.format("POST", path, {["Authorization"] = auth,
    ["Content-Type"] = "application/json"}, "{}")
end
