#!/usr/bin/env bash
# Installs the Debian packages the matchmaker needs to build, run and test.
# Idempotent and quiet when everything is already there.
set -euo pipefail

packages=(
    build-essential autoconf automake libtool pkg-config
    libfcgi-dev libhiredis-dev libjson-c-dev libcurl4-openssl-dev libssl-dev libcmocka-dev
    libmicrohttpd-dev
    spawn-fcgi multiwatch nginx redis-server redis-tools redis-sentinel curl wrk
    # the live lobby: nginx's nchan module; the page's test drives a real browser
    libnginx-mod-nchan chromium chromium-driver
)
# the fuzzing build (configure --enable-fuzzing) needs clang and its runtime
[ "${MM_WITH_FUZZ:-0}" = 1 ] && packages+=(clang libclang-rt-14-dev)
[ "${MM_WITH_EXTRAS:-0}" = 1 ] && packages+=(clang libclang-rt-14-dev cppcheck clang-tidy
    clang-format valgrind)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
