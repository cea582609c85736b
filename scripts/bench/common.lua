-- Shared by the wrk scripts of scripts/bench.sh (loaded with dofile).
--
-- done() prints one machine-readable line that bench.sh parses:
--   MMBENCH requests=N seconds=S rps=R p50_ms=A p99_ms=B non2xx=C sockerr=E
-- wrk counts answers with a status >= 400 in errors.status (nothing here
-- answers 3xx), and connect/read/write failures and timeouts separately.
--
-- Environment read by the scripts (one process per scenario):
--   MM_BENCH_TOKEN       "Bearer <jwt>" for create/join
--   MM_BENCH_PRODUCT     product of create_game / open_games
--   MM_BENCH_JOIN_PRODUCT, MM_BENCH_JOIN_TAG   which pre-seeded games to join
--   MM_BENCH_QUICK_PRODUCT  product of quick_match
--   MM_BENCH_THREADS     wrk's -t (thread t of T joins games t, t+T, ...)

mm = {}

function mm.env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

-- The id of pre-seeded join game number i; seed.lua builds the same ids.
function mm.join_id(tag, i)
  return string.format("%08d%024d", tag, i)
end

-- The join code of pre-seeded private game number i (seed.lua 'private').
function mm.join_code(tag, i)
  local alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
  local n, out = tag * 10000000 + i, {}
  for _ = 1, 6 do
    local d = n % 32
    out[#out + 1] = string.sub(alphabet, d + 1, d + 1)
    n = math.floor(n / 32)
  end
  return table.concat(out)
end

-- Makes the script one that joins pre-seeded 2-player games through route
-- (join_game or join_by_code), each request a different game, which it fills:
-- thread t of T takes games t, t+T, t+2T, ... so no two requests ever pick the
-- same one. key_of(tag, i) is the game's part of the path (mm.join_id or
-- mm.join_code).
function mm.join_each(route, key_of)
  local product, tag, auth, i
  function init(args)
    product = mm.env("MM_BENCH_JOIN_PRODUCT", "exduel")
    tag = tonumber(mm.env("MM_BENCH_JOIN_TAG", "1"))
    auth = mm.env("MM_BENCH_TOKEN", "")
    i = tid
  end
  function request()
    local path = "/game_lobby/" .. product .. "/" .. route .. "/" .. key_of(tag, i)
    i = i + nthreads
    return wrk.format("POST", path, {["Authorization"] = auth,
      ["Content-Type"] = "application/json"}, "{}")
  end
end

local next_tid = 0

-- Numbers each thread so scripts can hand out disjoint game ids. wrk starts a
-- thread right after its setup(), so the thread count comes from bench.sh
-- (MM_BENCH_THREADS = wrk -t), not from counting setup() calls.
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end
nthreads = tonumber(mm.env("MM_BENCH_THREADS", "1"))

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "MMBENCH requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d sockerr=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
