#!/usr/bin/env bash
# The test command of the README: set-up (install + build), then every fast test. GPU tests skip
# with one line when no CUDA device is present. Long runs carry the ctest label "slow"; run them
# with: ctest --test-dir build -L slow
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Test-only packages: tests/onnx_runtime_check.py checks the models `pfce export` writes with the
# ONNX checker and runs them in OpenCV and numpy; tests/polygonize_gdal_check.py holds predict
# --polygons to GDAL's polygonizer. Where one cannot be installed (no password-less sudo, a release
# without it), what needs it skips, saying so.
bash scripts/install_missing.sh --optional test python3-numpy python3-onnx python3-opencv \
  python3-gdal
ctest --test-dir build -LE slow --output-on-failure -j "$(nproc)" --timeout 900
