// The reference interpreter: executes an IR graph node by node with plain loops. Slow and
// obviously correct; the oracle that the compiled backends are tested against.
//
// It checks the graph first (operands defined before use, every declared type equal to the
// inferred one) and throws kiln::Error rather than run a graph it cannot trust. Arithmetic runs
// in float for float32/float16/bfloat16, in double for float64 and in wrapping int64 for the
// integer dtypes and bool; reductions and matmul accumulate floating values in double.
// Intermediate buffers are freed right after their last use.
#pragma once

#include "kiln/backends/backend.h"

namespace kiln::backends::interp {

class Interpreter final : public Backend {
 public:
  std::string_view name() const override { return "interp"; }
  std::vector<BufferPtr> run(const ir::Graph& graph, absl::Span<const BufferPtr> inputs) override;
};

}  // namespace kiln::backends::interp
