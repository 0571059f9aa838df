#!/bin/sh
# eidgw against panva's oidc-provider on this machine: a full brokered login and the
# token endpoint alone. Builds nothing: expects build/eidgw (cmake --build build) and
# node_modules (npm ci). See bench/README.md for the settings and how to read the output.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${EIDGW_BIN:-$root/build/eidgw}
[ -x "$bin" ] || { echo "run.sh: $bin not found; build it first: cmake --build build" >&2; exit 1; }
[ -z "${BENCH_EIDGW_BASE:-}" ] || [ -x "$BENCH_EIDGW_BASE" ] || { echo "run.sh: BENCH_EIDGW_BASE=$BENCH_EIDGW_BASE is not an executable" >&2; exit 1; }
command -v node >/dev/null || { echo "run.sh: node not found" >&2; exit 1; }
for m in oidc-provider openid-client; do
  [ -d "$root/node_modules/$m" ] || { echo "run.sh: node_modules/$m missing; run npm ci in $root" >&2; exit 1; }
done
cd "$root"
exec node "$here/bench.js" "$@"
