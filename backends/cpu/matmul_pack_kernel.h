// JIT-compiled packing routines for the CPU matmul: copy row-major blocks of A and B into the
// micro-kernel's layout (see matmul_pack.h) with the host's widest vectors. Packing either is
// a copy of contiguous runs (rows of A, nr columns of B); kiln itself is compiled for baseline
// x86-64 (16-byte moves), so the JIT, which targets the host, copies 64-byte vectors instead:
// several times faster, which matters for products of a few hundred.
//
// Only the plain case is compiled: no conversion, unit column stride, and for B whole panels.
// The driver packs converted dtypes, strided or transposed operands and the last partial
// panel of B in C++ (matmul_pack.h).
#pragma once

#include <cstdint>

#include "kiln/backends/cpu/matmul_kernel.h"

namespace kiln::backends::cpu {

// dst[(q * k + p) * nr + j] = src[p * rs + q * nr + j] for p < k, q < panels, j < nr
// (elements of the compute type). dst must be aligned to the vector size (lanes
// elements) or to 64 bytes, whichever is less.
using MatmulPackBFn = void (*)(const void* src, int64_t rs, int64_t k, int64_t panels, void* dst);

// dst[i * stride + p] = src[i * rs + p] for i < m, p < k: packing a row-major block of A
// (elements of the compute type).
using MatmulPackAFn = void (*)(const void* src, int64_t rs, int64_t m, int64_t k, void* dst,
                               int64_t stride);

// The A packing routine for `compute`; memoized without locking. Throws kiln::Error when the
// JIT fails.
MatmulPackAFn matmul_pack_a_kernel(MatmulCompute compute);

// The packing routine for panels of `nr` columns of `compute` elements, copied `lanes` at a
// time; from the kernel cache, memoized without locking for the host's default shapes.
// Throws kiln::Error for an invalid shape or when the JIT fails.
MatmulPackBFn matmul_pack_b_kernel(MatmulCompute compute, int nr, int lanes);

}  // namespace kiln::backends::cpu
