#!/usr/bin/env bash
# Installs what eidgw needs on Debian 12 (idempotent) and builds it.
#   tools/setup.sh            build into build/
#   tools/setup.sh --asan     also build the ASan+UBSan tree into build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libevent-dev libcjose-dev libjansson-dev libcurl4-openssl-dev libsqlite3-dev libssl-dev
      libhiredis-dev libutf8proc-dev libcmocka-dev liblasso3-dev sqlite3 libargon2-dev libcrypt-dev libjemalloc-dev openssl
      chromium apache2 libapache2-mod-auth-openidc libapache2-mod-auth-mellon redis-server wrk curl ca-certificates nginx nginx-dev caddy)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from another packaging; install Debian's only when absent
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "setup: run as root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# the nginx and caddy packages start services on port 80; the tests start their own
if [ "$(id -u)" -eq 0 ]; then
  for svc in nginx caddy; do
    { service "$svc" stop; update-rc.d "$svc" disable; systemctl disable --now "$svc"; } >/dev/null 2>&1 || true
  done
fi

if [ ! -d node_modules/openid-client ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm install"
  npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
if [ "${1:-}" = "--asan" ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DEIDGW_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$(nproc)"
fi
