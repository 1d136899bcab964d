// The loop-IR oracle: evaluates LoopKernels by rebuilding each one as an IR graph (loads become
// as_strided views of the argument buffers) and running it on the reference interpreter.
// LoopBackend = fusion + lowering + this evaluator (KILN_BACKEND=loops): it checks the
// lowering against the interpreter, and compiled kernels are checked against it.
#pragma once

#include "kiln/backends/program_runner.h"

namespace kiln::backends::interp {

class LoopEvaluator final : public KernelRunner {
 public:
  void run(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
           absl::Span<void* const> data) override;
};

class LoopBackend final : public Backend {
 public:
  std::string_view name() const override { return "loops"; }
  std::vector<BufferPtr> run(const ir::Graph& graph, absl::Span<const BufferPtr> inputs) override;
  std::unique_ptr<Executable> compile(ir::Graph graph) override;

 private:
  LoopEvaluator evaluator_;
};

}  // namespace kiln::backends::interp
