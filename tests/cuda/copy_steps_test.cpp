// The CUDA backend's copy steps (cat, as_strided_scatter as strided copies, copy_steps.h),
// checked on the host: the same plans run through the loop-IR evaluator on random graphs
// must give the interpreter's bytes. Needs no GPU and no NVRTC.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "cuda/plan_check.h"
#include "interp/random_graph.h"
#include "kiln/backends/cuda/copy_steps.h"
#include "kiln/backends/interp/interpreter.h"
#include "kiln/backends/interp/loop_evaluator.h"
#include "kiln/passes/lower_program.h"
#include "kiln/runtime/error.h"

namespace kiln {
namespace {

// Kernels on the loop-IR evaluator; cat and as_strided_scatter through the CUDA backend's
// plans (each copy kernel on the evaluator); other library steps as by default.
class PlanRunner final : public testing::EvaluatorRunner {
 public:
  backends::BufferPtr run_library(const ir::Graph& graph, const ir::ProgramStep& step,
                                  absl::Span<const backends::BufferPtr> operands,
                                  absl::Span<void*> epilogue_data) override {
    const std::optional<std::vector<backends::cuda::StridedCopy>> copies =
        backends::cuda::plan_copy_step(graph, step);
    if (!copies) return KernelRunner::run_library(graph, step, operands, epilogue_data);
    ++planned;
    const ir::Node& node = graph.node(step.node);
    auto out = runtime::Buffer::allocate(static_cast<size_t>(numel(node.type.shape)) *
                                         itemsize(node.type.dtype));
    for (const backends::cuda::StridedCopy& copy : *copies) {
      if (numel(copy.sizes) == 0) continue;
      ir::KernelLaunch launch;
      const ir::LoopKernel kernel = backends::cuda::copy_kernel(node.type.dtype, copy, &launch);
      void* data[] = {operands[static_cast<size_t>(copy.operand)]->data(), out->data()};
      run(kernel, launch, data);
    }
    return out;
  }
  int planned = 0;
};

TEST(CopySteps, PlansMatchTheInterpreterOnRandomGraphs) {
  PlanRunner runner;
  testing::expect_programs_match_interpreter(runner, 400);
  EXPECT_GT(runner.planned, 10);
  std::printf("copy steps planned: %d\n", runner.planned);
}

TEST(CopySteps, AliasingScatterWindowsStayOnTheHost) {
  // A window with a zero stride writes one element twice: no parallel copy plan.
  ir::Graph g;
  const ir::ValueId base = g.add_input({float32, {4}});
  const ir::ValueId src = g.add_input({float32, {3}});
  const absl::StatusOr<ir::ValueId> scatter =
      g.add(ir::Op::as_strided_scatter, {base, src}, ir::StridedAttrs{{3}, {0}, 1});
  ASSERT_TRUE(scatter.ok()) << scatter.status();
  ir::ProgramStep step;
  step.kind = ir::ProgramStep::Kind::kNode;
  step.node = *scatter;
  step.operands = {{base, {1}, 0}, {src, {1}, 0}};
  EXPECT_FALSE(backends::cuda::plan_copy_step(g, step).has_value());
  step.operands = {{base, {1}, 0}, {src, {1}, 0}};
  g.mutable_node(*scatter).attrs = ir::StridedAttrs{{3}, {1}, 1};
  EXPECT_TRUE(backends::cuda::plan_copy_step(g, step).has_value());
}

}  // namespace
}  // namespace kiln
