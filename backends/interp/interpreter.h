// The reference interpreter: executes an IR graph node by node with plain loops. Slow and
// obviously correct; the oracle that the compiled backends are tested against.
#pragma once

#include "kiln/backends/backend.h"

namespace kiln::backends::interp {

class Interpreter final : public Backend {
 public:
  std::string_view name() const override { return "interp"; }
  std::vector<BufferPtr> run(const ir::Graph& graph, absl::Span<const BufferPtr> inputs) override;
};

}  // namespace kiln::backends::interp
