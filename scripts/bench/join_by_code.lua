-- POST /game_lobby/{product}/join_by_code/{code}: each request joins a different
-- pre-seeded private game of 2 players (seed.lua 'private'), which it fills.
dofile(os.getenv("MM_BENCH_LUA") .. "/common.lua")
mm.join_each("join_by_code", mm.join_code)
