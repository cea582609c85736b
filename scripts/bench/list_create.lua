-- The multi-host drill's load (scripts/multihost-drill.sh): of every 10 requests, 9
-- list a page of open games (GET: a front may send it again to another host) and 1
-- creates a game (POST: sent once). Prints the MMBENCH line of common.lua.
dofile(os.getenv("MM_BENCH_LUA") .. "/common.lua")

local product, auth, n

function init(args)
  product = mm.env("MM_BENCH_PRODUCT", "exrps")
  auth = mm.env("MM_BENCH_TOKEN", "")
  n = 0
end

local post_headers

function request()
  post_headers = post_headers or {["Authorization"] = auth,
    ["Content-Type"] = "application/json"}
  n = n + 1
  if n % 10 == 0 then
    return wrk.format("POST", "/game_lobby/" .. product .. "/create_game", post_headers, "{}")
  end
  return wrk.format("GET", "/game_lobby/" .. product .. "/open_games?count=10&page=0")
end
