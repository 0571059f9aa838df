#!/usr/bin/env bash
# README command 1: the demo. Installs and builds what is missing, then starts, all on
# 127.0.0.1 with the embedded store: the VNeID simulator, the population-DB simulator,
# eidgw and two sample portals. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
bash tools/setup.sh

GW_PORT=${GW_PORT:-9400} VNEID_PORT=${VNEID_PORT:-9401} POPDB_PORT=${POPDB_PORT:-9402}
PORTAL_A_PORT=${PORTAL_A_PORT:-9411} PORTAL_B_PORT=${PORTAL_B_PORT:-9412}
VAR=$SRC/var/demo
mkdir -p "$VAR"
chmod 700 "$VAR"
./build/eidgw keys generate "$VAR/keys" >/dev/null

secret() { head -c 32 /dev/urandom | base64 | tr -d '=+/\n' | cut -c1-40; }
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
VNEID_SECRET=$(secret) PORTAL_A_SECRET=$(secret) PORTAL_B_SECRET=$(secret)
sed -e "s|@SRC@|$SRC|g; s|@VAR@|$VAR|g; s|@GW_PORT@|$GW_PORT|g; s|@VNEID_PORT@|$VNEID_PORT|g; s|@POPDB_PORT@|$POPDB_PORT|g" \
    -e "s|@PORTAL_A_PORT@|$PORTAL_A_PORT|g; s|@PORTAL_B_PORT@|$PORTAL_B_PORT|g" \
    -e "s|@VNEID_SECRET@|$VNEID_SECRET|g; s|@PORTAL_A_HASH@|$(sha "$PORTAL_A_SECRET")|g" \
    -e "s|@PORTAL_B_HASH@|$(sha "$PORTAL_B_SECRET")|g" sim/demo.conf.in > "$VAR/eidgw.conf"
chmod 600 "$VAR/eidgw.conf"
./build/eidgw check-config -c "$VAR/eidgw.conf"
./build/eidgw accounts import -c "$VAR/eidgw.conf" --portal portal-a sim/legacy-accounts-a.csv

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
LOG=$VAR/logs; mkdir -p "$LOG"

node sim/vneid/server.js --port "$VNEID_PORT" \
  --client "eidgw:$VNEID_SECRET:http://127.0.0.1:$GW_PORT/callback" > "$LOG/vneid-sim.log" 2>&1 & pids+=($!)
node sim/popdb/server.js --port "$POPDB_PORT" > "$LOG/popdb-sim.log" 2>&1 & pids+=($!)
./build/eidgw serve -c "$VAR/eidgw.conf" 2> "$LOG/eidgw.log" & pids+=($!)
node sim/portal/server.js --port "$PORTAL_A_PORT" --issuer "http://127.0.0.1:$GW_PORT" --client-id portal-a \
  --client-secret "$PORTAL_A_SECRET" --title "Cổng Dịch vụ công tỉnh A" --scope "openid profile cccd" \
  > "$LOG/portal-a.log" 2>&1 & pids+=($!)
node sim/portal/server.js --port "$PORTAL_B_PORT" --issuer "http://127.0.0.1:$GW_PORT" --client-id portal-b \
  --client-secret "$PORTAL_B_SECRET" --title "Cổng Dịch vụ công tỉnh B (mức 2)" --scope "openid profile" \
  > "$LOG/portal-b.log" 2>&1 & pids+=($!)

for port in "$VNEID_PORT" "$GW_PORT" "$PORTAL_A_PORT" "$PORTAL_B_PORT"; do
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; \
    curl -sS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.2; done
done
cat <<MSG

eidgw demo is running (logs in $LOG):
  Open:          http://127.0.0.1:$PORTAL_A_PORT/     (portal A, level 1 and up)
  Second portal: http://127.0.0.1:$PORTAL_B_PORT/     (portal B, requires level 2; reuses the SSO session)
  Gateway:       http://127.0.0.1:$GW_PORT/.well-known/openid-configuration
  VNeID sim:     http://127.0.0.1:$VNEID_PORT/_sim/citizens   (the synthetic citizens it offers)
  Legacy accounts of portal A: sim/legacy-accounts-a.csv (password matkhau123), e.g.
    levancuong   -> asks for the ID number, checked with the population-DB simulator
                    (Lê Văn Cường: 048078034567)
    VNeID as Trần Thị Bình -> two old accounts: choose the one to keep
  Clean-up report: ./build/eidgw accounts report -c $VAR/eidgw.conf --portal portal-a
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
echo "demo: a process exited; see $LOG" >&2
