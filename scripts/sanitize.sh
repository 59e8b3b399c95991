#!/usr/bin/env bash
# The CPU test suite under AddressSanitizer + UndefinedBehaviorSanitizer, then every fuzz target
# (TIFF, PNG, JPEG, TOML, checkpoint readers) for a bounded time under the same sanitizers.
# Builds into build-sanitize/ (CPU only: the sanitizers do not see inside CUDA kernels, and
# compute-sanitizer covers those on a GPU machine, see scripts/gpu_check.sh).
#   scripts/sanitize.sh [--fuzz-seconds N] [--libfuzzer]   (--libfuzzer: clang + libFuzzer)
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds=30
libfuzzer=OFF
while (($#)); do
  case $1 in
    --fuzz-seconds) fuzz_seconds=$2; shift 2 ;;
    --libfuzzer) libfuzzer=ON; shift ;;
    *) echo "sanitize: unknown argument $1" >&2; exit 2 ;;
  esac
done
build=build-sanitize
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
compilers=()
if [ "$libfuzzer" = ON ]; then
  command -v clang++ >/dev/null || { echo "sanitize: --libfuzzer needs clang++" >&2; exit 2; }
  compilers=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
  build=build-sanitize-clang
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPFCE_CUDA=OFF \
  -DPFCE_BUILD_BENCH=OFF -DPFCE_FUZZ_LIBFUZZER="$libfuzzer" -DPFCE_FUZZ_SECONDS="$fuzz_seconds" \
  "${compilers[@]}" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
cmake --build "$build" -j "$(nproc)"
# Leaks, bad accesses and undefined behaviour all fail the run; OpenMP's thread pool is not a leak.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp
echo "sanitize: CPU tests under ASan + UBSan"
ctest --test-dir "$build" -LE slow --output-on-failure -j "$(nproc)" --timeout 1800
echo "sanitize: fuzz targets, $fuzz_seconds s each"
ctest --test-dir "$build" -L fuzz --output-on-failure --timeout $((fuzz_seconds * 4 + 120))
echo "sanitize: passed"
