// Reductions with few kept points and a long reduced extent (a full sum, a norm, a loss) would
// run on one thread if only kept points were parallel. Such a reduction is split: each kept
// point's reduced extent (row-major flat) is cut into consecutive ranges, a partial function
// (codegen.h) reduces each range on the thread pool, and the ranges' states are combined in
// order and stored here.
//
// The split depends on the sizes only, never on the thread count, so results are the same on
// any number of threads. Combining in order keeps argmax/argmin's first index and the first
// NaN; integer sums and products wrap associatively; floating sums add the ranges' double sums
// in order (deterministic, and as accurate as the unsplit double sum).
#pragma once

#include <cstdint>

#include "absl/types/span.h"
#include "kiln/backends/cpu/codegen.h"

namespace kiln::backends::cpu {

// The number of ranges each kept point's reduced extent is cut into; 1: do not split. The
// kernel must be emittable (can_emit).
int64_t split_count(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch);

// Runs `partial` over `ranges` ranges per kept point on the thread pool, then combines and
// stores each kept point's result. `sizes` and `strides` are the function's arrays
// (kernel_sizes() and the launch's flattened strides).
void run_split_reduction(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                         absl::Span<void* const> data, const int64_t* sizes, const int64_t* strides,
                         PartialFunction partial, int64_t ranges);

}  // namespace kiln::backends::cpu
