// Matrix multiplication on the CPU: c[p] = a[p] @ b[p] for every batch index p, with
// a[p]: m x k, b[p]: k x n and c[p]: m x n.
//
// The GotoBLAS/BLIS design: for each block of kc steps of k, B is packed into nr-column panels
// (kc x nc, shared by the threads) and A, mc rows at a time, into contiguous rows (per thread);
// a register-blocked micro-kernel (matmul_kernel.h, JIT-compiled for the host: 12 x 32 floats
// with AVX-512, 6 x 16 with AVX2) computes mr x nr tiles of C, keeping one panel of A in L1
// while it streams the panels of B from L2/L3. Edge tiles use smaller kernels of the same
// family (so 64 rows are 5 x 12 + 4, not 6 x 12). Row-major operands already of the compute
// type are packed by JIT-compiled copies (matmul_pack_kernel.h), the others by C++ that also
// converts (matmul_pack.h). Threads claim blocks of rows (or, for a short, wide C, groups of
// columns) dynamically; batches of several matrices are split across threads by batch index
// instead. Small products stay on the calling thread.
//
// Every dtype is supported. float32 and float64 accumulate in their own type (like BLAS, not in
// double like the reference interpreter: expect rounding differences growing with sqrt(k));
// float16 and bfloat16 are converted to float32 while packing and rounded once at the end;
// integers wrap like int64 arithmetic, truncated to the stored width; bool is the logical or
// over k of a & b. With k = 0, C is all zeros.
#pragma once

#include <cstdint>
#include <functional>

#include "kiln/ir/dtype.h"

namespace kiln::backends::cpu {

// A matrix operand (or a batch of them) in memory: element (p, i, j) is at
// data + (p * batch_stride + i * row_stride + j * col_stride) elements. Any strides are
// accepted, so transposed views (row_stride 1) and broadcast batches (batch_stride 0) need no
// copy; packing reads contiguous rows or columns fastest.
struct MatmulOperand {
  const void* data = nullptr;
  int64_t batch_stride = 0;
  int64_t row_stride = 0;
  int64_t col_stride = 1;
};

// The result: like MatmulOperand, but its elements must not overlap each other or the inputs.
// col_stride 1 lets the micro-kernel store C directly; other layouts go through a tile buffer.
struct MatmulResult {
  void* data = nullptr;
  int64_t batch_stride = 0;
  int64_t row_stride = 0;
  int64_t col_stride = 1;
};

// Overrides of the blocking for tests and tuning (0 keeps the default). mc, kc and nc are
// rounded up to multiples of the micro-kernel's shape; `threads` caps the thread count (the
// default is runtime::num_threads(), or 1 for small problems and inside a parallel region).
struct MatmulTuning {
  int64_t mc = 0;
  int64_t kc = 0;
  int64_t nc = 0;
  int threads = 0;
  int mr = 0;  // micro-kernel shape: all three or none
  int nr = 0;
  int lanes = 0;
};

// Called for every tile of C as soon as it holds its final values: batch index p, rows
// [row, row + rows), columns [col, col + cols). Tiles are disjoint and calls may come from
// several threads at once (inside the thread pool: the callee must not start parallel work), so
// the callee can post-process each tile while it is still in cache (an epilogue: bias,
// activation). Every element of C is in exactly one tile.
using MatmulTileFn =
    std::function<void(int64_t p, int64_t row, int64_t rows, int64_t col, int64_t cols)>;

// Dense row-major operands: a[batch][m][k], b[batch][k][n], c[batch][m][n]. Throws kiln::Error
// for negative sizes, or when the micro-kernel cannot be compiled.
void matmul(DType dtype, const void* a, const void* b, void* c, int64_t batch, int64_t m, int64_t k,
            int64_t n);

// Any strides (see MatmulOperand). Throws kiln::Error for negative sizes, an invalid tuning,
// or when the micro-kernel cannot be compiled.
void matmul(DType dtype, const MatmulOperand& a, const MatmulOperand& b, const MatmulResult& c,
            int64_t batch, int64_t m, int64_t k, int64_t n, const MatmulTuning& tuning = {},
            const MatmulTileFn& on_tile = {});

}  // namespace kiln::backends::cpu
