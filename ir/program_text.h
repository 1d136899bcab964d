// The printable form of a loop-IR Program (kiln-irdump --emit=loops): every step in execution
// order with the graph values it binds, its launch (sizes, strides, offsets) and its kernel in
// the LoopKernel text form (kernel.h), library steps with the node they run and the views
// their operands are read through, and matmul epilogues under their host step.
//
//   // program: 1 step; materialized: %0, %3
//   step 0: kernel elementwise -> %3
//     launch sizes=[6]
//       arg0 = %0 strides=[1] offset=0
//       arg1 = %3 strides=[1] offset=0
//     kernel elementwise rank=1
//       arg0: f32 in [s+unit]
//       ...
#pragma once

#include <string>

#include "kiln/ir/graph.h"
#include "kiln/ir/kernel.h"

namespace kiln::ir {

// "kernel reduction(sum) -> %6": a kernel step's kind and the graph values it stores.
std::string kernel_step_summary(const ProgramStep& step);

// `graph` is the graph `program` was lowered from (library steps print its nodes).
std::string to_string(const Program& program, const Graph& graph);

}  // namespace kiln::ir
