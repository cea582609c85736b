#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and starts the
# whole stack locally -- Redis, the demo game server, the FastCGI pool, the
# worker and nginx on 127.0.0.1:5050 -- then prints how to try it.
#   MATCHMAKER_CONFIG=/path/config.json scripts/run.sh   # your own config
#   scripts/stop.sh                                       # stops it all
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

export MM_RUN_DIR=${MM_RUN_DIR:-${TMPDIR:-/tmp}/matchmaker-$(id -un)}
export MM_LISTEN=${MM_LISTEN:-127.0.0.1:5050}
# Redis on a unix socket of its own: no clash with a Redis already on 6379
export MM_REDIS_PORT=${MM_REDIS_PORT:-0}
scripts/stack.sh stop
scripts/stack.sh start

conf=${MATCHMAKER_CONFIG:-$MM_RUN_DIR/matchmaker.json}
base="http://$MM_LISTEN"
for _ in $(seq 30); do curl -fs "$base/health" >/dev/null && break; sleep 0.1; done
token=$(fcgi_app/matchmaker-token -c "$conf" --user-id u1 --username alice)
cat <<TXT
The matchmaker is running:
  lobby API     $base/game_lobby/{product_id}/...   (products: exrps, exrps3, exrps4 -- with lobby filters mode and region)
  lobby page    $base/lobby/?product=exrps   (live; paste the token below to play)
  health        $base/health
  metrics       $base/metrics  (the pool)   http://127.0.0.1:5051/metrics  (the worker)
  game server   http://127.0.0.1:$(cat "$MM_RUN_DIR/gameserver.port")  (demo)
  redis         redis-cli -s $MM_RUN_DIR/redis.sock
  config        $conf  (holds the stack's random secret_key; mode 0600)
  logs, pids    $MM_RUN_DIR

Try it:
  curl -i $base/health
  TOKEN=\$(fcgi_app/matchmaker-token -c $conf --user-id u1 --username alice)
  curl -i -X POST -H "Authorization: Bearer \$TOKEN" $base/game_lobby/exrps/create_game
  curl -i "$base/game_lobby/exrps/open_games?count=10&page=0"
  curl -N -H 'Accept: text/event-stream' $base/game_lobby/exrps/lobby_events   # live changes

A token for user u1 (alice), valid for an hour:
  $token

Play a whole round (create, connect, join, leave), watched live, with: scripts/demo.sh
Stop everything with: scripts/stop.sh
TXT
