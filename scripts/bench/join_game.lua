-- POST /game_lobby/{product}/join_game/{id}: each request joins a different
-- pre-seeded open game of 2 players (seed.lua), which it fills.
dofile(os.getenv("MM_BENCH_LUA") .. "/common.lua")
mm.join_each("join_game", mm.join_id)
