-- POST /create_game straight to the test game server: its own ceiling.
dofile(os.getenv("MM_BENCH_LUA") .. "/common.lua")

wrk.method = "POST"
wrk.path = "/create_game"
wrk.body = '{"gameId":"0123456789abcdef0123456789abcdef","userId":"bench-u1",' ..
  '"username":"bench"}'
wrk.headers["Content-Type"] = "application/json"
