// Loop IR: the kernels that fusion produces and the compiled backends (LLVM, CUDA) consume.
//
// A LoopKernel is a loop nest over an iteration space of `rank` dims whose sizes are runtime
// arguments. Each buffer argument is addressed through per-dim strides and an offset (in
// elements, also runtime arguments): at iteration point (i_0, ..., i_{rank-1}) argument a
// refers to element  offset[a] + sum_d strides[a][d] * i_d  of its buffer. Broadcasts are
// stride-0 dims, transposes and slices are permuted or scaled strides, so views never
// materialize. The body is an SSA list of scalar expressions evaluated at every point.
//
//   elementwise kernel: for every point, store each (arg, expr) of `stores`.
//   reduction kernel:   the last `reduced_dims` dims are reduced: for every point of the
//                       leading (kept) dims, out = reduce_op over the reduced dims of
//                       stores[0].expr, stored through stores[0].arg (whose strides over the
//                       reduced dims are 0).
//
// Arithmetic follows the reference interpreter exactly: float16/bfloat16 compute in float,
// integers wrap in 64 bits and truncate to their width, bool is 0/1, floating sums accumulate
// in double. One compiled kernel serves every size and stride of its layout class (see
// `layout_key`), so changing the batch size does not recompile.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "kiln/ir/graph.h"
#include "kiln/ir/memory_plan.h"

namespace kiln::ir {

struct KernelExpr {
  enum class Kind : uint8_t { kLoad, kConstant, kOp };
  Kind kind = Kind::kOp;
  DType dtype = float32;  // the result dtype (the arg's dtype for a load)
  int32_t arg = -1;       // kLoad: the argument read at the current point
  Scalar constant = 0;    // kConstant: converted to dtype
  Op op = Op::add;        // kOp: an elementwise op of the table (its attrs: CastAttrs only)
  absl::InlinedVector<int32_t, 3> operands;  // kOp: indices of earlier exprs
  friend bool operator==(const KernelExpr&, const KernelExpr&) = default;
};

struct KernelArg {
  DType dtype = float32;
  bool is_output = false;
  friend bool operator==(const KernelArg&, const KernelArg&) = default;
};

// How an argument's strides look, which decides the code a backend emits for it (a contiguous
// innermost dim vectorizes; a zero stride hoists the load). Part of the kernel's identity.
struct ArgLayout {
  uint32_t zero_stride_dims = 0;   // bit d set: stride over dim d is 0
  bool inner_unit_stride = false;  // stride over the innermost dim is 1
  friend bool operator==(const ArgLayout&, const ArgLayout&) = default;
};

struct LoopKernel {
  enum class Kind : uint8_t { kElementwise, kReduction };
  Kind kind = Kind::kElementwise;
  int32_t rank = 0;
  int32_t reduced_dims = 0;  // reduction kernels: >= 1
  Op reduce_op = Op::sum;    // reduction kernels: sum, prod, amax, amin, argmax, argmin
  std::vector<KernelArg> args;
  std::vector<ArgLayout> layouts;  // one per arg
  std::vector<KernelExpr> exprs;
  std::vector<std::pair<int32_t, int32_t>> stores;  // (output arg, expr)

  bool is_reduction() const { return kind == Kind::kReduction; }
  // The leading dims that index the outputs: all of them, less a reduction's reduced dims.
  int32_t kept_dims() const { return rank - (is_reduction() ? reduced_dims : 0); }
  friend bool operator==(const LoopKernel&, const LoopKernel&) = default;
};

// Runtime arguments of one kernel launch.
struct KernelLaunch {
  Shape sizes;                   // rank sizes of the iteration space
  std::vector<Shape> strides;    // per arg: rank strides (elements)
  std::vector<int64_t> offsets;  // per arg (elements)
};

// Merges adjacent iteration dims that every argument walks contiguously (never across the
// kept/reduced boundary) and drops size-1 dims, updating the kernel's rank and layouts.
// Run before computing the cache key so that equivalent launches share one compiled kernel.
void canonicalize_launch(LoopKernel& kernel, KernelLaunch& launch);
// Fills kernel.layouts from the launch strides.
void compute_layouts(LoopKernel& kernel, const KernelLaunch& launch);

// A printable form (kiln-irdump --emit=loops), e.g.
//   kernel reduction(sum) rank=2 reduced=1
//     arg0: f32 in  [contiguous]
//     arg1: f32 out
//     %0 = load arg0 : f32
//     %1 = exp(%0) : f32
//     store arg1 <- reduce(%1)
std::string to_string(const LoopKernel& kernel);
// A string that identifies the kernel structurally (ops, dtypes, layouts): the cache key.
std::string structural_key(const LoopKernel& kernel);

// OK when `kernel` is well formed, which every backend's code generator relies on: rank and
// layouts, exprs defined before use with the arity and typing rules of their elementwise ops,
// loads only of input args (so that no pointer aliases another: noalias on the CPU,
// __restrict__ on CUDA), stores of existing exprs into output args of the same dtype, and a
// reduction's single store with its op's result dtype. The message names the first fault
// ("%3: load of an output arg"). Backends add their own per-expr limits on top.
absl::Status verify_kernel(const LoopKernel& kernel);

// An operand of a library step read in place from a materialized value's buffer: element
// (i_0, ..., i_{r-1}) of the operand (r its rank) is element offset + sum_d strides[d] * i_d of
// `value`. Transposed, broadcast and sliced operands of matmul are read this way, uncopied.
// For a constant `value` (which has no buffer) the strides are all 0.
struct OperandView {
  ValueId value = -1;
  Shape strides;
  int64_t offset = 0;
  friend bool operator==(const OperandView&, const OperandView&) = default;
};

// A whole realization: kernels and the graph nodes that run as library routines (matmul,
// gather/scatter, cat, ...), in execution order, over graph values.
struct ProgramStep {
  enum class Kind : uint8_t { kKernel, kNode };
  Kind kind = Kind::kKernel;
  LoopKernel kernel;                  // kKernel
  KernelLaunch launch;                // kKernel
  std::vector<ValueId> arg_values;    // kKernel: the graph value bound to each kernel arg
  ValueId node = -1;                  // kNode: the graph node to run
  std::vector<OperandView> operands;  // kNode: one per node input
  // kNode (matmul): at most one elementwise kernel step over the node's result shape that reads
  // the result at the same point (bias, activation), run on each tile of the result as soon as
  // the library routine completes it. Its launch is not canonicalized (its dims are the
  // result's), so that a runner can cut it into tiles.
  std::vector<ProgramStep> epilogue;
};

struct Program {
  std::vector<ProgramStep> steps;
  // Graph values that live in buffers (inputs, step results); everything else was fused.
  std::vector<ValueId> materialized;
  // One line per fusion decision with its reason (KILN_LOG=fusion, kiln-irdump --explain-fusion).
  std::vector<std::string> decisions;
  MemoryPlan memory;  // passes::plan_memory
};

}  // namespace kiln::ir
