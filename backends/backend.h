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

// A graph prepared once by a backend (fused, lowered, its kernels looked up) and run many
// times: the frontend keeps these for the realization graphs it sees again (every iteration of
// a training loop builds the same graph), so that repeats skip the compiler.
class Executable {
 public:
  virtual ~Executable() = default;
  // As Backend::run on the graph this was compiled from.
  virtual std::vector<BufferPtr> run(absl::Span<const BufferPtr> inputs) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // Executes `graph`. inputs[i] binds the input node with InputAttrs index i; each holds the
  // input's elements densely in row-major order. Returns one freshly allocated dense buffer per
  // graph output, never an input buffer and never one buffer for two outputs, so that the
  // caller may write into any result in place. Throws kiln::Error on failure.
  virtual std::vector<BufferPtr> run(const ir::Graph& graph,
                                     absl::Span<const BufferPtr> inputs) = 0;
  // Prepares `graph` for repeated runs. The default keeps the graph and calls run(); backends
  // that lower graphs do that work here, once. The backend must outlive the result.
  virtual std::unique_ptr<Executable> compile(ir::Graph graph);
};

// The backend for a device. KILN_BACKEND selects it: `cpu` (the default: fusion +
// LLVM-compiled kernels, matmul on the blocked matmul), `interp` (the reference interpreter)
// or `loops` (fusion + lowering + the loop-IR evaluator). cuda:N devices get the CUDA backend
// (backends/cuda/cuda_backend.h); it throws kiln::Error when CUDA is unavailable.
Backend& backend_for(Device device);

}  // namespace kiln::backends
