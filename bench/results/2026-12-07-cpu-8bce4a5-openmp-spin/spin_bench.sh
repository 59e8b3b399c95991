#!/usr/bin/env bash
# 3 epochs of CPU training (64 synthetic 96x96 images, batch 8, depth 3 or 4), alone and beside one
# busy process (`yes`), at libgomp's default spin count (300000) and at pfce's (10000); seconds of
# each run, 3 repeats interleaved. Usage: spin_bench.sh PFCE
set -euo pipefail
pfce=$1
dir=$(mktemp -d)
"$pfce" data synth --out "$dir/syn" --count 64 --size 96 > /dev/null
run() {  # label width depth spincount
  rm -rf "$dir/run"
  local s e
  s=$(date +%s.%N)
  GOMP_SPINCOUNT=$4 "$pfce" train --data "$dir/syn" --out "$dir/run" --epochs 3 --batch-size 8 \
    --width "$2" --depth "$3" --device cpu -q > /dev/null 2>&1
  e=$(date +%s.%N)
  printf '%s width %s spin %s: %.2f s\n' "$1" "$2" "$4" "$(echo "$e - $s" | bc)"
}
for rep in 1 2 3; do
  for w in "16 3" "32 4"; do
    set -- $w
    run alone "$1" "$2" 300000
    run alone "$1" "$2" 10000
    yes > /dev/null & busy=$!
    sleep 0.5
    run beside-busy "$1" "$2" 300000
    run beside-busy "$1" "$2" 10000
    kill $busy; wait $busy 2>/dev/null || true
  done
done
rm -rf "$dir"
