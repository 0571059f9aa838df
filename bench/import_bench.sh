#!/bin/sh
# Times `eidgw accounts import` on a generated CSV of legacy portal accounts and prints
# rows/s. Usage: bench/import_bench.sh [ROWS] (default 1000000).
# EIDGW_BIN selects the binary (default build/eidgw); BENCH_DIR keeps the files (default a
# temporary directory, removed at the end). Needs only sh and awk.
set -eu

ROWS=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${EIDGW_BIN:-$ROOT/build/eidgw}
[ -x "$BIN" ] || { echo "import_bench: $BIN not found (build first or set EIDGW_BIN)" >&2; exit 1; }
if [ -n "${BENCH_DIR:-}" ]; then
    DIR=$BENCH_DIR
    mkdir -p "$DIR"
else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/eidgw-import-bench.XXXXXX")
    trap 'rm -rf "$DIR"' EXIT INT TERM
fi
CSV=$DIR/accounts.csv
CONF=$DIR/eidgw.conf
rm -f "$DIR"/eidgw.db "$DIR"/eidgw.db-wal "$DIR"/eidgw.db-shm

cat > "$CONF" <<CONF
[server]
listen = 127.0.0.1:18099
public_url = http://127.0.0.1:18099

[keys]
dir = $DIR/keys

[store]
driver = sqlite
path = $DIR/eidgw.db

[upstream vneid]
issuer = http://127.0.0.1:1
authorization_endpoint = http://127.0.0.1:1/auth
token_endpoint = http://127.0.0.1:1/token
userinfo_endpoint = http://127.0.0.1:1/userinfo
jwks_uri = http://127.0.0.1:1/jwks
client_id = eidgw
client_secret = bench
claim_id = SoDinhDanh
claim_name = HoVaTen

[client bench]
name = Bench portal
secret_sha256 = 0000000000000000000000000000000000000000000000000000000000000000
redirect_uri = http://127.0.0.1:1/callback
scopes = openid
min_level = 1
accounts = yes
CONF
chmod 600 "$CONF" # it holds the upstream client secret: eidgw refuses it readable by others

echo "generating $ROWS rows in $CSV" >&2
t0=$(date +%s.%N)
awk -v rows="$ROWS" 'BEGIN {
    srand(42)
    nf = split("Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý", fam, " ")
    nm = split("Văn Thị Hữu Đức Minh Ngọc Thanh Xuân Quốc Thuỳ", mid, " ")
    ng = split("An Bình Cường Dũng Hoà Hòa Hương Khánh Linh Mai Nam Phương Quân Thảo Thủy Thuỷ Trang Tuấn Yến Bảo", giv, " ")
    np = split("001 079 031 048 092 036 038 040 046 075 089 096", place, " ")
    print "account_id,username,full_name,birth_date,sex,cmnd,id_number,id_verified,email,phone,status,password_hash,account_class"
    for (i = 1; i <= rows; i++) {
        name = fam[int(rand() * nf) + 1] " " mid[int(rand() * nm) + 1] " " giv[int(rand() * ng) + 1]
        year = 1950 + int(rand() * 55); month = 1 + int(rand() * 12); day = 1 + int(rand() * 28)
        female = rand() < 0.5
        sex = female ? "F" : "M"
        idn = ""; cmnd = ""; ver = "false"
        r = rand()
        if (r < 0.6) {
            g = (year >= 2000 ? 2 : 0) + female
            idn = sprintf("%s%d%02d%06d", place[int(rand() * np) + 1], g, year % 100, int(rand() * 1000000))
            if (rand() < 0.5) ver = "true"
        }
        if (r > 0.4) cmnd = sprintf("%09d", int(rand() * 1000000000))
        if (i % 5000 == 0) name = "B¶o Th¾ng"
        printf "acc%07d,user%07d,\"%s\",%04d-%02d-%02d,%s,%s,%s,%s,user%07d@example.vn,09%08d,active,$2b$10$%022d,individual\n",
               i, i, name, year, month, day, sex, cmnd, idn, ver, i, int(rand() * 100000000), i
    }
}' > "$CSV"
t1=$(date +%s.%N)
echo "generated $(wc -c < "$CSV") bytes in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s" >&2

run() {
    t0=$(date +%s.%N)
    "$BIN" accounts import -c "$CONF" --portal bench "$CSV" > "$DIR/out.txt" 2> "$DIR/err.txt" || {
        cat "$DIR/err.txt" >&2; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v n="$ROWS" -v what="$1" \
        'BEGIN { s = b - a; printf "%-10s %d rows in %.2f s: %.0f rows/s\n", what, n, s, n / s }'
    cat "$DIR/out.txt"
}
run "import"
run "re-import"
