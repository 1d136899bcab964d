#!/usr/bin/env bash
# Builds kiln's libFuzzer targets with clang in their own build folder and runs each for a
# bounded time through ctest (tests/fuzz/CMakeLists.txt). A finding fails the run and leaves its
# input as crash-*/leak-*/timeout-* in <build>/tests/fuzz/.
# Usage: tools/run-fuzzers.sh [seconds per target, default 60]
#   KILN_FUZZ_BUILD=<dir> (default build-fuzz), JOBS=<n> (default: all cores)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KILN_FUZZ_BUILD:-$root/build-fuzz}
seconds=${1:-60}
"$root/tools/install-deps.sh" fuzz
if ! command -v clang++ >/dev/null 2>&1; then
  echo "kiln: clang++ not found; run tools/install-deps.sh fuzz as root" >&2
  exit 1
fi
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DKILN_BUILD_FUZZERS=ON -DKILN_BUILD_TESTS=OFF \
  -DKILN_BUILD_EXAMPLES=OFF -DKILN_FUZZ_SECONDS="$seconds" >/dev/null
cmake --build "$build" -j"${JOBS:-$(nproc)}" --target kiln_load_fuzzer
ctest --test-dir "$build/tests/fuzz" --output-on-failure
