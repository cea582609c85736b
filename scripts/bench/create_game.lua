-- POST /game_lobby/{product}/create_game with a JWT and a small JSON body.
dofile(os.getenv("MM_BENCH_LUA") .. "/common.lua")

local product = mm.env("MM_BENCH_PRODUCT", "exrps")
wrk.method = "POST"
wrk.path = "/game_lobby/" .. product .. "/create_game"
wrk.body = "{}"
wrk.headers["Authorization"] = mm.env("MM_BENCH_TOKEN", "")
wrk.headers["Content-Type"] = "application/json"
