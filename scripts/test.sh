#!/usr/bin/env bash
# The test command of the README: set-up (install + build), then every fast test. GPU tests skip
# with one line when no CUDA device is present. Long runs carry the ctest label "slow"; run them
# with: ctest --test-dir build -L slow
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ctest --test-dir build -LE slow --output-on-failure -j "$(nproc)" --timeout 900
