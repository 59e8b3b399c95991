#!/usr/bin/env bash
# The main job of the README: set-up (install + build), then the full experiment suite on the
# embedded synthetic dataset: `synthetic` (full size) when a CUDA device is visible, otherwise
# `synthetic-small` (sized to finish in minutes on a CPU). The report lands in runs/<suite>/.
# Extra arguments go to `pfce run` (e.g. --force, --device cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
suite=synthetic-small
if ./build/pfce doctor | grep -q '^  cuda:'; then suite=synthetic; fi
echo "main: running experiments/${suite}.toml -> runs/${suite}/"
./build/pfce run "experiments/${suite}.toml" --out "runs/${suite}" "$@"
echo "main: report at runs/${suite}/report.md (and report.html)"
