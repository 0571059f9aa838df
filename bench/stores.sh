#!/bin/sh
# eidgw on SQLite (one node), on Redis (one node) and on one Redis shared by two nodes:
# "token alone" and the session check (GET /auth/check), interleaved. Builds nothing:
# expects build/eidgw (cmake --build build), node_modules (npm ci), redis-server and
# redis-cli. See bench/README.md ("Stores and nodes") for the settings and the output.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${EIDGW_BIN:-$root/build/eidgw}
[ -x "$bin" ] || { echo "stores.sh: $bin not found; build it first: cmake --build build" >&2; exit 1; }
command -v node >/dev/null || { echo "stores.sh: node not found" >&2; exit 1; }
[ -d "$root/node_modules/openid-client" ] || { echo "stores.sh: node_modules/openid-client missing; run npm ci in $root" >&2; exit 1; }
case ",${STORES_CONFIGS:-a,b,c}," in
  *,b,*|*,c,*)
    [ -x "${REDIS_SERVER:-/usr/bin/redis-server}" ] || { echo "stores.sh: ${REDIS_SERVER:-/usr/bin/redis-server} not found (apt-get install redis-server)" >&2; exit 1; }
    command -v redis-cli >/dev/null || { echo "stores.sh: redis-cli not found" >&2; exit 1; } ;;
esac
cd "$root"
exec node "$here/stores.js" "$@"
