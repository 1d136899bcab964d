// The CUDA backend's matmul: a tiled shared-memory kernel for float32, float64, float16 and
// bfloat16 (CUDA C compiled by NVRTC like every kernel), reading operands through their
// OperandView strides (transposed and broadcast operands are not copied) over up to
// kMaxBatchDims batch dims.
//
// Each 256-thread block computes a BM x BN tile of C (128 x 128 for the float types, 64 x 64
// for float64), staging BK-deep slices of A (stored transposed) and B in shared memory, double
// buffered, each thread accumulating a TM x TN register tile with fused multiply-adds.
// float16/bfloat16 operands are widened to float in shared memory and accumulate in float;
// float32 accumulates in float (the interpreter accumulates in double: results differ within
// float32 rounding of the sum, as cuBLAS's do); float64 in double. float16/bfloat16 use tensor
// cores where the operands allow (matmul_mma_fits below).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kiln/ir/dtype.h"

namespace kiln::backends::cuda {

inline constexpr int kMaxBatchDims = 6;

// True for the dtypes the kernel covers.
bool matmul_supported(DType dtype);

// The CUDA C source of the matmul kernel of `dtype`, function name matmul_symbol(dtype).
std::string matmul_source(DType dtype);
std::string matmul_symbol(DType dtype);

// The kernel's by-value parameter (layout shared with the CUDA source).
struct MatmulParams {
  uint64_t a = 0, b = 0, c = 0;  // device addresses (element 0 of each buffer)
  int64_t m = 0, n = 0, k = 0;
  int64_t a_offset = 0, a_stride_m = 0, a_stride_k = 0;
  int64_t b_offset = 0, b_stride_k = 0, b_stride_n = 0;
  int64_t batch_dims = 0;
  int64_t batch_sizes[kMaxBatchDims] = {};
  int64_t a_batch_strides[kMaxBatchDims] = {};
  int64_t b_batch_strides[kMaxBatchDims] = {};
};

// A matmul module over MatmulParams: the prelude, `#define T storage`, `defines`, the
// parameter struct and matmul_batch_bases() shared by the kernels, then `kernel`.
std::string matmul_module_source(std::string_view storage, std::string_view defines,
                                 std::string_view kernel);

// Block tile of the kernel for `dtype` (grid = ceil(n / bn) x ceil(m / bm) x batch).
int matmul_tile_m(DType dtype);
int matmul_tile_n(DType dtype);

// Tensor cores (matmul_mma.cpp): float16/bfloat16 with mma.sync m16n8k16 and float
// accumulators, 128 x 128 block tiles, for operands that meet its layout rules (dense along k
// and n, 8-element aligned strides and offsets, k a multiple of 32, n of 8). Others take the
// tiled kernel above. KILN_CUDA_MMA=0 (mma_mode below) turns it off.
bool matmul_mma_fits(DType dtype, const MatmulParams& p);
std::string matmul_mma_source(DType dtype);
std::string matmul_mma_symbol(DType dtype);

// Integer and bool matmul (matmul_int.cpp): one thread per result element over the same
// MatmulParams, grid ceil(n / 16) x ceil(m / 16) x batch of 256 threads, with the
// interpreter's wraparound (integers) and or-of-ands (bool).
bool matmul_int_supported(DType dtype);
std::string matmul_int_source(DType dtype);
std::string matmul_int_symbol(DType dtype);

// Hopper tensor cores (matmul_wgmma.cpp, sm_90a only): float16/bfloat16 with TMA loads and
// wgmma.mma_async m64n256k16, 128 x 256 block tiles of 384 threads (a producer warpgroup and
// two consumer warpgroups) and kWgmmaSharedBytes of dynamic shared memory.
inline constexpr int kWgmmaTileM = 128;
inline constexpr int kWgmmaTileN = 256;
inline constexpr int kWgmmaThreads = 384;
inline constexpr int kWgmmaSharedBytes = 4 * (128 + 256) * 128 + 1024 + 64;

// How the operands of a matmul map onto TMA tensor maps (matmul_wgmma_plan).
struct WgmmaPlan {
  // Each operand is K-major (k has unit stride: A row-major, B = w.t()) or MN-major (m resp. n
  // has unit stride: wgmma's transpose flag).
  bool a_mn_major = false, b_mn_major = false;
  // The operand's element offset of batch entry z is z * stride (row-major batch index);
  // 0 means every batch entry reads the same matrix.
  int64_t a_batch_stride = 0, b_batch_stride = 0;
};

// The plan when the operands meet the kernel's rules (TMA's: the unit-stride dim innermost,
// other strides and the base addresses 16-byte aligned, batch dims that collapse into one
// stride), else nullopt. m, n and k are free (edge tiles read zeros and store nothing).
std::optional<WgmmaPlan> matmul_wgmma_plan(DType dtype, const MatmulParams& p);
std::string matmul_wgmma_source(DType dtype, bool a_mn_major, bool b_mn_major);
std::string matmul_wgmma_symbol(DType dtype, bool a_mn_major, bool b_mn_major);

// Which tensor-core kernels KILN_CUDA_MMA (read at each call) allows: unset, "1" or "wgmma":
// wgmma where the device is sm_90 and the plan fits, else mma.sync; "sync": mma.sync only; "0":
// the tiled kernel only.
enum class MmaMode { kAuto, kSyncOnly, kOff };
MmaMode mma_mode();

}  // namespace kiln::backends::cuda
