-- POST /game_lobby/{product}/quick_match with a JWT and an empty JSON body: joins the
-- oldest open game (bench.sh seeds a lobby of 2-player games: each join fills one), or
-- makes a game when the product's lobby is empty.
dofile(os.getenv("MM_BENCH_LUA") .. "/common.lua")

local product = mm.env("MM_BENCH_QUICK_PRODUCT", "exmatch")
wrk.method = "POST"
wrk.path = "/game_lobby/" .. product .. "/quick_match"
wrk.body = "{}"
wrk.headers["Authorization"] = mm.env("MM_BENCH_TOKEN", "")
wrk.headers["Content-Type"] = "application/json"
