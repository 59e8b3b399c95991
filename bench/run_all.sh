#!/usr/bin/env bash
# Runs every benchmark with its peer script in the same session and merges the JSON into
# bench/results/<date>-<device>-<short commit>.json (device: the GPU name, or "cpu<N>" for N cores).
# Usage: bench/run_all.sh [build dir (default build)] [extra args passed to every bench]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}; shift || true
commit=$(git rev-parse --short HEAD)
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr ' ' '-' | tr -cd 'A-Za-z0-9-' || true)
device=${gpu:-cpu$(nproc)}
out="bench/results/$(date -u +%Y-%m-%d)-${device}-${commit}.json"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for b in loss data link train; do
  exe="$build/bench/bench_$b"
  [ -x "$exe" ] || { echo "run_all: $exe not built, skipped" >&2; continue; }
  peer=""
  case $b in
    loss) peer=bench/peers/focal_torch.py ;;
    data) peer=bench/peers/data_seed.py ;;
    link) peer=bench/peers/link_seed.py ;;
    train) peer=bench/peers/unet_torch.py ;;
  esac
  echo "run_all: bench_$b" >&2
  "$exe" --json "$tmp/$b.json" --peer "$peer" "$@" 2>&1 | tee "$tmp/$b.log" >&2 || echo "run_all: bench_$b failed" >&2
done
python3 - "$tmp" "$out" "$commit" "$device" <<'PY'
import json, os, sys
tmp, out, commit, device = sys.argv[1:]
merged = {"commit": commit, "device": device, "benchmarks": {}}
for f in sorted(os.listdir(tmp)):
    if f.endswith(".json"):
        with open(os.path.join(tmp, f)) as fh:
            merged["benchmarks"][f[:-5]] = json.load(fh)
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out + ".tmp", "w") as fh:
    json.dump(merged, fh, indent=2)
os.replace(out + ".tmp", out)
print("run_all: wrote", out)
PY
