-- A mix close to a lobby's traffic: of every 20 requests, 16 list a page of
-- open games, 3 create a game and 1 joins a pre-seeded game (80/15/5 %).
dofile(os.getenv("MM_BENCH_LUA") .. "/common.lua")

local product, join_product, tag, auth, n, joined

function init(args)
  product = mm.env("MM_BENCH_PRODUCT", "exrps")
  join_product = mm.env("MM_BENCH_JOIN_PRODUCT", "exduel")
  tag = tonumber(mm.env("MM_BENCH_JOIN_TAG", "2"))
  auth = mm.env("MM_BENCH_TOKEN", "")
  n = 0
  joined = 0
end

local post_headers

function request()
  post_headers = post_headers or {["Authorization"] = auth,
    ["Content-Type"] = "application/json"}
  local k = n % 20
  n = n + 1
  if k == 0 then
    local path = "/game_lobby/" .. join_product .. "/join_game/" ..
      mm.join_id(tag, tid + joined * nthreads)
    joined = joined + 1
    return wrk.format("POST", path, post_headers, "{}")
  elseif k <= 3 then
    return wrk.format("POST", "/game_lobby/" .. product .. "/create_game", post_headers, "{}")
  end
  return wrk.format("GET", "/game_lobby/" .. product .. "/open_games?count=10&page=0")
end
