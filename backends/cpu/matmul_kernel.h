// The register-blocked micro-kernel of the CPU matmul (see matmul.h for the driver around it).
//
// A micro-kernel computes one mr x nr tile of C from packed operands: a panel of mr rows of A
// (row i holds A[i][0..k) contiguously, rows a_stride elements apart) and an nr-column panel
// of B (for each p, the nr values B[p][0..nr) next to each other). The tile lives in vector
// registers for the whole k loop: per p it loads nr/lanes vectors of B, broadcasts each of the
// mr values A[i][p] and issues mr * nr/lanes fused multiply-adds. The shape is chosen for the
// host so that the accumulators fill most of the vector register file (12 x 32 with AVX-512,
// 6 x 16 with AVX2 for float32).
//
// A's panel keeps its rows apart (not interleaved by p, as in BLIS) so that packing a
// row-major A is a copy of contiguous rows rather than a transposition; a_stride is a constant
// of the kernel, so every row is one displacement from a single pointer.
//
// Kernels are generated as LLVM IR and JIT-compiled once per (compute type, shape, host)
// through the KernelCache, so later processes load them from the disk cache.
//
// This header includes no LLVM header: the driver and the tests see only function pointers.
#pragma once

#include <cstdint>
#include <string>

namespace kiln::backends::cpu {

// What a micro-kernel computes in. float32 and float64 compute as themselves; float16,
// bfloat16 and bool are packed into float32; int8, int16, int32 and uint8 into int32 (their
// results are truncated to at most 32 bits, and wrapping arithmetic modulo 2^32 agrees with
// int64 wrapping arithmetic in those bits); int64 into int64.
enum class MatmulCompute : uint8_t { kFloat32, kFloat64, kInt32, kInt64 };

// Bytes per element of a compute type.
int matmul_compute_size(MatmulCompute compute);
// "f32", "f64", "i32", "i64".
const char* matmul_compute_name(MatmulCompute compute);

// c[i * ldc + j] = (accumulate != 0 ? c[i * ldc + j] : 0) + sum over p < k of
// a[i * a_stride + p] * b[p * nr + j], for i < mr, j < nr. `b` must be aligned to the vector size
// (lanes elements) or to 64 bytes, whichever is less; `a` and `c` need only element alignment. k
// may be 0. Floats use fused multiply-adds where the host has them; integers wrap.
using MatmulKernelFn = void (*)(int64_t k, const void* a, const void* b, void* c, int64_t ldc,
                                int64_t accumulate);

struct MatmulKernelShape {
  int mr = 0;        // rows of the tile (values of A broadcast per step)
  int nr = 0;        // columns of the tile, a multiple of lanes
  int lanes = 0;     // elements per vector register
  int a_stride = 0;  // elements between rows of A's panel (the driver's kc)

  friend bool operator==(const MatmulKernelShape&, const MatmulKernelShape&) = default;
};

// The largest tile any shape may have (mr * nr elements), so drivers can keep an edge tile on
// the stack.
inline constexpr int kMatmulMaxTileElements = 1024;

struct MatmulMicroKernel {
  MatmulKernelFn fn = nullptr;
  MatmulKernelShape shape;
};

// The shape that suits the host for `compute` (from the JIT's CPU features: AVX-512, AVX2 or
// 128-bit vectors).
MatmulKernelShape default_matmul_kernel_shape(MatmulCompute compute);

// Throws kiln::Error unless 1 <= mr <= 32, lanes is a power of two <= 64, nr is a positive
// multiple of lanes, mr * nr <= kMatmulMaxTileElements and 1 <= a_stride <= 65536.
void check_matmul_kernel_shape(const MatmulKernelShape& shape);

// The kernel cache key of a micro-kernel (its symbol is kernel_symbol(key)).
std::string matmul_kernel_key(MatmulCompute compute, const MatmulKernelShape& shape);

// The micro-kernel of `shape`, from the kernel cache (compiled on first use). Thread-safe.
// Throws kiln::Error for an invalid shape or when the JIT fails.
MatmulMicroKernel matmul_micro_kernel(MatmulCompute compute, const MatmulKernelShape& shape);

// The host's default micro-kernel for `compute`, looked up once per process and then returned
// without locking.
const MatmulMicroKernel& matmul_micro_kernel(MatmulCompute compute);

// The shape of the kernel for a partial tile of rows x cols (1 <= rows <= mr, 1 <= cols <= nr)
// in a product tiled by `shape`: rows rounded up to a multiple of ceil(mr / 3) (so a 12-row
// kernel has edge kernels of 4 and 8 rows, exact for every power of two), columns rounded up to
// whole vectors. The driver packs the last panel of B with that many columns. Throws
// kiln::Error for an empty or oversized edge.
MatmulKernelShape matmul_edge_shape(const MatmulKernelShape& shape, int rows, int cols);

// The micro-kernel of matmul_edge_shape(shape, rows, cols); memoized (no locking) for the
// host's default shapes.
MatmulMicroKernel matmul_edge_kernel(MatmulCompute compute, const MatmulKernelShape& shape,
                                     int rows, int cols);

}  // namespace kiln::backends::cpu
