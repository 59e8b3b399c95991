#!/usr/bin/env bash
# Installs the Debian packages pfce needs (only those missing) and builds it into build/.
# CUDA is used when the toolkit (nvcc + cuDNN) is installed, otherwise the CPU-only build is made.
# Usage: scripts/setup.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config git
          libopenblas-dev libdnnl-dev ocl-icd-opencl-dev libtiff-dev libpng-dev libjpeg-dev libstb-dev
          libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libnanoflann-dev libgtest-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# nvcc is often not on PATH even when the toolkit is installed.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi

jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPFCE_CUDA=AUTO "$@"
cmake --build build -j "$jobs"
echo "setup: built build/pfce"
