#!/usr/bin/env bash
# Builds the GPU bundle from scratch in a checkout and stages it in <checkout>/gpu-carry:
#
#   tools/build-gpu-bundle.sh [CHECKOUT]     (default: the checkout holding this script)
#
# build-gpu/ is a RelWithDebInfo build with -DKILN_STATIC_DEPS=ON (LLVM's component archives
# linked into libkiln.so, no libLLVM-14.so needed); only libkiln, the CUDA test binary, the
# frontend test binary, the random-number check and the GPU benchmark are built, plus the
# shared conformance programs (tools/gpu_conformance.py build, into gpu-carry/conformance).
# gpu-carry/ then holds bin/ (kiln_cuda_tests, kiln_frontend_tests, kiln-gpu-random-check,
# kiln-cuda-bench), conformance/ and
# lib/ (libkiln.so and every shared library they need that is not part of glibc: Abseil,
# libstdc++, zlib, ...), all stripped, so the GPU machine (no LLVM, no Abseil) runs them with
# LD_LIBRARY_PATH=gpu-carry/lib. Fails when libLLVM would still be needed or when the bundle
# reaches 64 MiB. Run tools/gpu-check.sh on the GPU machine afterwards.
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/..}" && pwd)
build=$root/build-gpu
carry=$root/gpu-carry
export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_STATIC_DEPS=ON \
  -DKILN_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"${KILN_JOBS:-2}" --target kiln kiln_cuda_tests kiln-cuda-bench \
  kiln_frontend_tests kiln-gpu-random-check

rm -rf "$carry"
mkdir -p "$carry/bin" "$carry/lib"
cp "$build/tests/kiln_cuda_tests" "$build/tests/kiln_frontend_tests" \
  "$build/benchmarks/cuda/kiln-cuda-bench" "$build/tools/kiln-gpu-random-check" "$carry/bin/"
python3 "$root/tools/gpu_conformance.py" build --build "$build" --out "$carry/conformance" \
  --work "$build/gpu-conformance" --jobs "${KILN_JOBS:-2}"
cp -L "$build/libkiln.so" "$carry/lib/"
# Shared libraries outside glibc that the binaries need (resolved here, copied once).
glibc='^(libc|libm|libdl|libpthread|librt|libresolv|ld-linux-x86-64|linux-vdso)\.so'
programs=("$carry"/bin/* $(find "$carry/conformance" -type f -perm -u+x))
for f in "${programs[@]}" "$carry"/lib/libkiln.so; do
  LD_LIBRARY_PATH="$carry/lib" ldd "$f" | awk '/=>/ && $3 ~ /^\// {print $3}'
done | sort -u | while read -r lib; do
  name=$(basename "$lib")
  [[ $name =~ $glibc ]] && continue
  [[ -e $carry/lib/$name ]] || cp -L "$lib" "$carry/lib/$name"
done
# libstdc++ and libgcc_s go to lib-cxx/: tools/gpu-check.sh uses them only when the GPU
# machine's own libstdc++ lacks a symbol version the binaries need (GLIBCXX_NEEDED below).
mkdir -p "$carry/lib-cxx"
for name in libstdc++.so.6 libgcc_s.so.1; do
  [[ -e $carry/lib/$name ]] && mv "$carry/lib/$name" "$carry/lib-cxx/"
done
strip --strip-unneeded "${programs[@]}" "$carry"/lib/*.so* "$carry"/lib-cxx/*
objdump -T "${programs[@]}" "$carry"/lib/*.so* | grep -o 'GLIBCXX_3\.[0-9.]*' | sort -uV | tail -1 \
  > "$carry/GLIBCXX_NEEDED"

if LD_LIBRARY_PATH="$carry/lib:$carry/lib-cxx" ldd "${programs[@]}" "$carry"/lib/*.so* |
  grep -E 'libLLVM|not found'; then
  echo "build-gpu-bundle: the bundle still needs the libraries above" >&2
  exit 1
fi
# The newest glibc symbol version needed (the GPU machine's glibc must be at least this).
objdump -T "${programs[@]}" "$carry"/lib/*.so* 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV |
  tail -1 | sed 's/^/build-gpu-bundle: needs glibc >= /'
size_kib=$(du -sk "$carry" | cut -f1)
ls -la "$carry/bin" "$carry/lib" "$carry/lib-cxx"
echo "build-gpu-bundle: libstdc++ needed: $(cat "$carry/GLIBCXX_NEEDED")"
echo "build-gpu-bundle: gpu-carry is $((size_kib / 1024)) MiB ($size_kib KiB)"
if (( size_kib >= 64 * 1024 )); then
  echo "build-gpu-bundle: the bundle must stay under 64 MiB" >&2
  exit 1
fi
