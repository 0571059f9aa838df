#!/usr/bin/env bash
# README command 2: builds eidgw (normal, ASan+UBSan, and a Release build that must compile
# cleanly at -O3) and runs the whole test suite:
# C unit tests (ctest, both builds), integration tests on loopback with real processes
# (node's test runner; both builds of the daemon), browser tests (Debian chromium +
# playwright-core), and a short run of every fuzz target. Installs what is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
bash tools/setup.sh --asan || { echo "test: setup failed" >&2; exit 1; }

export EIDGW_ARTIFACTS=$ROOT/test-artifacts
rm -rf "$EIDGW_ARTIFACTS"; mkdir -p "$EIDGW_ARTIFACTS"
passed=0 failed=0
declare -a failures=()
step() { # name, command...
  local name=$1; shift
  echo "=== $name"
  if "$@"; then passed=$((passed+1)); echo "=== $name: ok"
  else failed=$((failed+1)); failures+=("$name"); echo "=== $name: FAILED"; fi
}

# the store conformance suite also runs against a real redis-server on loopback
RDIR=$(mktemp -d)
RPORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
redis-server --bind 127.0.0.1 --port "$RPORT" --dir "$RDIR" --save '' --appendonly yes --daemonize yes \
  --pidfile "$RDIR/redis.pid" --logfile "$RDIR/redis.log" >/dev/null
trap 'redis-cli -p "$RPORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$RDIR"' EXIT
for _ in $(seq 1 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
export EIDGW_TEST_REDIS_URL="redis://127.0.0.1:$RPORT/0"

# -O3 turns on warnings that -O2 does not reach (-Wformat-truncation, -Wstringop-*): the
# Release build must compile cleanly under -Werror too
release_build() {
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DEIDGW_TESTS=OFF >/dev/null || return 1
  local out
  out=$(cmake --build build-release -j"$(nproc)" 2>&1) && return 0
  echo "$out" | grep -E 'error|warning' | head -30
  return 1
}
step "release build (-O3, -Werror)" release_build
step "unit tests" ctest --test-dir build --output-on-failure
step "unit tests (ASan+UBSan)" ctest --test-dir build-asan --output-on-failure

INTEGRATION=(tests/integration/*.test.js)
step "integration tests" env EIDGW_BIN="$ROOT/build/eidgw" node --test --test-concurrency=1 "${INTEGRATION[@]}"

SAN=$EIDGW_ARTIFACTS/sanitizers; mkdir -p "$SAN"
asan_run() {
  env EIDGW_BIN="$ROOT/build-asan/eidgw" \
      ASAN_OPTIONS="log_path=$SAN/asan:detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=0:malloc_context_size=30" \
      LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0" \
      UBSAN_OPTIONS="print_stacktrace=1:log_path=$SAN/ubsan" \
      node --test --test-concurrency=1 "${INTEGRATION[@]}" || return 1
  if compgen -G "$SAN/*" >/dev/null; then
    echo "sanitizer reports:"; head -50 "$SAN"/*; return 1
  fi
}
step "integration tests (daemon under ASan+UBSan)" asan_run

if compgen -G "tests/browser/*.test.js" >/dev/null; then
  step "browser tests" env EIDGW_BIN="$ROOT/build/eidgw" node --test --test-concurrency=1 tests/browser/*.test.js
fi

if compgen -G "tests/fuzz/fuzz_*.c" >/dev/null; then
  fuzz_smoke() {
    CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DEIDGW_FUZZ=ON -DEIDGW_TESTS=OFF >/dev/null &&
      cmake --build build-fuzz -j"$(nproc)" >/dev/null || return 1
    local f ok=0 work
    for f in build-fuzz/fuzz_*; do
      [ -x "$f" ] || continue
      # from a copy of the committed corpus: libFuzzer adds what it finds to its first directory
      work=$(mktemp -d)
      cp -r "tests/fuzz/corpus/$(basename "$f" | sed 's/^fuzz_//')/." "$work/" 2>/dev/null || true
      echo "fuzz: $(basename "$f") for ${FUZZ_SECONDS:-15}s"
      "$f" -max_total_time="${FUZZ_SECONDS:-15}" -rss_limit_mb=2048 -print_final_stats=0 \
           -artifact_prefix="$EIDGW_ARTIFACTS/" "$work" >/dev/null 2>"$EIDGW_ARTIFACTS/$(basename "$f").log" ||
        { echo "fuzz: $(basename "$f") found a crash"; tail -30 "$EIDGW_ARTIFACTS/$(basename "$f").log"; ok=1; }
      rm -rf "$work"
    done
    return $ok
  }
  step "fuzz smoke" fuzz_smoke
fi

echo
[ $failed -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
