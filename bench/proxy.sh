#!/bin/sh
# The reverse-proxy benchmark: one backend behind bare nginx, nginx with the eidgw module,
# Apache with mod_auth_openidc and Caddy with forward_auth to eidgw, and eidgw's
# /auth/check alone, interleaved, in requests per server CPU-second. Builds nothing:
# expects build/eidgw, build/eidgw-loadgen, build/pcookie-seal and
# build/ngx_http_eidgw_module.so (cmake --build build), Debian's nginx, apache2 with
# libapache2-mod-auth-openidc and caddy. See bench/README.md ("Reverse proxy").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${EIDGW_BIN:-$root/build/eidgw}
for f in "$bin" "$(dirname "$bin")/eidgw-loadgen" "$(dirname "$bin")/pcookie-seal"; do
  [ -x "$f" ] || { echo "proxy.sh: $f not found; build it first: cmake --build build" >&2; exit 1; }
done
[ -x "${NGINX_BIN:-/usr/sbin/nginx}" ] || { echo "proxy.sh: nginx not found (apt-get install nginx nginx-dev)" >&2; exit 1; }
command -v node >/dev/null || { echo "proxy.sh: node not found" >&2; exit 1; }
cd "$root"
exec node "$here/proxy.js" "$@"
