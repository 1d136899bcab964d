// Executing a lowered Program: buffers for the materialized values, kernels through a
// backend's KernelRunner, library steps (matmul, gather/scatter, cat) through the reference
// interpreter until a backend provides its own routines.
#pragma once

#include "kiln/backends/backend.h"
#include "kiln/ir/kernel.h"

namespace kiln::backends {

class KernelRunner {
 public:
  virtual ~KernelRunner() = default;
  // data[a] is argument a's buffer (element 0; offsets and strides come with the launch).
  virtual void run(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                   absl::Span<void* const> data) = 0;
};

// Runs `program` (lowered from `graph`) and returns the graph outputs as fresh buffers, under
// the same contract as Backend::run.
std::vector<BufferPtr> run_program(const ir::Graph& graph, const ir::Program& program,
                                   absl::Span<const BufferPtr> inputs, KernelRunner& runner);

// Runs one graph node on the reference interpreter over materialized operand buffers.
BufferPtr run_node_on_interpreter(const ir::Graph& graph, ir::ValueId node,
                                  absl::Span<const BufferPtr> operands);

}  // namespace kiln::backends
