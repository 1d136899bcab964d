#!/usr/bin/env bash
# The GPU check of the CUDA backend, run on the GPU machine from a bundle built elsewhere
# (tools/build-gpu-bundle.sh; nothing is built here), in one device call:
#
#   OUT=DIR tools/gpu-check.sh [GPU_CARRY_DIR]   (default: gpu-carry next to this script's folder)
#
# A session has 15 device minutes in all, the machine's start included, so everything runs in
# one call of under 9 minutes even when every stage runs to its time limit (about 3 to 4 when
# they pass), the independent
# stages side by side (the machine has 16 cores; most of their time is NVRTC compiling), then
# the benchmark alone. Stages (KILN_GPU_STAGES picks some, comma-separated; all by default):
#   wgmma        first, alone: the Hopper matmul's device tests (CudaWgmma.*). If they fail or
#                hang, the later stages run with KILN_CUDA_MMA=sync and the benchmark leaves
#                the wgmma row out, so one broken kernel costs nothing else.
#   tests        the other CUDA device tests (kiln_cuda_tests, GTEST_FILTER, default Cuda*),
#                in 4 shards; a skipped GPU test counts as a failure here
#   random       CUDA random numbers against PyTorch's, bit for bit (tools/gpu_random_check.py)
#   frontend     the frontend suite's PyTorch-checked op tables and gradient checks with the
#                default device cuda (KILN_TEST_DEVICE), in 8 shards
#   conformance  the shared conformance programs, kiln vs live PyTorch, both with the default
#                device cuda (tools/gpu_conformance.py)
#   bench        alone, last: kiln-cuda-bench (fused chain vs device copy, softmax with and
#                without row chains, matmul vs cuBLAS), the same workloads on PyTorch (eager
#                and torch.compile), a summary
# Every stage runs even when another failed; the script then prints a table of the stages and
# exits nonzero naming the failed ones. Outputs (logs, JSON, summary.txt, stages.txt) go to $OUT
# (or a temporary folder); the kernel cache goes to $OUT/kernel-cache.
set -uo pipefail  # no -e: every stage runs, failures are collected
root=$(cd "$(dirname "$0")/.." && pwd)
carry=$(cd "${1:-$root/gpu-carry}" && pwd)
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
start=$SECONDS
stages_file=$out/stages.txt
: > "$stages_file"
# record STAGE STATUS SECONDS [NOTE]
record() { printf '%-12s %-6s %5ss  %s\n' "$1" "$2" "$3" "${4:-}" >> "$stages_file"; }

echo "== nvidia-smi"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv ||
  { record nvidia-smi FAIL 0 "no GPU"; cat "$stages_file"; exit 1; }

# kiln's binaries find their libraries in the bundle; python does not see them. The bundled
# libstdc++ (lib-cxx/, which needs glibc 2.36) is used only when the system's lacks a symbol
# version the binaries need.
libs=$carry/lib
need=$(cat "$carry/GLIBCXX_NEEDED" 2>/dev/null || echo GLIBCXX_3.4.30)
sys_cxx=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
if [[ -z $sys_cxx ]] || ! grep -aq "$need" "$sys_cxx"; then
  echo "gpu-check: using the bundled libstdc++ (system: ${sys_cxx:-none}, needed: $need)"
  libs=$libs:$carry/lib-cxx
fi
run_kiln() { env LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
export KILN_CACHE_DIR="$out/kernel-cache"
export PYTHONUNBUFFERED=1

# NVRTC: the toolkit's, else the one in PyTorch's wheels.
if ! ldconfig -p 2>/dev/null | grep -q 'libnvrtc.so' && [[ ! -e /usr/local/cuda/lib64/libnvrtc.so.13 ]]; then
  nvrtc=$(python3 - <<'PY' 2>/dev/null || true
import glob, os, site
for d in site.getsitepackages():
    for p in glob.glob(os.path.join(d, "nvidia", "**", "libnvrtc.so*"), recursive=True):
        if "builtins" not in p:
            print(p); raise SystemExit
PY
)
  [[ -n $nvrtc ]] && export KILN_NVRTC_PATH=$nvrtc
fi
# cuBLAS for the benchmark's reference: the toolkit's, else PyTorch's.
if [[ -z ${KILN_CUBLAS_PATH:-} ]]; then
  cublas=$(ls /usr/local/cuda/lib64/libcublas.so.1[0-9]* 2>/dev/null | head -1 || true)
  if [[ -z $cublas ]]; then
    cublas=$(python3 -c 'import glob,os,site;print(next(iter(p for d in site.getsitepackages() for p in glob.glob(os.path.join(d,"nvidia","**","libcublas.so*"),recursive=True) if "Lt" not in p), ""))' 2>/dev/null || true)
  fi
  [[ -n $cublas ]] && export KILN_CUBLAS_PATH=$cublas
fi

stages=",${KILN_GPU_STAGES:-wgmma,tests,random,frontend,conformance,bench},"
want() { [[ $stages == *",$1,"* ]]; }

# gtest_stage NAME SHARDS LIMIT BINARY FILTER [ENV...]: a GoogleTest binary in SHARDS processes
# at once, each under LIMIT seconds; logs NAME.N.log, JSON NAME.N.json. Returns nonzero on any
# failure (the JSON summary below says which tests).
gtest_stage() {
  local name=$1 shards=$2 limit=$3 binary=$4 filter=$5
  shift 5
  local pids=() i status=0
  for ((i = 0; i < shards; i++)); do
    run_kiln env "$@" GTEST_TOTAL_SHARDS="$shards" GTEST_SHARD_INDEX="$i" \
      timeout -k 10 "$limit" "$binary" --gtest_filter="$filter" \
      --gtest_output="json:$out/$name.$i.json" > "$out/$name.$i.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { status=1; echo "gpu-check: $name shard $i exited nonzero" \
      "(124: timed out; the last test it started: $(grep '^\[ RUN' "$out/$name.$i.log" | tail -1))"; }
  done
  return $status
}

# gtest_summary NAME ALLOWED_SKIPS: counts over NAME.*.json; fails on failures, on skips not
# allowed, and on a shard that wrote no JSON (killed).
gtest_summary() {
  python3 - "$out" "$1" "$2" <<'PY'
import glob, json, os, sys
out, name, allowed = sys.argv[1], sys.argv[2], set(filter(None, sys.argv[3].split(",")))
tests, missing = [], []
for log in sorted(glob.glob(os.path.join(out, f"{name}.*.log"))):
    js = log[:-4] + ".json"
    if not os.path.exists(js):
        missing.append(os.path.basename(log)); continue
    r = json.load(open(js))
    tests += [dict(t, suite=s["name"]) for s in r["testsuites"] for t in s["testsuite"]]
full = lambda t: t["suite"] + "." + t["name"]
skipped = [full(t) for t in tests if t.get("result") == "SKIPPED"]
failed = [full(t) for t in tests if t.get("failures")]
bad_skips = [n for n in skipped if not any(n.startswith(a) or n.endswith("." + a) for a in allowed)]
ran = len(tests) - len(skipped)
print(f"{name}: {ran} ran, {ran - len(failed)} passed, {len(failed)} failed, {len(skipped)} skipped"
      + (f"; no result from {missing} (killed)" if missing else ""))
for n in failed[:40]: print(f"  FAILED {n}")
for n in bad_skips: print(f"  SKIPPED (not allowed here) {n}")
sys.exit(1 if failed or bad_skips or missing or not tests else 0)
PY
}

# finish STAGE STATUS T0 [NOTE]
finish() { record "$1" "$([[ $2 -eq 0 ]] && echo pass || echo FAIL)" $((SECONDS - $3)) "${4:-}"; }

if want wgmma; then
  echo "== wgmma device tests (alone, first)"
  t0=$SECONDS
  gtest_stage wgmma 1 90 "$carry/bin/kiln_cuda_tests" 'CudaWgmma.*'
  gtest_summary wgmma "" | tee "$out/wgmma.txt"
  status=${PIPESTATUS[0]}
  if [[ $status -ne 0 ]]; then
    export KILN_CUDA_MMA=sync KILN_BENCH_SKIP_BEST=1
    note="later stages ran with KILN_CUDA_MMA=sync"
  fi
  finish wgmma "$status" "$t0" "${note:-}"
fi

# The independent stages side by side.
pids=()
names=()
# gtest_job NAME SHARDS BINARY FILTER ALLOWED_SKIPS [ENV...]: a sharded GoogleTest stage in the
# background (200 s a shard), its summary in NAME.txt and its line in the stage table.
gtest_job() {
  local name=$1 shards=$2 binary=$3 filter=$4 allowed=$5
  shift 5
  (
    t0=$SECONDS
    gtest_stage "$name" "$shards" 200 "$binary" "$filter" "$@"
    gtest_summary "$name" "$allowed" > "$out/$name.txt"
    finish "$name" $? "$t0" "$(head -1 "$out/$name.txt")"
  ) &
  pids+=($!) names+=("$name")
}
if want tests; then
  gtest_job tests 4 "$carry/bin/kiln_cuda_tests" "${GTEST_FILTER:-Cuda*}:-CudaWgmma.*" \
    "UnavailableIsAClearError,CudaWithoutGpuFailsAtCreation,EmulatedCuda."
fi
if want frontend; then
  # The tests that compare with PyTorch's values or with finite differences: the op tables,
  # every gradient check, the losses and optimizers against PyTorch's fixtures, compiled
  # functions and Adam steps. (ctest runs the whole suite but its host-only tests on the
  # emulated device: tests/CMakeLists.txt, KILN_HOST_ONLY_TESTS; with the CUDA kernels on the
  # host, the same filter: kiln_frontend_tests_cuda_host_kernels.)
  gtest_job frontend 8 "$carry/bin/kiln_frontend_tests" \
    "$(cat "$root/tests/frontend/device_value_tests.filter")" \
    "" KILN_TEST_DEVICE=cuda KILN_DATA_DIR="$root/data"
fi
if want conformance; then
  (
    t0=$SECONDS
    run_kiln timeout -k 10 200 python3 "$root/tools/gpu_conformance.py" run --bin "$carry/conformance" \
      --device cuda --jobs 4 --out "$out/conformance.json" > "$out/conformance.txt" 2>&1
    finish conformance $? "$t0" "$(tail -1 "$out/conformance.txt")"
  ) &
  pids+=($!) names+=(conformance)
fi
if want random; then
  (
    t0=$SECONDS
    rnd=${TMPDIR:-/tmp}/kiln-random  # the raw bytes (about 25 MB) stay out of $OUT
    if run_kiln timeout -k 10 100 "$carry/bin/kiln-gpu-random-check" "$rnd" > "$out/random.log" 2>&1; then
      timeout -k 10 90 python3 "$root/tools/gpu_random_check.py" "$rnd" > "$out/random.txt" 2>&1
      finish random $? "$t0" "$(tail -1 "$out/random.txt")"
    else
      finish random 1 "$t0" "kiln-gpu-random-check failed: $(tail -1 "$out/random.log")"
    fi
  ) &
  pids+=($!) names+=(random)
fi
if (( ${#pids[@]} > 0 )); then
  echo "== ${names[*]} (side by side)"
  wait "${pids[@]}"
  for n in "${names[@]}"; do
    [[ -f $out/$n.txt ]] && { echo "-- $n"; head -45 "$out/$n.txt"; }
  done
fi

if want bench; then
  echo "== benchmark (alone)"
  t0=$SECONDS
  run_kiln timeout -k 10 100 "$carry/bin/kiln-cuda-bench" > "$out/kiln_bench.jsonl" 2> "$out/kiln_bench.log"
  status=$?
  # The softmax again without row chains: what the chain kernel changes.
  KILN_ROW_CHAINS=0 run_kiln timeout -k 5 30 "$carry/bin/kiln-cuda-bench" softmax \
    >> "$out/kiln_bench.jsonl" 2>> "$out/kiln_bench.log"
  (( status |= $? ))
  timeout -k 10 120 python3 "$root/tools/gpu_torch_bench.py" > "$out/torch_bench.jsonl" 2> "$out/torch_bench.log"
  (( status |= $? ))
  python3 "$root/tools/gpu_summary.py" "$out/kiln_bench.jsonl" "$out/torch_bench.jsonl" \
    > "$out/summary.txt" 2>&1
  (( status |= $? ))
  cat "$out/summary.txt"
  finish bench "$status" "$t0" "$(tail -1 "$out/kiln_bench.log")"
fi

echo "== stages (${SECONDS}s since start)"
cat "$stages_file"
if grep -q ' FAIL ' "$stages_file"; then
  echo "gpu-check: FAILED stages: $(awk '$2 == "FAIL" {print $1}' "$stages_file" | xargs)" >&2
  exit 1
fi
echo "gpu-check: all passed (outputs in $out)"
