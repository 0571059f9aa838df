#!/bin/sh
# Refreshes the committed corpus tests/fuzz/corpus/<name> of each target named (fuzz_<name>
# in the fuzz build): the corpus as committed, plus the target's built-in seeds, fuzzed for a
# short while, then minimised with -merge=1 -use_counters=0 (only inputs that reach a new
# edge are kept: tens of files, not hundreds). Files named regress-* (the inputs of fixed
# findings) are kept as they are.
#   tests/fuzz/refresh_corpus.sh name import ...   (FUZZ_BUILD=build-fuzz, FUZZ_SECONDS=20)
set -eu
build=${FUZZ_BUILD:-build-fuzz}
for t in "$@"; do
  bin=$build/fuzz_$t
  dir=tests/fuzz/corpus/$t
  [ -x "$bin" ] || { echo "refresh_corpus: no $bin" >&2; exit 1; }
  work=$(mktemp -d)
  mkdir -p "$dir"
  cp "$dir"/. "$work"/ -r
  len=4096
  [ "$t" = config ] && len=8192
  EIDGW_FUZZ_SEEDS=$work "$bin" -max_total_time="${FUZZ_SECONDS:-20}" -max_len=$len "$work" >/dev/null 2>&1 || {
    echo "refresh_corpus: fuzz_$t failed (a crash: run it by hand)" >&2
    rm -rf "$work"
    exit 1
  }
  rm -rf "$dir.new"
  mkdir "$dir.new"
  "$bin" -merge=1 -use_counters=0 -max_len=$len "$dir.new" "$work" >/dev/null 2>&1
  # the inputs of fixed findings stay, whatever the merge keeps
  for f in "$dir"/regress-*; do
    [ -f "$f" ] && cp "$f" "$dir.new/"
  done
  rm -rf "$dir" "$work"
  mv "$dir.new" "$dir"
  echo "$t: $(ls "$dir" | wc -l) inputs, $(cat "$dir"/* | wc -c) bytes"
done
