#!/usr/bin/env bash
# Installs the Debian packages pfce needs (only those missing) and builds it into build/.
# CUDA is used when the toolkit (nvcc + cuDNN) is installed, otherwise the CPU-only build is made.
# Usage: scripts/setup.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config git
          libopenblas-dev libdnnl-dev ocl-icd-opencl-dev libtiff-dev libpng-dev libjpeg-dev libstb-dev
          libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libnanoflann-dev libgtest-dev)
bash scripts/install_missing.sh setup "${packages[@]}"

# nvcc is often not on PATH even when the toolkit is installed.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi

jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPFCE_CUDA=AUTO "$@"
cmake --build build -j "$jobs"
echo "setup: built build/pfce"
