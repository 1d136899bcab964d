#!/usr/bin/env bash
# Installs the Debian packages kiln builds and tests with, when run as root and any is missing.
# Usage: tools/install-deps.sh [bench|fuzz]
set -euo pipefail
packages=(cmake make g++ python3 ccache llvm-14-dev llvm-14-tools libabsl-dev libgtest-dev
          libgmock-dev libbenchmark-dev zlib1g-dev libzstd-dev)
# `install-deps.sh bench` adds what only the benchmarks need (`make bench`), so that building
# and testing kiln never pulls in LibTorch.
if [ "${1:-}" = bench ]; then
  packages+=(libtorch-dev)
fi
# `install-deps.sh fuzz` adds clang and its runtime libraries (libFuzzer, the sanitizers) for
# tools/run-fuzzers.sh.
if [ "${1:-}" = fuzz ]; then
  packages+=(clang libclang-rt-dev)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "kiln: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
  exit 0
fi
echo "kiln: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
