// Golden-test helpers for fusion planning and lowering to loop IR: IR text in, a printed plan
// or program out (or an "error: ..." line, so a failing golden test shows what went wrong).
#pragma once

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/graph.h"
#include "kiln/ir/kernel.h"
#include "kiln/passes/fusion.h"
#include "kiln/passes/lower_loops.h"

namespace kiln::passes::testing {

inline absl::StatusOr<ir::Graph> parse_verified(std::string_view text) {
  auto g = ir::parse_graph(text);
  if (!g.ok()) return g.status();
  if (auto s = ir::verify(*g); !s.ok()) return s;
  return g;
}

// One line per node: "%3 exp: fused (fused into its consumer)".
inline std::string fusion_text(std::string_view text) {
  auto g = parse_verified(text);
  if (!g.ok()) return "error: " + std::string(g.status().message());
  const FusionPlan plan = plan_fusion(*g);
  std::string out;
  for (ir::ValueId id = 0; id < g->size(); ++id)
    absl::StrAppend(&out, "%", id, " ", sv(ir::op_name(g->node(id).op)), ": ",
                    plan.materialized[id] ? "materialized" : "fused", " (", plan.reasons[id],
                    ")\n");
  return out;
}

// One kernel step: the kernel's printed form, then its launch, each arg with the graph value
// bound to it.
inline std::string step_text(const ir::ProgramStep& step) {
  std::string out = ir::to_string(step.kernel);
  absl::StrAppend(&out, "  sizes ", shape_to_string(step.launch.sizes), "\n");
  for (size_t a = 0; a < step.arg_values.size(); ++a)
    absl::StrAppend(&out, "  arg", a, " = %", step.arg_values[a], " strides ",
                    shape_to_string(step.launch.strides[a]), " offset ", step.launch.offsets[a],
                    "\n");
  return out;
}

// The whole lowered program: every step in order ("library %5 = matmul" for routine steps).
inline std::string lowered_text(std::string_view text) {
  auto g = parse_verified(text);
  if (!g.ok()) return "error: " + std::string(g.status().message());
  try {
    const ir::Program program = lower_to_loops(*g, plan_fusion(*g));
    std::string out;
    for (const ir::ProgramStep& step : program.steps) {
      if (step.kind != ir::ProgramStep::Kind::kNode) {
        out += step_text(step);
        continue;
      }
      const ir::Node& node = g->node(step.node);
      absl::StrAppend(&out, "library %", step.node, " = ", sv(ir::op_name(node.op)), "\n");
      // Operands read in place through views; a dense operand read as itself goes unsaid.
      for (size_t i = 0; i < step.operands.size(); ++i) {
        const ir::OperandView& view = step.operands[i];
        if (view.value == node.inputs[i] && view.offset == 0 &&
            view.strides == contiguous_strides(g->node(view.value).type.shape))
          continue;
        absl::StrAppend(&out, "  operand", i, " = %", view.value, " strides ",
                        shape_to_string(view.strides), " offset ", view.offset, "\n");
      }
      for (const ir::ProgramStep& epilogue : step.epilogue)
        absl::StrAppend(&out, "  epilogue:\n", step_text(epilogue));
    }
    return out;
  } catch (const std::exception& e) {
    return std::string("error: ") + e.what();
  }
}

// The lowered program's kernel steps and library steps, counted.
struct StepCounts {
  int kernels = 0;
  int library = 0;
};
inline StepCounts count_steps(std::string_view text) {
  StepCounts c;
  auto g = parse_verified(text);
  if (!g.ok()) return c;
  for (const ir::ProgramStep& step : lower_to_loops(*g, plan_fusion(*g)).steps)
    ++(step.kind == ir::ProgramStep::Kind::kKernel ? c.kernels : c.library);
  return c;
}

}  // namespace kiln::passes::testing
