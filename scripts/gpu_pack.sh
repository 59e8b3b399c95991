#!/usr/bin/env bash
# Fills .device/ (ignored by git) with what the GPU test machine lacks, for scripts/gpu_check.sh:
# the Debian 12 .deb files of every build and test dependency, downloaded (not installed), with a
# manifest (package, version, size, sha256), and the two real Potsdam pairs when they are found.
# The GPU machine has no package registry; the device tool carries .device/ there.
# Usage: bash scripts/gpu_pack.sh   (on Debian 12 with apt; then run the device tool with
#        carry [".device"] and the command: bash scripts/gpu_check.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and test dependencies with their run-time libraries. -dev packages give headers, CMake
# configs and link names; the rest are the shared libraries those link against, down to what any
# glibc >= 2.36 system has (libc, libstdc++, libgcc_s, libgomp come with the compiler).
packages=(
  # OpenBLAS (pthread flavour; pfce doctor reports it) and its Fortran run time
  libopenblas-dev libopenblas-pthread-dev libopenblas0 libopenblas0-pthread libgfortran5
  libquadmath0
  # TIFF images (Potsdam) and every codec libtiff6 links; libjpeg also reads JPEG chips
  libtiff-dev libtiff6 libtiffxx6 libjpeg62-turbo libjpeg62-turbo-dev libdeflate0 libdeflate-dev
  libjbig0 libjbig-dev liblerc4 liblerc-dev liblzma5 liblzma-dev libwebp7 libwebp-dev libwebpmux3
  libwebpdemux2 libzstd1 libzstd-dev zlib1g zlib1g-dev
  # PNG masks, stb, config files, the command line, JSON
  libpng-dev libpng16-16 libstb-dev libstb0 libtomlplusplus-dev libtomlplusplus3 libcli11-dev
  nlohmann-json3-dev
  # tests, and the KD-tree baseline of bench_link
  libgtest-dev libnanoflann-dev
  # oneDNN, the CPU convolutions: libdnnl2 links the OpenCL loader, and Debian's dnnl CMake config
  # requires OpenCL (headers and the libOpenCL.so link name)
  libdnnl-dev libdnnl2 ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers
)
limit_mib=40
out=.device
debs=$out/debs

command -v apt-get >/dev/null || { echo "gpu_pack: apt-get not found: run this on Debian 12" >&2; exit 1; }
. /etc/os-release
if [ "${VERSION_CODENAME:-}" != "bookworm" ]; then
  echo "gpu_pack: warning: this is ${PRETTY_NAME:-an unknown system}, not Debian 12 (bookworm);" \
       "the bundle will hold its versions" >&2
fi

# apt-get download needs the package lists; fetch them only when they are missing.
if ! apt-cache show --no-all-versions libtiff-dev >/dev/null 2>&1; then
  echo "gpu_pack: no package lists: running apt-get update"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
fi

rm -rf "$debs" "$out/MANIFEST.tsv"
mkdir -p "$debs"
echo "gpu_pack: downloading ${#packages[@]} packages into $debs"
# As root, apt's sandbox user cannot write here; the download is unsandboxed either way.
(cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "${packages[@]}" >/dev/null)

shopt -s nullglob
files=("$debs"/*.deb)
if [ "${#files[@]}" -ne "${#packages[@]}" ]; then
  echo "gpu_pack: expected ${#packages[@]} .deb files, got ${#files[@]}" >&2
  exit 1
fi

total=0
{
  printf '# pfce GPU-check bundle: %s, %s, packed %s from commit %s\n' \
    "${PRETTY_NAME:-unknown system}" "$(dpkg --print-architecture)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf 'package\tversion\tsize\tsha256\tfile\n'
  for p in "${packages[@]}"; do
    f=$(ls "$debs/${p}"_*.deb)
    v=$(dpkg-deb -f "$f" Version)
    s=$(stat -c %s "$f")
    total=$((total + s))
    printf '%s\t%s\t%s\t%s\t%s\n' "$p" "$v" "$s" "$(sha256sum "$f" | cut -d' ' -f1)" "$(basename "$f")"
  done
} > "$out/MANIFEST.tsv"

# The commit the bundle goes with (the device machine's copy of the tree may have no .git).
src=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && src="$src+changes"
echo "$src" > "$out/SOURCE"

mib=$(awk -v b="$total" 'BEGIN { printf "%.1f", b / 1048576 }')
if [ "$total" -gt $((limit_mib * 1048576)) ]; then
  echo "gpu_pack: the bundle is $mib MiB, over the $limit_mib MiB limit" >&2
  exit 1
fi

# The real Potsdam pairs (tests that read them skip without them): $PFCE_SHARED_DIR or ../shared.
shared=${PFCE_SHARED_DIR:-../shared}
rm -rf "$out/shared"
if [ -d "$shared/data/potsdam-kaggle-sample/patches" ]; then
  mkdir -p "$out/shared/data"
  cp -r "$shared/data/potsdam-kaggle-sample" "$out/shared/data/"
  sample="with the Potsdam sample from $shared"
else
  sample="without the Potsdam sample (not at $shared/data/potsdam-kaggle-sample; its tests will skip)"
fi

echo "gpu_pack: ${#packages[@]} packages, $mib MiB (limit $limit_mib MiB), $sample"
echo "gpu_pack: manifest $out/MANIFEST.tsv; carry [\".device\"] to the GPU machine and run: bash scripts/gpu_check.sh"
