-- GET of the URL given to wrk (ceilings, open_games, /health).
dofile(os.getenv("MM_BENCH_LUA") .. "/common.lua")
