-- POST /game_lobby/{product}/join_game/{id}: each request joins a different
-- pre-seeded open game of 2 players (seed.lua), which it fills. Thread t of T
-- takes games t, t+T, t+2T, ... so no two requests ever pick the same game.
dofile(os.getenv("MM_BENCH_LUA") .. "/common.lua")

local product, tag, auth, i

function init(args)
  product = mm.env("MM_BENCH_JOIN_PRODUCT", "exduel")
  tag = tonumber(mm.env("MM_BENCH_JOIN_TAG", "1"))
  auth = mm.env("MM_BENCH_TOKEN", "")
  i = tid
end

function request()
  local path = "/game_lobby/" .. product .. "/join_game/" .. mm.join_id(tag, i)
  i = i + nthreads
  return wrk.format("POST", path, {["Authorization"] = auth,
    ["Content-Type"] = "application/json"}, "{}")
end
