#!/usr/bin/env bash
# Plays one whole round against the running local stack (scripts/run.sh),
# through nginx with curl, printing what each player sees: A creates, A
# connects, B lists and joins, B connects, B leaves and the game is back in
# the lobby, A leaves and it is gone. Then the lobby's features: C's quick
# match joins an open game, D's private game is joined by its code, C leaves
# and the game is listed again, a create B retries with an Idempotency-Key
# makes one game. The demo game server reports the connections to the
# matchmaker the way a real one does: by adding events to the Redis stream
# (its /_control/emit call). A watcher follows the live lobby all along
# (GET .../lobby_events, SSE): after each step, what was pushed to it.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${MM_RUN_DIR:-${TMPDIR:-/tmp}/matchmaker-$(id -un)}
build=${MM_BUILD_DIR:-.}
listen=${MM_LISTEN:-127.0.0.1:5050}
curl_opts=(-s)
if [ "${listen#unix:}" != "$listen" ]; then # nginx on a unix socket (the tests' stack)
    curl_opts+=(--unix-socket "${listen#unix:}")
    base="http://localhost"
else
    base="http://$listen"
fi
curl() { command curl "${curl_opts[@]}" "$@"; }
conf=${MATCHMAKER_CONFIG:-$run/matchmaker.json}
[ -s "$run/gameserver.port" ] || { echo "the stack is not running: scripts/run.sh" >&2; exit 1; }
gs="http://127.0.0.1:$(cat "$run/gameserver.port")"
product=exrps

token_a=$("$build"/fcgi_app/matchmaker-token -c "$conf" --user-id player-a --username alice)
token_b=$("$build"/fcgi_app/matchmaker-token -c "$conf" --user-id player-b --username bob)
token_c=$("$build"/fcgi_app/matchmaker-token -c "$conf" --user-id player-c --username carol)
token_d=$("$build"/fcgi_app/matchmaker-token -c "$conf" --user-id player-d --username dave)
token_e=$("$build"/fcgi_app/matchmaker-token -c "$conf" --user-id player-e --username erin)

step() { printf '\n== %s\n' "$*"; }
show() { printf '%s\n' "$1"; }
lobby() { curl -s "$base/game_lobby/$product/open_games"; }
report() { # game server -> event stream
    command curl -s -o /dev/null -X POST "$gs/_control/emit" -d "$1"
}
in_lobby() { lobby | grep -q "\"$1\""; }
# The worker applies an event within milliseconds; wait for it, up to 5 s.
until_listed() { for _ in $(seq 50); do in_lobby "$1" && return 0; sleep 0.1; done; return 1; }
until_gone() { for _ in $(seq 50); do in_lobby "$1" || return 0; sleep 0.1; done; return 1; }

# The watcher subscribes first (nginx answers ": hi" once it holds the stream).
events=$(mktemp "${TMPDIR:-/tmp}/mm-demo-events.XXXXXX")
command curl "${curl_opts[@]}" -N -H "Accept: text/event-stream" \
    "$base/game_lobby/$product/lobby_events" >"$events" &
watcher=$!
trap 'kill $watcher 2>/dev/null || true; rm -f "$events"' EXIT
for _ in $(seq 50); do grep -q '^: hi' "$events" && break; sleep 0.1; done
grep -q '^: hi' "$events" || { echo "the subscription did not open" >&2; exit 1; }
seen=0
# pushed N: waits (up to 3 s) until the watcher has N more messages, and shows them.
pushed() {
    local n=0
    for _ in $(seq 30); do
        n=$(grep -c '^data: ' "$events" || true)
        [ $((n - seen)) -ge "$1" ] && break
        sleep 0.1
    done
    [ "$1" -eq 0 ] && { sleep 0.3; n=$(grep -c '^data: ' "$events" || true); }
    if [ "$n" -eq "$seen" ]; then
        show "   (watcher: nothing pushed)"
    else
        grep '^data: ' "$events" | sed -n "$((seen + 1)),${n}p" | sed 's/^data: /   watcher got: /'
    fi
    [ $((n - seen)) -eq "$1" ] || { echo "the watcher got $((n - seen)) messages, not $1" >&2; exit 1; }
    seen=$n
}

step "A (alice) creates a game"
created=$(curl -s -X POST -H "Authorization: Bearer $token_a" "$base/game_lobby/$product/create_game")
show "$created"
game=$(printf '%s' "$created" | sed -n 's/.*"game_id": "\([0-9a-f]*\)".*/\1/p')
[ -n "$game" ] || { echo "create failed" >&2; exit 1; }

pushed 0

step "B (bob) lists open games: A's game is not listed until A connects"
show "$(lobby)"

step "A connects to the game server, which reports creator_joined"
report "{\"product_id\":\"$product\",\"game_id\":\"$game\",\"type\":\"state_change\",\"new_state\":\"creator_joined\"}"
until_listed "$game" || { echo "the game did not reach the lobby" >&2; exit 1; }
show "$(lobby)"
pushed 1

step "B joins A's game"
show "$(curl -s -X POST -H "Authorization: Bearer $token_b" "$base/game_lobby/$product/join_game/$game")"

step "The lobby no longer lists the game: it is full"
show "$(lobby)"
pushed 1

step "B connects; the game server reports all_players_joined, then in_progress"
report "{\"product_id\":\"$product\",\"game_id\":\"$game\",\"type\":\"state_change\",\"new_state\":\"all_players_joined\"}"
report "{\"product_id\":\"$product\",\"game_id\":\"$game\",\"type\":\"state_change\",\"new_state\":\"in_progress\"}"
sleep 0.2
show "B tries to join again: $(curl -s -X POST -H "Authorization: Bearer $token_b" "$base/game_lobby/$product/join_game/$game")"
pushed 0

step "B leaves; the game server reports player_disconnect and the game is back in the lobby"
report "{\"product_id\":\"$product\",\"game_id\":\"$game\",\"type\":\"player_disconnect\",\"player_id\":\"player-b\"}"
until_listed "$game" || { echo "the game was not relisted" >&2; exit 1; }
show "$(lobby)"
pushed 1

step "A leaves; the game server removes the game and reports game_removed"
report "{\"product_id\":\"$product\",\"game_id\":\"$game\",\"type\":\"game_removed\"}"
until_gone "$game" || { echo "the game is still listed" >&2; exit 1; }
show "$(lobby)"
pushed 1
show "B tries to join: $(curl -s -X POST -H "Authorization: Bearer $token_b" "$base/game_lobby/$product/join_game/$game")"
printf '\nround complete\n'

field() { printf '%s' "$1" | sed -n "s/.*\"$2\": \"\([^\"]*\)\".*/\1/p"; }
post() { # token path [body] [extra header]
    curl -s -X POST -H "Authorization: Bearer $1" -H "Content-Type: application/json" \
        ${4:+-H "$4"} -d "${3:-{\}}" "$base/game_lobby/$product/$2"
}

step "A creates another game and connects"
game=$(field "$(post "$token_a" create_game)" game_id)
report "{\"product_id\":\"$product\",\"game_id\":\"$game\",\"type\":\"state_change\",\"new_state\":\"creator_joined\"}"
until_listed "$game" || { echo "the game did not reach the lobby" >&2; exit 1; }
show "$(lobby)"

step "C (carol) presses \"play now\": quick match joins the oldest open game"
matched=$(post "$token_c" quick_match)
show "$matched"
[ "$(field "$matched" game_id)" = "$game" ] || { echo "quick match did not join A's game" >&2; exit 1; }

step "D (dave) makes a private game to play with a friend: it comes with a join code"
private=$(post "$token_d" create_game '{"private": true}')
show "$private"
secret_game=$(field "$private" game_id)
code=$(field "$private" join_code)
report "{\"product_id\":\"$product\",\"game_id\":\"$secret_game\",\"type\":\"state_change\",\"new_state\":\"creator_joined\"}"
sleep 0.3
show "the lobby does not list it: $(lobby)"

step "E (erin) joins D's game with the code D told her (in lower case)"
joined=$(post "$token_e" "join_by_code/$(printf '%s' "$code" | tr 'A-Z' 'a-z')")
show "$joined"
[ "$(field "$joined" game_id)" = "$secret_game" ] || { echo "the code did not join D's game" >&2; exit 1; }

step "C changes their mind and leaves A's game: it is listed again"
show "$(post "$token_c" "leave_game/$game")"
until_listed "$game" || { echo "the game was not relisted" >&2; exit 1; }
show "$(lobby)"

step "B's create is sent twice on a bad network, with one Idempotency-Key: one game"
first=$(post "$token_b" create_game '{}' "Idempotency-Key: demo-1")
again=$(post "$token_b" create_game '{}' "Idempotency-Key: demo-1")
show "$first"
[ "$first" = "$again" ] && show "the retry got the same answer: one game" ||
    { echo "the retry made another game" >&2; exit 1; }
printf '\nfeatures round complete\n'
