// Code generation of the CPU backend: one LoopKernel (ir/kernel.h) becomes one LLVM function
//
//   void SYMBOL(void** data, const int64_t* sizes, const int64_t* strides,
//               const int64_t* offsets, int64_t begin, int64_t end)
//
// data[a] is argument a's buffer, sizes the launch's `rank` sizes followed by the kernel's
// runtime constants (kernel_sizes()), strides the launch strides flattened row-major
// (args x rank), offsets one per argument, all in elements. The function
// runs the points [begin, end) of the kernel's *parallel* index space: for an elementwise
// kernel the row-major flattening of all dims; for a reduction kernel that of the kept dims,
// each point then looping over every reduced dim. Disjoint ranges touch disjoint outputs, so a
// thread pool may run chunks concurrently (see parallel_extent()).
//
// Sizes and strides are runtime values; the code is specialized on the kernel's ArgLayouts: a
// unit innermost stride is a contiguous pointer walk that LLVM vectorizes, a zero innermost
// stride a load hoisted out of the inner loop, and zero strides over outer dims vanish from
// the address arithmetic. The index is decomposed into coordinates once per contiguous run of
// the innermost dim (an odometer steps across runs), then a tight inner loop runs the body.
//
// Results equal the reference interpreter's bit for bit where IEEE arithmetic fixes them
// (float16/bfloat16 round to nearest even after every op, integers wrap, float->int casts
// saturate with NaN -> 0). Transcendental functions (exp, log, sin, pow, tanh, ...) call libm
// or its vector variants from libmvec, which may differ from the scalar libm call the
// interpreter makes by a few ulp. Floating sums accumulate in double in an order fixed by the
// sizes (lanes, codegen_reduce.cpp): the same on every CPU, and as accurate as the
// interpreter's pairwise double sum for anything stored as float32 or narrower.
//
// This header includes no LLVM header (emit_kernel's result type is only declared).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/ir/kernel.h"

namespace llvm::orc {
class ThreadSafeModule;
}  // namespace llvm::orc

namespace kiln::backends::cpu {

using KernelFunction = void (*)(void* const* data, const int64_t* sizes, const int64_t* strides,
                                const int64_t* offsets, int64_t begin, int64_t end);

// Constants are runtime values too, so that `x * lr` with a new lr, or a mean over a new batch
// size (a division by the count), reuses the compiled kernel. Only a pow exponent is compiled
// in (LLVM turns x ** 2 into x * x).
bool is_runtime_constant(const ir::LoopKernel& kernel, size_t expr);
// is_runtime_constant for every expression at once (in time linear in the kernel's size).
std::vector<bool> runtime_constants(const ir::LoopKernel& kernel);
// A constant converted to dtype t like the interpreter's constant nodes (a Python float as a
// float64 value, an int as an int64 one), as its stored bits in the low bits of a uint64:
// float16 0.1 is the float16 nearest to the float nearest to 0.1, int8 300 is 44.
uint64_t constant_bits(DType t, const Scalar& value);
// The sizes array of a launch: its rank sizes, then the bits of each runtime constant in
// expression order.
std::vector<int64_t> kernel_sizes(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch);

// Why `kernel` cannot be compiled natively ("" when it can): integer div and pow, kernels
// above 32 dims, malformed kernels. Such kernels run on the loop-IR evaluator.
std::string why_not_emittable(const ir::LoopKernel& kernel);
inline bool can_emit(const ir::LoopKernel& kernel) { return why_not_emittable(kernel).empty(); }

// The kernel's function `symbol` in a module (and context) of its own, named `symbol`.
// Throws kiln::Error when !can_emit(kernel).
llvm::orc::ThreadSafeModule emit_kernel(const ir::LoopKernel& kernel, std::string_view symbol);

// Splitting one reduction across threads (when there are fewer kept points than threads):
// a partial function reduces the flat range [begin, end) of the reduced dims (row-major) for
// the kept point `point` into one ReductionState per store (state[0..stores)); the caller
// combines the states of consecutive ranges in order and stores the results
// (split_reduction.h).
struct ReductionState {
  int64_t value = 0;  // the accumulator: an int64, or the bits of a double (floating kernels)
  int64_t index = 0;  // argmax/argmin: the flat reduced index of the best element so far
};
using PartialFunction = void (*)(void* const* data, const int64_t* sizes, const int64_t* strides,
                                 const int64_t* offsets, int64_t begin, int64_t end, int64_t point,
                                 ReductionState* state);

// Every emittable reduction but a floating prod, whose sequential double product a split
// would round differently.
bool can_split(const ir::LoopKernel& kernel);
// The partial function `symbol` of a reduction kernel for which can_split() holds.
llvm::orc::ThreadSafeModule emit_partial_reduction(const ir::LoopKernel& kernel,
                                                   std::string_view symbol);

// The unoptimized LLVM IR of emit_kernel, as text (dumps and tests).
std::string emit_kernel_ir(const ir::LoopKernel& kernel, std::string_view symbol);

// The size of the parallel index space of a launch: [0, parallel_extent) is what a kernel's
// begin/end range covers in total.
int64_t parallel_extent(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch);
// The work (innermost iterations) per parallel point: the reduced extent, 1 for elementwise.
int64_t work_per_point(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch);
// 1, or for a reduction whose loads do not walk the innermost reduced dim contiguously (a
// column sum), the number of consecutive kept points the kernel reduces together, its inner
// loop running across them (thread-pool chunks of fewer points waste vector lanes).
int64_t points_per_block(const ir::LoopKernel& kernel);

}  // namespace kiln::backends::cpu
