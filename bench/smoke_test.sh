#!/usr/bin/env bash
# The benchmarks at toy size (ctest bench_smoke): each writes JSON that parses; nonsense options
# (no repeats, a --json that cannot be written) are refused naming the option, never a crash
# (they segfaulted on zero repeats, and found an unwritable --json after the whole run);
# run_all.sh refuses arguments it cannot pass on. Peers are not run (they need PyTorch/scipy).
# Usage: bench/smoke_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: smoke_test.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# Parsed by Python where there is one (a fresh Debian has none, and the tests need none): else
# an object from its first byte to its last, without NaN (the tools write null for it).
json_reads() {
  if python3 -c 1 2> /dev/null; then  # a Python that runs (a shim without one does not)
    python3 -c 'import json,sys; json.load(open(sys.argv[1]), parse_constant=lambda c: sys.exit(1))' "$1"
  else
    [ "$(head -c 1 "$1")" = "{" ] && [ "$(tail -c 2 "$1" | head -c 1)" = "}" ] && ! grep -qw 'NaN\|Infinity' "$1"
  fi
}

declare -A toy=(
  [loss]="--device cpu --shapes 1,2,8,8 --repeats 1 --warmup 0"
  [data]="--count 3 --size 32 --points 1 --repeats 1"
  [link]="--count 2 --count512 0 --repeats 1 --skip-kdtree"
  [train]="--device cpu --batch 1 --size 32 --width 2 --depth 1 --warmup 0 --steps 1 --no-profile"
)
declare -A none=([loss]="--repeats 0" [data]="--repeats 0" [link]="--repeats 0" [train]="--steps 0")

for b in loss data link train; do
  exe="$build/bench/bench_$b"
  [ -x "$exe" ] || { fail "$exe not built"; continue; }
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 "$exe" ${toy[$b]} --json "$tmp/$b.json" > "$tmp/$b.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    fail "bench_$b at toy size exited $rc"; cat "$tmp/$b.log"
  elif ! json_reads "$tmp/$b.json"; then
    fail "bench_$b wrote JSON that does not parse"; head -c 300 "$tmp/$b.json"
  fi
  # shellcheck disable=SC2086
  "$exe" ${toy[$b]} ${none[$b]} > "$tmp/$b-none.log" 2>&1
  rc=$?
  flag=${none[$b]%% *}
  if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then
    fail "bench_$b ${none[$b]} exited $rc (expected a refusal)"; cat "$tmp/$b-none.log"
  elif ! grep -q -- "$flag" "$tmp/$b-none.log"; then
    fail "bench_$b ${none[$b]}: the refusal does not name $flag"; cat "$tmp/$b-none.log"
  fi
  # shellcheck disable=SC2086
  "$exe" ${toy[$b]} --json "$tmp/missing/$b.json" > "$tmp/$b-json.log" 2>&1
  rc=$?
  if [ $rc -ne 1 ] || ! grep -q "does not exist" "$tmp/$b-json.log"; then
    fail "bench_$b with an unwritable --json exited $rc"; cat "$tmp/$b-json.log"
  fi
done

bash "$here/run_all.sh" "$build" --steps 3 > "$tmp/run_all.log" 2>&1
rc=$?
if [ $rc -ne 2 ] || ! grep -q "unknown argument '--steps'" "$tmp/run_all.log"; then
  fail "run_all.sh --steps 3 exited $rc"; cat "$tmp/run_all.log"
fi
[ $fails -eq 0 ] && echo "bench smoke: every benchmark ran at toy size and refused nonsense"
exit $((fails > 0))
