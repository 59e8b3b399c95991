#!/usr/bin/env bash
# Test mIoU and OA of every experiment of a finished suite (pfce run SUITE --out DIR) with each
# test-time augmentation: none, flips (4 views) and d4 (8 views), on the run's own test split.
# Usage: scripts/measure_tta.sh DIR [PFCE_BINARY]   (prints a Markdown table)
set -euo pipefail
dir=${1:?usage: scripts/measure_tta.sh SUITE_OUT_DIR [pfce binary]}
pfce=${2:-"$(dirname "$0")/../build/pfce"}
echo "| experiment | tta | test mIoU | test OA | eval seconds |"
echo "|---|---|---:|---:|---:|"
for ck in "$dir"/*/train/best.ckpt; do
  [ -f "$ck" ] || continue
  e=$(basename "$(dirname "$(dirname "$ck")")")
  for t in none flips d4; do
    s=$(date +%s.%N)
    m=$("$pfce" eval --checkpoint "$ck" --tta "$t" --json 2>/dev/null |
        python3 -c 'import json,sys; j=json.load(sys.stdin); print("| %.4f | %.4f" % (j["miou"], j["oa"]))')
    echo "| $e | $t $m | $(python3 -c "print('%.1f' % ($(date +%s.%N) - $s))") |"
  done
done
