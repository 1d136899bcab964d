#!/usr/bin/env bash
# The GPU check of the CUDA backend, run on the GPU machine from a bundle built elsewhere
# (tools/build-gpu-bundle.sh; nothing is built here):
#
#   tools/gpu-check.sh [GPU_CARRY_DIR]      (default: gpu-carry next to this script's folder)
#
# Prints nvidia-smi, then runs these stages (KILN_GPU_STAGES picks some, comma-separated; all
# by default, in this order):
#   tests        the CUDA tests (kiln_cuda_tests: the NVRTC half and the GPU half; a skipped
#                GPU test counts as a failure here; GTEST_FILTER narrows them)
#   random       CUDA random numbers against PyTorch's, bit for bit (tools/gpu_random_check.py)
#   frontend     the frontend suite's PyTorch-checked op tables and gradient checks with the
#                default device set to cuda (KILN_TEST_DEVICE)
#   conformance  the shared conformance programs, kiln vs live PyTorch, both with the default
#                device cuda (tools/gpu_conformance.py)
#   bench        the kiln GPU benchmark (kiln-cuda-bench: fused chain vs device copy, matmul vs
#                cuBLAS), the same workloads on PyTorch (eager and torch.compile), a summary
# Every stage runs even when an earlier one failed (so one failing test does not cost the
# benchmark numbers), each under its own time limit; the script then exits nonzero, naming the
# failed stages. Outputs go to $OUT (or a temporary folder) as well.
set -uo pipefail  # no -e: every stage runs, failures are collected (fail)
root=$(cd "$(dirname "$0")/.." && pwd)
carry=$(cd "${1:-$root/gpu-carry}" && pwd)
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
failed=()
fail() { echo "gpu-check: FAILED: $*" >&2; failed+=("$*"); }

echo "== nvidia-smi"
nvidia-smi || { fail "nvidia-smi"; exit 1; }

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

stages=",${KILN_GPU_STAGES:-tests,random,frontend,conformance,bench},"
want() { [[ $stages == *",$1,"* ]]; }

if want tests; then
echo "== CUDA tests (kiln_cuda_tests)"
run_kiln timeout 420 "$carry/bin/kiln_cuda_tests" --gtest_output="json:$out/cuda_tests.json" 2>&1 |
  tee "$out/cuda_tests.log" | grep -E '^\[ *(OK|FAILED|SKIPPED|PASSED) *\]|^\[=|Failure|rror'
status=${PIPESTATUS[0]}
if [[ $status -ne 0 ]]; then
  fail "kiln_cuda_tests exited with $status (see $out/cuda_tests.log)"
  grep -A12 -E 'Failure|what\(\)|rror' "$out/cuda_tests.log" | head -150
fi
python3 - "$out/cuda_tests.json" <<'PY' || fail "CUDA test summary: failures, or GPU tests skipped"
import json, sys
r = json.load(open(sys.argv[1]))
tests = [t for s in r["testsuites"] for t in s["testsuite"]]
skipped = [t["name"] for t in tests if t.get("result") == "SKIPPED"]
failed = [t["name"] for t in tests if t.get("failures")]
ran = len(tests) - len(skipped)
print(f"CUDA tests: {ran} ran, {ran - len(failed)} passed, {len(failed)} failed, "
      f"{len(skipped)} skipped {skipped}")
# Skipping is only acceptable for the tests of the no-GPU behaviour.
no_gpu_only = {"UnavailableIsAClearError", "CudaWithoutGpuFailsAtCreation"}
sys.exit(1 if failed or any(n not in no_gpu_only for n in skipped) else 0)
PY
fi

if want random; then
echo "== CUDA random numbers against PyTorch"
# The raw bytes (about 25 MB) stay out of $OUT.
rnd=${TMPDIR:-/tmp}/kiln-random
if run_kiln timeout 120 "$carry/bin/kiln-gpu-random-check" "$rnd"; then
  python3 "$root/tools/gpu_random_check.py" "$rnd" 2>&1 | tee "$out/random_check.txt"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || fail "CUDA random numbers differ from PyTorch's"
else
  fail "kiln-gpu-random-check"
fi
fi

if want frontend; then
echo "== frontend op tables and gradient checks on cuda (kiln_frontend_tests)"
# The suites that compare with PyTorch's values or with finite differences; the rest of the
# suite reads host memory, counts CPU kernels or checks CPU random streams.
frontend_filter='Creation.MatchTorch:Creation.EveryDtypeConversionMatchesTorch:Indexing.MatchTorch:Ops.ElementwiseMatchTorch:Reduce.MatchTorch:Shape.MatchTorch:*Gradcheck*'
run_kiln env KILN_TEST_DEVICE=cuda KILN_DATA_DIR="$root/data" timeout 300 \
  "$carry/bin/kiln_frontend_tests" --gtest_filter="$frontend_filter" \
  --gtest_output="json:$out/frontend_cuda.json" > "$out/frontend_cuda.log" 2>&1
status=$?
grep -E '^\[ *(FAILED|PASSED) *\]|^\[=' "$out/frontend_cuda.log" | tail -40
if [[ $status -ne 0 ]]; then
  fail "kiln_frontend_tests on cuda exited with $status (see $out/frontend_cuda.log)"
  grep -B2 -A10 -E 'Failure' "$out/frontend_cuda.log" | head -120
fi
fi

if want conformance; then
echo "== conformance on cuda (kiln vs PyTorch, default device cuda)"
run_kiln timeout 400 python3 "$root/tools/gpu_conformance.py" run --bin "$carry/conformance" \
  --device cuda --out "$out/conformance_cuda.json" 2>&1 | tee "$out/conformance_cuda.txt"
[[ ${PIPESTATUS[0]} -eq 0 ]] || fail "conformance on cuda"
fi

if want bench; then

echo "== kiln GPU benchmark (kiln-cuda-bench)"
run_kiln timeout 240 "$carry/bin/kiln-cuda-bench" 2>&1 | tee "$out/kiln_bench.jsonl"
status=${PIPESTATUS[0]}
[[ $status -eq 0 ]] || fail "kiln-cuda-bench exited with $status"

echo "== PyTorch (eager, torch.compile)"
python3 "$root/tools/gpu_torch_bench.py" 2>&1 | tee "$out/torch_bench.jsonl"
status=${PIPESTATUS[0]}
[[ $status -eq 0 ]] || fail "gpu_torch_bench.py exited with $status"

echo "== summary"
python3 "$root/tools/gpu_summary.py" "$out/kiln_bench.jsonl" "$out/torch_bench.jsonl" |
  tee "$out/summary.txt" || fail "summary"
fi
if (( ${#failed[@]} > 0 )); then
  printf 'gpu-check: FAILED stages:\n' >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "gpu-check: all passed (outputs in $out)"
