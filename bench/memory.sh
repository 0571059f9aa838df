#!/bin/sh
# Memory per live session on each store, and the memory bound under a flood of pending
# logins. Builds nothing: expects build/eidgw (cmake --build build), node_modules (npm ci),
# and for the Redis run redis-server and redis-cli. See bench/README.md ("Memory").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${EIDGW_BIN:-$root/build/eidgw}
[ -x "$bin" ] || { echo "memory.sh: $bin not found; build it first: cmake --build build" >&2; exit 1; }
command -v node >/dev/null || { echo "memory.sh: node not found" >&2; exit 1; }
case ",${MEM_STORES:-sqlite,redis}," in
  *,redis,*)
    [ -x "${REDIS_SERVER:-/usr/bin/redis-server}" ] || { echo "memory.sh: ${REDIS_SERVER:-/usr/bin/redis-server} not found (apt-get install redis-server)" >&2; exit 1; }
    command -v redis-cli >/dev/null || { echo "memory.sh: redis-cli not found" >&2; exit 1; } ;;
esac
cd "$root"
exec node "$here/memory.js" "$@"
