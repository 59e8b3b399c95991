#!/usr/bin/env bash
# Runs every benchmark with its peer script in the same session and merges the JSON into
# bench/results/<UTC date and time>-<device>-<short commit>.json (device: the GPU name, or
# "cpu<N>" for the machine's N cores). A file of that name is never replaced. The merged file
# lists the benchmarks that failed ("failed"); the exit status is 1 when any failed or was not
# built, and nothing is written when none ran.
# Usage: bench/run_all.sh [build dir (default build)] [--loss "ARGS"] [--data "ARGS"]
#                         [--link "ARGS"] [--train "ARGS"]
# Each --NAME passes ARGS (split at spaces) to that benchmark alone (their options differ), e.g.
# --train "--steps 5 --size 64" --data "--count 100".
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
declare -A extra=([loss]="" [data]="" [link]="" [train]="")
if [ $# -gt 0 ] && [[ $1 != --* ]]; then build=$1; shift; fi
while [ $# -gt 0 ]; do
  case $1 in
    --loss|--data|--link|--train)
      [ $# -ge 2 ] || { echo "run_all: $1 needs the arguments to pass, in quotes" >&2; exit 2; }
      extra[${1#--}]=$2; shift 2 ;;
    *) echo "run_all: unknown argument '$1' (expected a build dir first, then --loss|--data|--link|--train \"ARGS\")" >&2
       exit 2 ;;
  esac
done
# The merge needs Python: found now, not after every benchmark ran (their results were lost).
python3 -c 1 2> /dev/null || { echo "run_all: python3 is needed to merge the results (apt-get install python3)" >&2; exit 2; }
[ -d "$build/bench" ] || { echo "run_all: $build/bench does not exist (build the project first, or name its build dir)" >&2; exit 2; }
commit=$(git rev-parse --short HEAD)
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr ' ' '-' | tr -cd 'A-Za-z0-9-' || true)
# The machine's cores, not `nproc`'s count (which follows OMP_NUM_THREADS).
device=${gpu:-cpu$(getconf _NPROCESSORS_ONLN)}
out="bench/results/$(date -u +%Y-%m-%dT%H%M%SZ)-${device}-${commit}.json"
[ ! -e "$out" ] || { echo "run_all: $out exists; not replaced" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=()
for b in loss data link train; do
  exe="$build/bench/bench_$b"
  if [ ! -x "$exe" ]; then
    echo "run_all: $exe not built" >&2
    failed+=("$b (not built)")
    continue
  fi
  peer=""
  case $b in
    loss) peer=bench/peers/focal_torch.py ;;
    data) peer=bench/peers/data_seed.py ;;
    link) peer=bench/peers/link_seed.py ;;
    train) peer=bench/peers/unet_torch.py ;;
  esac
  echo "run_all: bench_$b ${extra[$b]}" >&2
  # shellcheck disable=SC2086  # the extra arguments are split at spaces on purpose (not globbed)
  set -f
  if ! "$exe" --json "$tmp/$b.json" --peer "$peer" ${extra[$b]} 2>&1 | tee "$tmp/$b.log" >&2; then
    set +f
    echo "run_all: bench_$b failed (its output is above)" >&2
    failed+=("$b")
    rm -f "$tmp/$b.json"
  fi
  set +f
done
if ! ls "$tmp"/*.json > /dev/null 2>&1; then
  echo "run_all: no benchmark ran; nothing written" >&2
  exit 1
fi
python3 - "$tmp" "$out" "$commit" "$device" "${failed[@]}" <<'PY'
import json, os, sys
tmp, out, commit, device, *failed = sys.argv[1:]
merged = {"commit": commit, "device": device, "benchmarks": {}, "failed": failed}
for f in sorted(os.listdir(tmp)):
    if f.endswith(".json"):
        with open(os.path.join(tmp, f)) as fh:
            merged["benchmarks"][f[:-5]] = json.load(fh)
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out + ".tmp", "w") as fh:
    json.dump(merged, fh, indent=2, allow_nan=False)
os.replace(out + ".tmp", out)
print("run_all: wrote", out)
PY
if [ ${#failed[@]} -gt 0 ]; then
  echo "run_all: failed: ${failed[*]}" >&2
  exit 1
fi
