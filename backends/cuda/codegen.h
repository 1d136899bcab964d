// Code generation of the CUDA backend: one LoopKernel (ir/kernel.h) becomes one CUDA C
// translation unit with one `extern "C" __global__` function, compiled by NVRTC (nvrtc.h).
//
// The kernel takes a single by-value parameter, an array of 64-bit words (param_words()):
//
//   [data pointers: args][sizes: rank][strides: args x rank][offsets: args]
//   [runtime constants, as bits (cpu::kernel_sizes)][error word pointer, if any]
//
// Elementwise kernels are grid-stride loops over the row-major flattening of the iteration
// space. When the space is one contiguous run (rank 1, every argument unit-stride or
// broadcast) each thread handles 4 consecutive elements through 4-wide vector loads and stores,
// provided every pointer is aligned for them (checked at run time; else the scalar loop).
// Reduction kernels run one block per kept point (a grid-stride loop over points when there
// are more than the grid holds): the block's threads stride over the reduced elements, each
// accumulating its share, then combine through warp shuffles and shared memory.
//
// Results follow the reference interpreter (backends/interp/): float16/bfloat16 compute in
// float and round to nearest even after every op (bit-exact conversions, NaN payloads
// included), integers wrap, float->int casts saturate with NaN -> 0, floating sums and
// products accumulate in double, amax/amin are NaN-sticky and argmax/argmin return the first
// index of the extreme (or of the first NaN). Contraction into FMA is off (--fmad=false).
// Differences: transcendental functions come from CUDA's libdevice (within its documented
// ulp bounds, like the CPU backend's libmvec), and the double accumulators of sum and prod
// combine in a tree rather than in the interpreter's order (floating sums are pairwise there;
// products sequential), which can change the last bit of a float64 result.
//
// Integer division by zero (ZeroDivisionError in the interpreter) sets an error word that the
// runner checks after such kernels.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "kiln/ir/kernel.h"

namespace kiln::backends::cuda {

// Why `kernel` cannot be emitted ("" when it can): malformed kernels only (every op and dtype
// of the loop IR is covered).
std::string why_not_emittable(const ir::LoopKernel& kernel);

// True when the kernel has an integer division (its launches carry an error word).
bool needs_error_word(const ir::LoopKernel& kernel);

// The CUDA C source of `kernel` as function `symbol`. Throws kiln::Error when the kernel
// cannot be emitted.
std::string emit_cuda_kernel(const ir::LoopKernel& kernel, std::string_view symbol);

// The CUDA C source of a row chain (chain_kernel.h) as kernel `symbol`: each step becomes a
// device function SYMBOL_sI(P_SYMBOL_sI p, i64 row) computing the points of launch row `row`
// with the block's threads (elementwise steps striding over the row's points, reductions
// reducing each kept point of the row with as many threads as their own launch would use),
// and the kernel runs every step on a row, with a barrier after each, for rows blockIdx.x,
// blockIdx.x + gridDim.x, ... Parameters: each step's words (param_words), then `i64 rows`.
// With `warp_per_row` (chains whose steps need at most 32 threads a row: chain_kernel.h) each
// warp of a block takes a row, its lanes striding over the row's points, its reductions warp
// shuffles only (SYMBOL_warp's), with __syncwarp between steps.
std::string emit_cuda_chain_kernel(absl::Span<const ir::LoopKernel* const> steps,
                                   std::string_view symbol, bool warp_per_row = false);

// The parameter words of one launch (see above); error_word may be null when
// !needs_error_word(kernel).
std::vector<uint64_t> param_words(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                                  absl::Span<void* const> data, void* error_word);

// Threads per block and blocks of one launch on a device with `multiprocessors` SMs; blocks
// is 0 when there is nothing to compute. Reductions of at most 32 elements per point run
// SYMBOL_warp, a warp per point (warp_per_point): the block kernel would give each point one
// warp as well, and the same bits, but 32-thread blocks and a block combine.
struct LaunchShape {
  unsigned blocks = 0;
  unsigned threads = 0;
  bool warp_per_point = false;
};
LaunchShape launch_shape(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                         int multiprocessors);
// The block size of the block-per-point reduction kernel over `reduced` elements per point: a
// multiple of 32 up to 256.
unsigned reduction_threads(int64_t reduced);

// Reduction kernels are emitted with three more functions in their module: SYMBOL_warp (one
// warp per point, launch_shape above; same parameters as SYMBOL), SYMBOL_part and
// SYMBOL_comb, for launches with few kept points and long rows: SYMBOL_part (grid: points x
// splits, extra parameters `i64 chunk, void* work`) reduces `chunk` consecutive reduced
// elements per block into a state in `work` (split_workspace_bytes: the 8-byte values of each
// point, split and store, then the indices of each point and split), and SYMBOL_comb (one
// thread per point, extra parameters `i64 splits, void* work`) combines each point's states in
// order and stores the results.
struct SplitPlan {
  int64_t splits = 1;  // 1: the plain one-block-per-point kernel
  int64_t chunk = 0;
  int64_t points = 0;
};
SplitPlan split_plan(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                     int multiprocessors);
size_t split_workspace_bytes(const ir::LoopKernel& kernel, const SplitPlan& plan);

// The code shared by every kernel: storage types, float16/bfloat16 conversions as bit
// manipulation (runtime/half.h's exactly), saturating float->int, wrapping integer helpers.
std::string_view cuda_prelude();

}  // namespace kiln::backends::cuda
