# Sourced by the tests that need a TCP port of their own (nchan's Redis, the
# browser's nginx and chromedriver). free_port prints a loopback port nothing
# listens on, away from the local stack's (5050-5052); the caller still fails
# cleanly if another process takes it first.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + (RANDOM % 10000)))
        grep -q ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null && continue
        echo "$p"
        return 0
    done
    return 1
}
