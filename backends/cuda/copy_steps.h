// Library steps of the CUDA backend that only move elements (cat, as_strided_scatter), as a
// list of strided copies that generated copy kernels run (copy_steps.cpp). Planning is kept
// apart from launching so that tests check the plans on the host, through the loop-IR
// evaluator, against the interpreter.
#pragma once

#include <optional>
#include <vector>

#include "kiln/ir/kernel.h"

namespace kiln::backends::cuda {

// out[dst_offset + i . dst_strides] = operand[src_offset + i . src_strides] for every point i
// of `sizes`, out being the step's dense result.
struct StridedCopy {
  int operand = 0;
  Shape sizes;
  Shape src_strides;
  int64_t src_offset = 0;
  Shape dst_strides;
  int64_t dst_offset = 0;
};

// The copies that compute `step` (a cat or as_strided_scatter node) in order, or nullopt when
// the step is of another op, or a scatter whose window may write an element twice (the host
// path keeps the interpreter's last-write-wins order there).
std::optional<std::vector<StridedCopy>> plan_copy_step(const ir::Graph& graph,
                                                       const ir::ProgramStep& step);

// The elementwise copy kernel of one StridedCopy and its (canonicalized) launch.
ir::LoopKernel copy_kernel(DType dtype, const StridedCopy& copy, ir::KernelLaunch* launch);

}  // namespace kiln::backends::cuda
