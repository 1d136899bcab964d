// The backend interface: run an IR graph on buffers. Lives in backends/ rather than runtime/
// because it speaks ir::Graph (runtime stays below ir; see docs/architecture.md).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "kiln/ir/graph.h"
#include "kiln/runtime/buffer.h"

namespace kiln::backends {

using BufferPtr = std::shared_ptr<runtime::Buffer>;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // Executes `graph`. inputs[i] binds the input node with InputAttrs index i; each holds the
  // input's elements densely in row-major order. Returns one freshly allocated dense buffer per
  // graph output, never an input buffer and never one buffer for two outputs, so that the
  // caller may write into any result in place. Throws kiln::Error on failure.
  virtual std::vector<BufferPtr> run(const ir::Graph& graph, absl::Span<const BufferPtr> inputs) = 0;
};

// The backend for a device. KILN_BACKEND selects it: `interp` (the reference interpreter, the
// default for now), `loops` (fusion + lowering + the loop-IR evaluator) or `cpu` (fusion +
// LLVM-compiled kernels; library ops such as matmul still run on the interpreter).
Backend& backend_for(Device device);

}  // namespace kiln::backends
