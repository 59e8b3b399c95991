#!/usr/bin/env bash
# The GPU check (issue 10): one command that says whether every CUDA op works, is clean under the
# sanitizers, and how fast it is, within 9 minutes on the H200 and with at most 4 output files.
# From the .deb bundle of scripts/gpu_pack.sh (.device/, carried beside the sources) it unpacks a
# private prefix (never into /), finds nvcc and cuDNN, builds against that prefix and the CUDA
# toolkit only, proves nothing else was used, then runs, each stage under its own time limit:
#   a  environment: driver, GPU, compute capability, nvcc, cuDNN, compiler, OS, pfce doctor
#   b  every GPU test, required (PFCE_REQUIRE_GPU=1: a skip is a failure; CPU tests only in the
#      rehearsal: CI runs them); failing tests rerun once with CUDA_LAUNCH_BLOCKING=1
#      PFCE_CUDA_SYNC_CHECK=1 for a precise report
#   c  compute-sanitizer memcheck, racecheck, initcheck, synccheck over the GPU tests of our kernels
#   d  the benchmarks on cuda with their PyTorch/scipy peers (the Python with CUDA torch), JSON
#   e  pfce run experiments/gpu-check.toml --device cuda, its report
#   p  Nsight Compute's counters (DRAM throughput, occupancy, stall reasons) of every focal-loss
#      kernel variant, one call each (issue 13's loss target: why a kernel is below copy speed)
# Outputs in $OUT (gpu-check-out/ when unset): summary.txt (printed last, also when the check is
# stopped from outside), bench.json, report.html, logs.tar.gz (every log, the test XML, CMake's
# cache, the e2e report files). A stage cut short for time is not a failure: the summary names the
# --stages that run it again (build-gpu/ is reused while the machine stays warm). Give the device
# tool's run a timeout_s of at least the budget plus 60 s.
#
# --rehearse, on a machine without a GPU (Debian, after gpu_pack.sh): the same unpack, configure and
# build from the bundle with CMake restricted to it and the toolkit, then proves it: every path in
# CMakeCache.txt, every library ldd resolves and every header the compiler read lies in the bundle,
# the toolkit or the C/C++ tool chain (dpkg -S), and the dpkg-free unpacker gives the same tree. CPU
# tests run; PFCE_REQUIRE_GPU=1 must make GPU tests fail; the GPU stages are skipped, their
# plumbing run at toy size on the CPU. A dependency missing from the bundle fails here.
#
# Usage: bash scripts/gpu_check.sh [--rehearse] [--stages prepare,build,deps,a,b,c,d,e,p]
# Environment: OUT, PFCE_CHECK_BUDGET_S (default 540), PFCE_PYTHON, PFCE_CUDNN_ROOT, CUDA_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
self="$root/scripts/gpu_check.sh"
tools="$root/scripts/gpu_check_tools.py"

# ---- one stage, run by the driver below as: timeout LIMIT gpu_check.sh --stage NAME -----------------
# A stage's exit status: 0 pass, 3 skipped (it says why in its note), 4 partly done for lack of
# time (not a failure: --stages runs it again), anything else fail. Each
# writes one line for the summary to $notes/NAME.
note() { printf '%s\n' "$*" > "$notes/$stage"; }
say() { printf '== %s: %s\n' "$stage" "$*"; }
python3_ok() { [ -n "${HELPER_PY:-}" ]; }
# Seconds this stage has left (its driver kills it at STAGE_LIMIT), less a margin for its own
# bookkeeping; and that moment as a local time of day for ctest --stop-time (CMake 3.25 ignores
# the option when a zone is appended).
stage_left() { echo $(( ${STAGE_LIMIT:-600} - SECONDS - ${1:-10} )); }
stop_time() { date -d "+$(stage_left "${1:-10}") seconds" '+%H:%M:%S'; }
# Arrays do not cross into the stage processes: they travel as space-separated strings.
read -ra WHEEL_LIB_DIRS <<< "${WHEEL_LIB_DIRS_STR:-}"
read -ra RUN_DIRS <<< "${RUN_DIRS_STR:-}"

stage_prepare() {
  python3_ok || { note "no python3 for the helper script"; return 1; }
  "$HELPER_PY" "$tools" verify "$root/.device/debs"
  local stamp="$prefix/.manifest.sha256" want
  want=$(sha256sum "$root/.device/MANIFEST.tsv" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    note "bundle already unpacked in $prefix (same manifest)"
    return 0
  fi
  rm -rf "$prefix"
  mkdir -p "$prefix"
  local how
  if command -v dpkg-deb >/dev/null; then
    for f in "$root"/.device/debs/*.deb; do dpkg-deb -x "$f" "$prefix"; done
    how="dpkg-deb"
  else
    "$HELPER_PY" "$tools" unpack "$prefix" "$root"/.device/debs/*.deb
    how="the Python unpacker (no dpkg here)"
  fi
  "$HELPER_PY" "$tools" fixlinks "$prefix"
  echo "$want" > "$stamp"
  note "$(ls "$root"/.device/debs/*.deb | wc -l) packages unpacked into $prefix with $how ($(du -sm "$prefix" | cut -f1) MiB)"
}

stage_build() {
  [ -n "$NVCC" ] || { note "no nvcc found (PATH, CUDA_HOME, /usr/local/cuda*)"; return 1; }
  [ -n "$CUDNN_INC" ] || { note "no cuDNN found (torch's nvidia-cudnn wheel, the toolkit, /usr)"; return 1; }
  local gen=(-G Ninja)
  command -v ninja >/dev/null || gen=(-G "Unix Makefiles")
  # The binaries find every library through DT_RPATH (not RUNPATH, which libraries loaded by
  # libraries ignore): no LD_LIBRARY_PATH, which would also reach cmake, python and torch.
  local rpath
  rpath=$(IFS=';'; echo "${RUN_DIRS[*]}")
  say "configuring $build (prefix $prefix, toolkit $CUDA_ROOT, cuDNN $CUDNN_LIB, sm_$ARCH)"
  env -u CMAKE_PREFIX_PATH cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DPFCE_CUDA=ON -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_CUDA_ARCHITECTURES="$ARCH" \
    -DCMAKE_PREFIX_PATH="$prefix/usr;$prefix" -DCMAKE_IGNORE_PREFIX_PATH="$IGNORE_PREFIXES" \
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON \
    -DPFCE_CUDNN_INCLUDE="$CUDNN_INC" -DPFCE_CUDNN_LIB="$CUDNN_LIB" \
    -DCMAKE_BUILD_RPATH="$rpath" -DCMAKE_EXE_LINKER_FLAGS="-Wl,--disable-new-dtags" \
    || { note "CMake configure failed (see build.log)"; return 1; }
  local t=$SECONDS
  if ! cmake --build "$build" -j "$JOBS"; then
    # Ninja's last lines only say that a command failed: the first compiler errors, last.
    echo "---- first errors ----"
    grep -E -m 12 'error|undefined reference' "$logs/build.log" | grep -v '^---- first' || true
    note "build failed: $(grep -E -m 1 'error' "$logs/build.log" | cut -c1-200)"
    return 1
  fi
  note "configured and built with $JOBS jobs in $((SECONDS - t)) s (sm_$ARCH, $(basename "${gen[1]}"))"
}

stage_deps() {
  local allowed=("$prefix" "$CUDA_ROOT" "$CUDNN_DIR" "$root" "$build" "${WHEEL_LIB_DIRS[@]}")
  "$HELPER_PY" "$tools" check-cache "$build/CMakeCache.txt" "${allowed[@]}"
  local bins=("$build/pfce" "$build"/tests/test_* "$build"/bench/bench_*)
  # Our binaries as they run (their RPATH only), and the bundled libraries as they load under it.
  "$HELPER_PY" "$tools" check-ldd "${allowed[@]}" -- "${bins[@]}"
  mapfile -t libs < <(find "$prefix" -name '*.so*' -type f)
  LD_LIBRARY_PATH=$(IFS=:; echo "${RUN_DIRS[*]}") \
    "$HELPER_PY" "$tools" check-ldd "${allowed[@]}" -- "${libs[@]}"
  if [ "$MODE" = rehearse ]; then
    "$HELPER_PY" "$tools" check-headers "$build" "${allowed[@]}"
    # The GPU machine may lack dpkg: the fallback unpacker must give the very same tree.
    local py="$work/prefix-python"
    rm -rf "$py"
    "$HELPER_PY" "$tools" unpack "$py" "$root"/.device/debs/*.deb >/dev/null
    "$HELPER_PY" "$tools" fixlinks "$py" >/dev/null
    diff <(cd "$prefix" && find . ! -name .manifest.sha256 | sort) <(cd "$py" && find . | sort) \
      || { note "the Python unpacker's tree differs from dpkg-deb's"; return 1; }
    rm -rf "$py"
    note "CMake cache, ldd of every binary and bundled library, and every header read: bundle, toolkit or tool chain only; Python unpacker = dpkg-deb"
  else
    note "CMake cache and ldd of every binary and bundled library: bundle, toolkit or tool chain only"
  fi
}

stage_a() {
  set +o pipefail  # facts only: a tool that stops early (head) must not fail the stage
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  host: $(uname -n)  commit: $COMMIT"
    echo "mode: $MODE  cores: $JOBS  memory: $(free -g 2>/dev/null | awk '/Mem:/{print $2 " GiB"}')"
    grep -E '^(PRETTY_NAME|VERSION_ID)=' /etc/os-release 2>/dev/null || echo "no /etc/os-release"
    ldd --version 2>&1 | head -1
    echo "compiler: $(c++ --version 2>&1 | head -1)"
    echo "cmake: $(cmake --version | head -1); ninja: $(ninja --version 2>/dev/null || echo none)"
    echo "nvcc: ${NVCC:-not found}"; [ -n "$NVCC" ] && "$NVCC" --version 2>&1 | tail -2
    echo "CUDA toolkit: $CUDA_ROOT; architectures: $ARCH"
    echo "cuDNN: $CUDNN_VERSION, header $CUDNN_INC/cudnn.h, library $CUDNN_LIB"
    echo "python for peers: ${PFCE_PYTHON:-none}"
    [ -n "${PFCE_PYTHON:-}" ] && "$PFCE_PYTHON" -c 'import sys, torch; print("  python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "cudnn", torch.backends.cudnn.version())' 2>&1 | tail -1
    echo "compute-sanitizer: ${SANITIZER:-none} $( [ -n "${SANITIZER:-}" ] && "$SANITIZER" --version 2>&1 | tail -1)"
    echo "ncu: $(command -v ncu || echo none)"
    echo "run-time search path of pfce: $(readelf -d "$build/pfce" 2>/dev/null | grep -E 'RPATH|RUNPATH' | sed 's/.*\[//; s/\]//')"
  } | tee "$work/facts.txt"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi || true
    nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.max.sm --format=csv || true
  else
    echo "nvidia-smi: not found"
  fi
  if [ -x "$build/pfce" ]; then "$build/pfce" doctor || true; else echo "pfce not built: no doctor"; fi
  if [ "$MODE" = gpu ]; then
    [ -n "$GPU_NAME" ] || { note "no GPU visible (nvidia-smi)"; return 1; }
    note "$GPU_NAME sm_$ARCH, driver $DRIVER, $CUDNN_VERSION, $(c++ --version 2>&1 | head -1)"
  else
    note "no GPU (rehearsal); $CUDNN_VERSION; $(c++ --version 2>&1 | head -1)"
  fi
}

# Every test that runs CUDA code: its name says so (Gpu, Cuda, _cuda), all but the two-architecture
# compile check, which needs no GPU and a core for 25 s.
GPU_TESTS='Gpu|Cuda|_cuda'
GPU_TESTS_EXCLUDE='^cuda_device_info_compiles'

stage_b() {
  local xml="$logs/b-tests.xml" rc=0
  export PFCE_SHARED_DIR=$SHARED_DIR OMP_NUM_THREADS=$TEST_OMP_THREADS
  # Tests still running near the stage's end are stopped by ctest itself, so its report is kept
  # (and a third of the time is left for the rerun).
  local stop
  stop=$(stop_time $(( ${STAGE_LIMIT:-600} / 3 )))
  if [ "$MODE" = gpu ]; then
    # Only the GPU tests, all of them, required: the CPU tests run in CI on every commit, and here
    # they would take the GPU's minutes from the tests, sanitizers and benchmarks only it can run.
    PFCE_REQUIRE_GPU=1 ctest --test-dir "$build" -LE slow -R "$GPU_TESTS" -E "$GPU_TESTS_EXCLUDE" \
      -j "$TEST_JOBS" --timeout 300 --stop-time "$stop" --output-on-failure --output-junit "$xml" \
      || rc=$?
  else
    ctest --test-dir "$build" -LE slow -j "$TEST_JOBS" --timeout 900 --stop-time "$stop" \
      --output-on-failure --output-junit "$xml" || rc=$?
  fi
  local counts total ran
  counts=$("$HELPER_PY" "$tools" junit "$xml" 2>&1) || counts="no test results"
  counts=${counts%%$'\n'*}
  # Tests ctest stopped for time are not in its report: say how many of all ran.
  if [ "$MODE" = gpu ]; then
    total=$(ctest --test-dir "$build" -N -LE slow -R "$GPU_TESTS" -E "$GPU_TESTS_EXCLUDE" | awk '/Total Tests:/ {print $3}')
    counts="GPU tests: $counts"
  else
    total=$(ctest --test-dir "$build" -N -LE slow | awk '/Total Tests:/ {print $3}')
  fi
  ran=${counts#GPU tests: }
  ran=${ran%% *}
  [ -n "$total" ] && [ "$ran" != "$total" ] && counts="$counts; only $ran of $total tests ran (time)"
  [ "$MODE" = gpu ] && counts="$counts; CPU tests not run here (CI runs them)"
  local cut_short=0
  [ -n "$total" ] && [ "$ran" != "$total" ] && cut_short=1
  if [ "$rc" -ne 0 ]; then
    say "rerunning the failed tests with CUDA_LAUNCH_BLOCKING=1 PFCE_CUDA_SYNC_CHECK=1 (b-rerun.log)"
    CUDA_LAUNCH_BLOCKING=1 PFCE_CUDA_SYNC_CHECK=1 PFCE_REQUIRE_GPU=$([ "$MODE" = gpu ] && echo 1 || echo 0) \
      ctest --test-dir "$build" --rerun-failed -j "$TEST_JOBS" --timeout 300 --stop-time "$(stop_time 5)" \
      --output-on-failure > "$logs/b-rerun.log" 2>&1 || true
    note "$counts (failed tests rerun in b-rerun.log)"
    "$HELPER_PY" "$tools" junit "$xml" || true
    return 1
  fi
  if [ "$MODE" = rehearse ]; then
    # Without a GPU, requiring one must make the GPU tests fail, each saying why.
    local req="$logs/b-require-gpu.log"
    if PFCE_REQUIRE_GPU=1 ctest --test-dir "$build" -R '^(CudaBackend\.|CudaGraph\.|FocalLossGpu\.|TrainGpu\.|PrecisionGpu\.|Ops/.*_cuda)' \
        --output-on-failure > "$req" 2>&1; then
      note "$counts, but PFCE_REQUIRE_GPU=1 did not fail the GPU tests"
      return 1
    fi
    grep -q "PFCE_REQUIRE_GPU=1 but no GPU is usable" "$req" \
      || { note "$counts; PFCE_REQUIRE_GPU=1 failed without saying why"; return 1; }
    local gpu_total
    gpu_total=$(ctest --test-dir "$build" -N -LE slow -R "$GPU_TESTS" -E "$GPU_TESTS_EXCLUDE" | awk '/Total Tests:/ {print $3}')
    counts="$counts; with PFCE_REQUIRE_GPU=1 the GPU tests fail, naming the reason; the GPU run takes $gpu_total GPU tests first"
  fi
  note "$counts"
  [ "$cut_short" -eq 0 ] || return 4  # all that ran passed; the rest had no time
}

# The GPU tests of our own kernels (cuDNN's are not ours to check), at their small sizes.
SANITIZED=(
  "test_core CudaBackend.*"
  "test_no_alloc CudaBackend.UploadRing*"
  "test_upload CudaBackend.*"
  "test_focal_loss FocalLossGpu.*"
  "test_link LinkGpu.*"
  "test_metrics MetricsGpu.*"
  "test_optim OptimGpu.*"
  "test_nn_ops_gpu NnOpsGpu.BatchNorm*:NnOpsGpu.Relu*:NnOpsGpu.MaxPool*:NnOpsGpu.Concat*:NnOpsGpu.ReflectPad*:NnOpsGpu.Argmax*:NnOpsGpu.ConvolutionStaging*"
  "test_step_graph CudaGraph.*"
  "test_gpu_pipeline LinkDriverGpu.MixedSizes*"
  "test_bf16_storage Bf16StorageGpu.ActivationOps*"
  # Inference from a buffer pool whose blocks hold earlier activations: initcheck and memcheck
  # see an op reading what it did not write, or past its view of a block.
  "test_unet UNetGpu.InferenceGivesTheLogitsOfTheOpByOpNetwork"
  "test_backend_ops Ops/BackendOpsMatchReference.OnEveryShape/*_cuda-*conv2d*:*upconv2x2*"
  "test_backend_ops Ops/BackendOpsMatchReference.OnEveryShape/*_cuda_nhwc-*conv2d*:*upconv2x2*"
)
# racecheck checks shared memory only, and runs a test many times slower than memcheck (on the
# first H200 run it spent its 100 s on the focal-loss tests): the small tests of the kernels that
# use shared memory (grep __shared__ cuda/), smallest first.
RACECHECKED=(
  "test_metrics MetricsGpu.*"
  "test_focal_loss FocalLossGpu.DeterministicAndZeroWhenUnlabelled:FocalLossGpu.HugeLogitsMatchCpu"
  "test_nn_ops_gpu NnOpsGpu.BatchNormTrainInferBackwardMatchCpu:NnOpsGpu.ConvolutionStaging*"
  "test_optim OptimGpu.StepsNormAndClipMatchCpu"
  "test_backend_ops Ops/BackendOpsMatchReference.OnEveryShape/crf_loss_cuda"
  "test_backend_ops Ops/BackendOpsMatchReference.OnEveryShape/conv2d_backward_filter_cuda"
  "test_bf16_storage Bf16StorageGpu.ActivationOps*"
  "test_optim OptimGpu.EveryVariantOfTheModelStepMatchesCpu"
  "test_focal_loss FocalLossGpu.EveryVariantMatchesCpu"
)
# The selections `tool` runs, one per line.
selections_of() { if [ "$1" = racecheck ]; then printf '%s\n' "${RACECHECKED[@]}"; else printf '%s\n' "${SANITIZED[@]}"; fi; }

stage_c() {
  if [ "$MODE" = rehearse ]; then
    for entry in "${SANITIZED[@]}" "${RACECHECKED[@]}"; do
      set -- $entry
      [ -x "$build/tests/$1" ] || { note "no test binary $1"; return 1; }
      "$build/tests/$1" --gtest_list_tests --gtest_filter="$2" | grep -q '^  ' \
        || { note "filter $2 selects no test in $1"; return 1; }
    done
    note "skipped (no GPU); the ${#SANITIZED[@]} + ${#RACECHECKED[@]} (racecheck) test selections exist"
    return 3
  fi
  [ -n "$SANITIZER" ] || { note "compute-sanitizer not found"; return 1; }
  export PFCE_SHARED_DIR=$SHARED_DIR PFCE_REQUIRE_GPU=1
  # The four tools run side by side, each through the list; a run is cut short (and counted as a
  # failure) rather than letting the stage be killed before it reports.
  local tool pids=()
  for tool in memcheck racecheck initcheck synccheck; do
    (
      status=0
      while IFS= read -r entry; do
        set -- $entry
        rc=0
        # timeout 0 would mean no limit: a run that cannot finish in time is not started.
        t=$(stage_left 15)
        [ "$t" -ge 5 ] || { [ "$status" -eq 0 ] && status=4; break; }
        echo "### $tool $1 --gtest_filter=$2"
        timeout -k 5 "$t" "$SANITIZER" --tool "$tool" --error-exitcode 86 \
          --print-limit 100 "$build/tests/$1" --gtest_filter="$2" --gtest_brief=1 < /dev/null || rc=$?
        echo "### $tool $1: exit $rc"
        # 124: timeout stopped it (cut for time, not a finding); the rest of the list is not run.
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then [ "$status" -eq 0 ] && status=4; break; fi
        [ "$rc" -eq 0 ] || status=1
      done < <(selections_of "$tool")
      exit $status  # 0 clean, 1 errors or failures, 4 clean so far but cut for time
    ) > "$logs/c-$tool.log" 2>&1 &
    pids+=($!)
  done
  local i=0 failed=0 parts=()
  for tool in memcheck racecheck initcheck synccheck; do
    local rc=0 runs clean found cut errs part n
    n=$(selections_of "$tool" | wc -l)
    wait "${pids[$i]}" || rc=$?
    i=$((i + 1))
    runs=$(grep -c "^### $tool .*: exit" "$logs/c-$tool.log" || true)
    clean=$(grep -c "^### $tool .*: exit 0$" "$logs/c-$tool.log" || true)
    found=$(grep -c "^### $tool .*: exit 86$" "$logs/c-$tool.log" || true)
    cut=$(grep -Ec "^### $tool .*: exit (124|137)$" "$logs/c-$tool.log" || true)
    errs=$({ grep -Eo 'ERROR SUMMARY: [0-9]+' "$logs/c-$tool.log" || true; } | awk '{s += $3} END {print s + 0}')
    part="$tool $clean/$n clean"
    [ "$found" -gt 0 ] && part="$part, $errs errors in $found"
    [ $((runs - clean - found - cut)) -gt 0 ] && part="$part, $((runs - clean - found - cut)) test failures"
    [ $((runs - cut)) -lt "$n" ] && part="$part, $(( n - runs + cut )) not run or cut (time)"
    parts+=("$part")
    case $rc in
      0) ;;
      4) [ "$failed" -eq 0 ] && failed=4 ;;
      *) failed=1 ;;
    esac
  done
  # A sandboxed runtime (gVisor) has compute-sanitizer refuse the device (the device library's
  # KINDS.md): nothing was checked, which is a skip to say, not findings in our kernels.
  if grep -q "Device not supported" "$logs"/c-*.log; then
    note "skipped: compute-sanitizer does not support this machine's device (\"Device not supported\", c-<tool>.log): no sanitizer ran"
    return 3
  fi
  note "$(IFS=';'; echo "${parts[*]}" | sed 's/;/; /g') (c-<tool>.log)"
  return "$failed"
}

stage_d() {
  local bd="$work/bench" dev py="${PFCE_PYTHON:-python3}"
  rm -rf "$bd"
  mkdir -p "$bd"
  local -a runs
  if [ "$MODE" = gpu ]; then
    dev=cuda
    runs=(
      "loss 45 --device cuda --peer bench/peers/focal_torch.py"
      "train 90 --device cuda --precision tf32 --peer bench/peers/unet_torch.py"
      # bf16 convolutions: speedup_vs_torch_bf16_cl is the like-for-like ratio of this run.
      # With bf16_storage: activations stored in bf16 too, in both layouts, and the memory held.
      "train_bf16=train 90 --device cuda --precision bf16 --no-profile --peer bench/peers/unet_torch.py"
      # Issue 13's workload: 2400 masks of 300x300 at 500 points/class, D = 20, transfers counted.
      "link 60 --count 2400 --count512 0 --skip-kdtree --peer-count 5 --repeats 2 --peer bench/peers/link_seed.py"
      "data 30 --count 300 --repeats 1 --peer bench/peers/data_seed.py"
      # Last, so that if inductor's compile runs out of time only this number is lost.
      "train_compile=train 75 --device cuda --no-profile --peer-compile --peer bench/peers/unet_torch.py"
    )
  else
    dev=cpu
    runs=(
      "loss 120 --device cpu --shapes 2,6,64,64 --repeats 1 --warmup 0 --peer-repeats 1 --peer bench/peers/focal_torch.py"
      "train 120 --device cpu --batch 1 --size 64 --width 4 --depth 2 --warmup 0 --steps 1 --no-profile --peer bench/peers/unet_torch.py"
      "train_bf16=train 60 --device cpu --precision bf16 --batch 1 --size 64 --width 4 --depth 2 --warmup 0 --steps 1 --no-profile"
      "link 120 --count 8 --count512 0 --peer-count 2 --repeats 1 --peer bench/peers/link_seed.py"
      "data 120 --count 8 --size 64 --repeats 1 --peer bench/peers/data_seed.py"
    )
  fi
  local failed=() untimed=() r
  for r in "${runs[@]}"; do
    set -- $r
    # "label=binary" runs bench_<binary> under another name (its own JSON and log).
    local name=${1%%=*} bin=${1#*=} limit=$2 left
    shift 2
    left=$(stage_left 10)
    [ "$limit" -gt "$left" ] && limit=$left
    if [ "$limit" -lt 10 ]; then
      untimed+=("bench_$name")
      continue
    fi
    say "bench_$name $* (limit ${limit} s)"
    local brc=0
    (cd "$root" && timeout -k 5 "$limit" "$build/bench/bench_$bin" --json "$bd/$name.json" \
      --python "$py" "$@") > "$logs/d-bench_$name.log" 2>&1 || brc=$?
    # The status, in the log too: a benchmark may write its JSON and still fail (or be stopped).
    echo "bench_$name: exit $brc$([ "$brc" -eq 124 ] && echo " (stopped at its ${limit} s limit)")" \
      | tee -a "$logs/d-bench_$name.log"
    [ "$brc" -eq 0 ] || failed+=("bench_$name")
  done
  local device=${GPU_NAME:-cpu$JOBS}
  "$HELPER_PY" "$tools" merge-bench "$bd" "$out/bench.json" "$COMMIT" "${device// /-}"
  if [ "$MODE" = gpu ] && grep -q '"no CUDA device"' "$out/bench.json"; then
    failed+=("a benchmark found no CUDA device")
  fi
  if ((${#failed[@]})); then
    note "failed: ${failed[*]} (see d-bench_*.log)${untimed:+; no time left for ${untimed[*]}}; the rest in bench.json"
    return 1
  fi
  if ((${#untimed[@]})); then
    note "no time left for ${untimed[*]} (--stages d runs them again); the rest in bench.json"
    return 4
  fi
  if [ "$MODE" = rehearse ]; then
    note "skipped (no GPU); the four benchmarks and their peers ran at toy size on the CPU"
    return 3
  fi
  note "${#runs[@]} benchmark runs on $dev, peers run by ${PFCE_PYTHON:-python3 (no Python whose torch sees CUDA!)} -> bench.json"
}

stage_e() {
  local run="$work/e2e" suite="$root/experiments/gpu-check.toml" dev=cuda
  rm -rf "$run"
  if [ "$MODE" = rehearse ]; then
    # The same four experiment files at toy size, on the CPU.
    dev=cpu
    suite="$work/gpu-check-toy.toml"
    cat > "$suite" <<EOF
[suite]
name = "gpu-check-toy"
description = "experiments/gpu-check.toml at toy size, for the rehearsal"
experiments = ["$root/experiments/dense.toml", "$root/experiments/e4-500-linked.toml", "$root/experiments/e5-500-edge.toml", "$root/experiments/e8-500-linked-crf.toml"]
grid_images = 2
[data]
source = "synthetic"
synthetic_count = 20
synthetic_size = 64
[model]
width = 4
depth = 2
[override.run]
epochs = 1
batch_size = 4
EOF
  fi
  local rc=0 t
  t=$(stage_left 10)
  [ "$t" -ge 20 ] || { note "no time left to run the suite"; return 4; }
  timeout -k 5 "$t" "$build/pfce" run "$suite" --device "$dev" --out "$run" --force || rc=$?
  if [ "$rc" -ne 0 ]; then
    note "pfce run $([ "$rc" -eq 124 ] && echo "timed out" || echo "failed (exit $rc)") (see e-run.log)"
    return 1
  fi
  [ -f "$run/report.html" ] || { note "pfce run wrote no report.html"; return 1; }
  cp "$run/report.html" "$out/report.html"
  mkdir -p "$logs/e2e"
  (cd "$run" && find . \( -name 'report.*' -o -name 'results.*' -o -name '*.svg' -o -name 'grid.png' \
      -o -name metrics.jsonl -o -name '*.log' \) -exec cp --parents {} "$logs/e2e/" \;)
  local results
  results=$("$HELPER_PY" "$tools" results "$run/results.csv" 2>&1) || results="no results.csv"
  if [ "$MODE" = rehearse ]; then
    note "skipped (no GPU); the suite ran at toy size on the CPU: $results"
    return 3
  fi
  note "$results -> report.html"
}

# Nsight Compute on bench_loss at issue 13's shape, one call of each variant: the counters that say
# what holds a kernel below the copy's bandwidth. The full report is p-ncu-loss.txt; the note and
# p-ncu-summary.txt give each kernel's time, DRAM throughput and achieved occupancy.
stage_p() {
  if [ "$MODE" != gpu ]; then note "skipped (no GPU): Nsight Compute needs one"; return 3; fi
  [ -n "$NCU" ] || { note "skipped: no ncu in the toolkit ($CUDA_ROOT)"; return 3; }
  local t rc=0 report="$logs/p-ncu-loss.txt"
  t=$(stage_left 10)
  [ "$t" -ge 20 ] || { note "no time left for ncu"; return 4; }
  # --calls 1 --repeats 1 --warmup 0: one call of each variant, and two more of the default (the
  # first touch, and its time for the peer): 13 kernel launches, below --launch-count.
  # --clock-control none: the clocks are left as they are (the device library's METHOD.md).
  (cd "$root" && timeout -k 5 "$t" "$NCU" --clock-control none --kernel-name regex:focal \
    --launch-count 24 \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
    --section MemoryWorkloadAnalysis --section SchedulerStats \
    "$build/bench/bench_loss" --device cuda --shapes 16,6,512,512 --repeats 1 --warmup 0 \
    --calls 1 --json "$work/p-loss.json") > "$report" 2>&1 || rc=$?
  if grep -q "ERR_NVGPUCTRPERM" "$report"; then
    note "skipped: this user may not read the GPU's counters (ERR_NVGPUCTRPERM, see p-ncu-loss.txt)"
    return 3
  fi
  # A sandboxed runtime (gVisor) gives ncu no counters at all (KINDS.md of the device library).
  if grep -q "Failed to initialize the profiler\|LibraryNotLoaded" "$report"; then
    note "skipped: ncu cannot read the counters on this machine (see p-ncu-loss.txt)"
    return 3
  fi
  "$HELPER_PY" "$tools" ncu-summary "$report" > "$logs/p-ncu-summary.txt" 2>&1 || true
  if [ "$rc" -eq 124 ]; then note "ncu stopped at the stage's limit (p-ncu-loss.txt has what ran)"; return 4; fi
  [ "$rc" -eq 0 ] || { note "ncu failed (exit $rc, see p-ncu-loss.txt)"; return 1; }
  note "$(head -c 280 "$logs/p-ncu-summary.txt" | tr '\n' ';')"
}

if [ "${1:-}" = "--stage" ]; then
  stage=$2
  "stage_$stage"
  exit $?
fi

# ---- the driver ------------------------------------------------------------------------------------
MODE=gpu
stages="prepare,build,deps,a,b,c,d,e,p"
while [ $# -gt 0 ]; do
  case $1 in
    --rehearse) MODE=rehearse ;;
    --stages) stages=$2; shift ;;
    -h|--help) sed -n '2,30p' "$self"; exit 0 ;;
    *) echo "gpu_check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

start=$SECONDS
# Stage limits are set for the H200 machine (16 cores); the rehearsal runs on small shared machines.
if [ "$MODE" = gpu ]; then budget=${PFCE_CHECK_BUDGET_S:-540}; slow=1; else budget=${PFCE_CHECK_BUDGET_S:-14400}; slow=12; fi
work="$root/gpu-check-work"
prefix="$work/prefix"
logs="$work/logs"
notes="$work/notes"
out=${OUT:-$root/gpu-check-out}
build="$root/build-gpu"
[ "$MODE" = rehearse ] && build="$root/build-rehearse"
rm -rf "$logs" "$notes"
mkdir -p "$logs" "$notes" "$out"
rm -f "$out/summary.txt" "$out/bench.json" "$out/report.html" "$out/logs.tar.gz"
[ -d "$root/.device/debs" ] || { echo "gpu_check: no .device/debs: run bash scripts/gpu_pack.sh first (on Debian)" >&2; exit 2; }

HELPER_PY=$(command -v python3 || true)
[ -z "$HELPER_PY" ] && [ -x /opt/torch/.venv/bin/python3 ] && HELPER_PY=/opt/torch/.venv/bin/python3
# The device machine's copy of the tree may have no .git: then the commit gpu_pack.sh recorded.
COMMIT=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || true)
[ -z "$COMMIT" ] && [ -f "$root/.device/SOURCE" ] && COMMIT="$(cat "$root/.device/SOURCE") (as packed)"
COMMIT=${COMMIT:-unknown}
JOBS=$(nproc)

# nvcc: $CUDACXX, PATH, $CUDA_HOME, /usr/local/cuda, the newest /usr/local/cuda-*.
NVCC=""
for c in "${CUDACXX:-}" "$(command -v nvcc || true)" "${CUDA_HOME:-/nonexistent}/bin/nvcc" \
         /usr/local/cuda/bin/nvcc $(ls -d /usr/local/cuda-*/bin/nvcc 2>/dev/null | sort -rV); do
  [ -n "$c" ] && [ -x "$c" ] && { NVCC=$c; break; }
done
CUDA_ROOT=""
[ -n "$NVCC" ] && CUDA_ROOT=$(cd "$(dirname "$NVCC")/.." && pwd)
NCU=""
for c in "$(command -v ncu || true)" "$CUDA_ROOT/bin/ncu"; do
  [ -n "$c" ] && [ -x "$c" ] && { NCU=$c; break; }
done
SANITIZER=""
for c in "$(command -v compute-sanitizer || true)" "$CUDA_ROOT/bin/compute-sanitizer" \
         "$CUDA_ROOT/compute-sanitizer/compute-sanitizer"; do
  [ -n "$c" ] && [ -x "$c" ] && { SANITIZER=$c; break; }
done
# CMake and ninja may live only in torch's environment.
for d in /opt/torch/.venv/bin "${HOME:-/nonexistent}/.local/bin"; do
  command -v cmake >/dev/null || { [ -x "$d/cmake" ] && PATH="$PATH:$d"; }
  command -v ninja >/dev/null || { [ -x "$d/ninja" ] && PATH="$PATH:$d"; }
done
export PATH

# Pythons that might hold torch (and the cuDNN wheel): $PFCE_PYTHON, torch's venv, PATH.
pythons=()
for c in "${PFCE_PYTHON:-}" /opt/torch/.venv/bin/python3 "$(command -v python3 || true)" /usr/bin/python3; do
  [ -n "$c" ] && [ -x "$c" ] && [[ " ${pythons[*]} " != *" $c "* ]] && pythons+=("$c")
done
# The peers' interpreter: on the GPU one whose torch sees CUDA; in the rehearsal any with torch,
# else any with numpy (the peers then record their error and the benchmarks go on).
PEER_PY=""
if [ "$MODE" = gpu ]; then probe='import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; else probe='import torch'; fi
for c in "${pythons[@]}"; do "$c" -c "$probe" >/dev/null 2>&1 && { PEER_PY=$c; break; }; done
if [ -z "$PEER_PY" ] && [ "$MODE" = rehearse ]; then
  for c in "${pythons[@]}"; do "$c" -c 'import numpy' >/dev/null 2>&1 && { PEER_PY=$c; break; }; done
fi
[ -n "$PEER_PY" ] && export PFCE_PYTHON=$PEER_PY

# cuDNN: $PFCE_CUDNN_ROOT, the nvidia-cudnn wheel of any Python above, the toolkit, the system.
site_dirs=()
for c in "${pythons[@]}"; do
  while IFS= read -r d; do [ -n "$d" ] && site_dirs+=("$d"); done < <("$c" -c \
    'import site, sys; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null || true)
done
site_dirs+=($(ls -d /opt/torch/.venv/lib/python3*/site-packages 2>/dev/null || true))
cudnn_candidates=("${PFCE_CUDNN_ROOT:-/nonexistent}")
for d in "${site_dirs[@]}"; do cudnn_candidates+=("$d/nvidia/cudnn"); done
cudnn_candidates+=("$CUDA_ROOT" "$CUDA_ROOT/targets/x86_64-linux" /usr /usr/local)
CUDNN_INC="" CUDNN_LIB="" CUDNN_DIR="" CUDNN_VERSION="not found"
for d in "${cudnn_candidates[@]}"; do
  for inc in "$d/include" "$d/include/x86_64-linux-gnu"; do
    [ -f "$inc/cudnn.h" ] || continue
    for lib in "$d"/lib/libcudnn.so "$d"/lib64/libcudnn.so "$d"/lib/x86_64-linux-gnu/libcudnn.so \
               "$d"/lib/libcudnn.so.9 "$d"/lib64/libcudnn.so.9 "$d"/lib/x86_64-linux-gnu/libcudnn.so.9; do
      [ -e "$lib" ] && { CUDNN_INC=$inc; CUDNN_LIB=$lib; CUDNN_DIR=$d; break 3; }
    done
  done
done
if [ -n "$CUDNN_INC" ]; then
  v=$(awk '/#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) /{printf "%s%s", sep, $3; sep="."}' "$CUDNN_INC/cudnn_version.h" 2>/dev/null || true)
  CUDNN_VERSION="cuDNN ${v:-unknown} ($CUDNN_DIR)"
fi
# Other NVIDIA wheels (cuBLASLt and NVRTC, which cuDNN loads at run time) as a last resort.
WHEEL_LIB_DIRS=()
for d in "${site_dirs[@]}"; do
  for l in "$d"/nvidia/*/lib; do [ -d "$l" ] && WHEEL_LIB_DIRS+=("$l"); done
done

# The GPU, and the architecture to build for (its compute capability; 90 without one).
GPU_NAME="" DRIVER="" ARCH=90
if [ "$MODE" = gpu ] && command -v nvidia-smi >/dev/null; then
  q=$(nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader 2>/dev/null | head -1 || true)
  if [ -n "$q" ]; then
    GPU_NAME=$(echo "$q" | cut -d, -f1 | xargs)
    ARCH=$(echo "$q" | cut -d, -f2 | tr -d ' .')
    DRIVER=$(echo "$q" | cut -d, -f3 | xargs)
  fi
  [[ "$ARCH" =~ ^[0-9]+$ ]] || ARCH=90
fi

# CMake may search only the bundle and the toolkit: the system prefixes are ignored (unless the
# toolkit itself lives in one of them).
IGNORE_PREFIXES=""
for p in /usr /usr/local / /opt /opt/conda "${HOME:-/nonexistent}/.local"; do
  [ "$(realpath -m "$p")" = "$(realpath -m "${CUDA_ROOT:-/nonexistent}")" ] && continue
  IGNORE_PREFIXES="${IGNORE_PREFIXES:+$IGNORE_PREFIXES;}$p"
done

# Where the binaries look for libraries at run time: the bundle first, then cuDNN (before the
# toolkit, which may hold another libcudnn.so.9 than the one whose headers we compiled against),
# the toolkit and the wheels (baked in as RPATH by the build stage).
RUN_DIRS=("$prefix/usr/lib/x86_64-linux-gnu" "$prefix/usr/lib/x86_64-linux-gnu/openblas-pthread"
          "$prefix/lib/x86_64-linux-gnu")
for d in "$(dirname "${CUDNN_LIB:-/nonexistent/x}")" "$CUDA_ROOT/lib64" "$CUDA_ROOT/lib" \
         "$CUDA_ROOT/targets/x86_64-linux/lib" "${WHEEL_LIB_DIRS[@]}"; do
  [ -d "$d" ] && [[ " ${RUN_DIRS[*]} " != *" $d "* ]] && RUN_DIRS+=("$d")
done
SHARED_DIR="$root/.device/shared"
[ -d "$SHARED_DIR" ] || SHARED_DIR="$root/../shared"
# Tests run $JOBS at a time: stage b keeps each one's OpenMP team small (benchmarks use every core).
TEST_OMP_THREADS=$(( JOBS >= 8 ? 2 : 1 ))
# Tests name their scratch directories after themselves under $TMPDIR: private to this run.
TMPDIR="$work/tmp"
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR"
export MODE root work prefix logs notes out build JOBS COMMIT NVCC CUDA_ROOT SANITIZER NCU CUDNN_INC \
  CUDNN_LIB CUDNN_DIR CUDNN_VERSION GPU_NAME DRIVER ARCH IGNORE_PREFIXES SHARED_DIR HELPER_PY \
  TEST_OMP_THREADS TMPDIR
export WHEEL_LIB_DIRS_STR="${WHEEL_LIB_DIRS[*]}" RUN_DIRS_STR="${RUN_DIRS[*]}"

order=(prepare build deps a b c d e p)
declare -A title=([prepare]="prepare" [build]="build" [deps]="isolation" [a]="a environment"
  [b]="b tests" [c]="c sanitizers" [d]="d benchmarks" [e]="e end-to-end" [p]="p ncu profile")
# Limits in seconds on the H200, and the least time worth starting a stage with.
declare -A limit=([prepare]=60 [build]=300 [deps]=30 [a]=20 [b]=150 [c]=150 [d]=200 [e]=120 [p]=90)
declare -A least=([prepare]=10 [build]=60 [deps]=10 [a]=5 [b]=40 [c]=40 [d]=40 [e]=45 [p]=30)
# Stages that cannot run after a failure of one before them.
declare -A needs=([build]=prepare [deps]=build [a]=prepare [b]=build [c]=build [d]=build [e]=build [p]=build)
reserve=15  # for the summary and the log tarball
# A stage's result is a file (stages may run in the background): "status<TAB>seconds".
status_dir="$work/status"
rm -rf "$status_dir"
mkdir -p "$status_dir"
set_status() { printf '%s\t%s\n' "$2" "$3" > "$status_dir/$1"; }
status_of() { [ -f "$status_dir/$1" ] && cut -f1 "$status_dir/$1" || echo "not run"; }
took_of() { [ -f "$status_dir/$1" ] && cut -f2 "$status_dir/$1" || echo 0; }

run_stage() {
  local s=$1 lim left rc=0 st
  if [[ ",$stages," != *",$s,"* ]]; then set_status "$s" "not run (--stages)" 0; return; fi
  local dep=${needs[$s]:-}
  if [ -n "$dep" ] && [[ "$(status_of "$dep")" == fail* ]]; then
    set_status "$s" "skipped ($dep failed)" 0; return
  fi
  left=$(( budget - (SECONDS - start) - reserve ))
  lim=$(( ${limit[$s]} * slow ))
  [ "$lim" -gt "$left" ] && lim=$left
  if [ "$lim" -lt "${least[$s]}" ]; then
    set_status "$s" "skipped-for-time" 0
    echo "skipped: ${left} s left" > "$notes/$s"
    return
  fi
  local t=$SECONDS log="$logs/$s.log"
  [ "$s" = e ] && log="$logs/e-run.log"
  echo "gpu_check: ${title[$s]} (limit ${lim} s) ..."
  # In the background and waited for, so that a TERM from outside runs the trap at once (bash defers
  # a trap until a foreground command ends); timeout leads its own process group, which the trap
  # stops through the pid file.
  STAGE_LIMIT=$lim timeout -k 15 "$lim" bash "$self" --stage "$s" > "$log" 2>&1 &
  echo $! > "$status_dir/$s.pid"
  wait $! || rc=$?
  rm -f "$status_dir/$s.pid"
  case $rc in
    0) st="pass" ;;
    3) st="skipped" ;;
    4) st="partial (time)" ;;
    124|137) st="fail (timed out at ${lim} s)" ;;
    *) st="fail" ;;
  esac
  set_status "$s" "$st" $((SECONDS - t))
  echo "gpu_check: ${title[$s]}: $st in $((SECONDS - t)) s"
  if [[ "$st" == fail* ]]; then tail -n 15 "$log" | sed 's/^/    /'; fi
}

# ---- the summary and the outputs (also when the check is stopped from outside) ------------------------
finish() {
  local failed=0 cut=() s n st made
  # Stopped from outside: the stages that were running or still to run did not finish.
  if [ -n "${stopped:-}" ]; then
    for s in "${order[@]}"; do
      [[ ",$stages," == *",$s,"* ]] && [ ! -f "$status_dir/$s" ] && set_status "$s" "stopped (from outside)" 0
    done
  fi
  {
    echo "pfce GPU check ($MODE) at commit $COMMIT, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n)"
    if [ "$MODE" = gpu ]; then
      echo "device: ${GPU_NAME:-none visible} sm_$ARCH, driver ${DRIVER:-?}; $CUDNN_VERSION"
    else
      echo "rehearsal without a GPU: CMake restricted to the bundle ($prefix) and the toolkit ($CUDA_ROOT)"
    fi
    printf '%-15s %-28s %6s  %s\n' stage status time notes
    for s in "${order[@]}"; do
      n=$(head -c 300 "$notes/$s" 2>/dev/null | head -1 || true)
      st=$(status_of "$s")
      printf '%-15s %-28s %5ss  %s\n' "${title[$s]}" "$st" "$(took_of "$s")" "$n"
      [[ "$st" == fail* ]] && failed=1
      [[ "$st" == partial* || "$st" == skipped-for-time || "$st" == stopped* ]] && cut+=("$s")
    done
    if [ -f "$out/bench.json" ]; then
      [ "$MODE" = gpu ] && echo "key ratios (bench.json):" || echo "key ratios (bench.json, toy size on the CPU: plumbing only):"
      "$HELPER_PY" "$tools" ratios "$out/bench.json" 2>&1 | head -48 || true
    fi
    made=$(cd "$out" && ls summary.txt bench.json report.html 2>/dev/null | tr '\n' ' ' || true)
    echo "total $((SECONDS - start)) s (budget $budget s); outputs in $out: ${made}logs.tar.gz"
    if [ -n "${stopped:-}" ]; then
      failed=1
      echo "OVERALL: STOPPED from outside, incomplete (not done: ${cut[*]}; logs.tar.gz has what ran)"
    elif [ "$failed" -ne 0 ]; then
      echo "OVERALL: FAIL (logs.tar.gz: <stage>.log, b-tests.xml, c-*.log)"
    elif ((${#cut[@]})); then
      echo "OVERALL: PASS so far; cut for time: ${cut[*]} (run again at once: --stages $(IFS=,; echo "${cut[*]}"))"
    else
      echo "OVERALL: PASS"
    fi
  } > "$out/summary.txt"
  cp "$out/summary.txt" "$logs/summary.txt"
  [ -f "$build/CMakeCache.txt" ] && cp "$build/CMakeCache.txt" "$logs/CMakeCache.txt"
  [ -f "$work/facts.txt" ] && cp "$work/facts.txt" "$logs/facts.txt"
  "$HELPER_PY" "$tools" pack-logs "$logs" "$out/logs.tar.gz" 15 > /dev/null || echo "gpu_check: could not pack the logs" >&2
  cat "$out/summary.txt"
  return "$failed"
}
# A check stopped from outside (the device tool's limit, Ctrl-C) stops its running stages (each a
# process group led by its timeout) and still leaves its summary and logs.
stop_stages() {
  local f pid
  for f in "$status_dir"/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  # The sanitizer and benchmark runs inside a stage lead groups of their own: stop those too.
  pkill -TERM -f "$build/(tests|bench)/" 2>/dev/null || true
  sleep 2
}
trap 'stopped=1; echo "gpu_check: stopped from outside"; stop_stages; finish || true; exit 143' TERM INT

for s in prepare build deps a; do run_stage "$s"; done
# The sanitizers run after the tests, not beside them: on the first H200 run (2026-12-04) the four
# sanitized processes time-sliced the GPU with the tests, which then took 10x their time alone
# (6 s became 60 s) and ran out of stage time with 85 of 133 tests not started.
export TEST_JOBS=$JOBS
run_stage b
run_stage c
for s in d e p; do run_stage "$s"; done

trap - TERM INT
rc=0
finish || rc=$?
exit "$rc"
