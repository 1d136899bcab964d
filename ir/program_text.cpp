#include "kiln/ir/program_text.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::ir {
namespace {

// Appends `text` (lines ending in '\n') with every line indented by `indent`.
void append_indented(std::string* out, std::string_view text, std::string_view indent) {
  for (absl::string_view line : absl::StrSplit(sv(text), '\n', absl::SkipEmpty()))
    absl::StrAppend(out, sv(indent), line, "\n");
}

std::string value_list(const std::vector<ValueId>& ids) {
  if (ids.empty()) return "(none)";
  return absl::StrJoin(ids, ", ",
                       [](std::string* out, ValueId id) { absl::StrAppend(out, "%", id); });
}

// "step 0: kernel elementwise -> %3" and everything under it.
void append_kernel_step(std::string* out, const ProgramStep& step, std::string_view title,
                        std::string_view indent) {
  absl::StrAppend(out, sv(indent), sv(title), ": ", kernel_step_summary(step), "\n");
  absl::StrAppend(out, sv(indent), "  launch sizes=", shape_to_string(step.launch.sizes), "\n");
  for (size_t a = 0; a < step.arg_values.size(); ++a) {
    absl::StrAppend(out, sv(indent), "    arg", a, " = %", step.arg_values[a]);
    if (a < step.launch.strides.size())
      absl::StrAppend(out, " strides=", shape_to_string(step.launch.strides[a]));
    if (a < step.launch.offsets.size()) absl::StrAppend(out, " offset=", step.launch.offsets[a]);
    out->append("\n");
  }
  append_indented(out, to_string(step.kernel), absl::StrCat(sv(indent), "  "));
}

// The node's line of the graph text ("%4 = matmul(%2, %3) : f32[2, 4]") without its newline.
std::string node_line(const Graph& graph, ValueId id) {
  if (id < 0 || id >= graph.size()) return absl::StrCat("%", id, " (not in the graph)");
  const Node& node = graph.node(id);
  std::string s = absl::StrCat("%", id, " = ", sv(op_name(node.op)), "(");
  for (size_t i = 0; i < node.inputs.size(); ++i)
    absl::StrAppend(&s, i ? ", %" : "%", node.inputs[i]);
  absl::StrAppend(&s, ") : ", to_string(node.type));
  return s;
}

void append_library_step(std::string* out, const ProgramStep& step, const Graph& graph,
                         std::string_view title) {
  absl::StrAppend(out, sv(title), ": library ", node_line(graph, step.node), "\n");
  for (size_t i = 0; i < step.operands.size(); ++i) {
    const OperandView& view = step.operands[i];
    absl::StrAppend(out, "  operand", i, " = %", view.value,
                    " strides=", shape_to_string(view.strides), " offset=", view.offset, "\n");
  }
  for (size_t e = 0; e < step.epilogue.size(); ++e)
    append_kernel_step(out, step.epilogue[e], absl::StrCat("epilogue ", e), "  ");
}

}  // namespace

std::string kernel_step_summary(const ProgramStep& step) {
  const LoopKernel& k = step.kernel;
  std::string s = k.kind == LoopKernel::Kind::kReduction
                      ? absl::StrCat("kernel reduction(", sv(op_name(k.reduce_op)), ")")
                      : std::string("kernel elementwise");
  std::vector<ValueId> results;
  for (size_t a = 0; a < k.args.size() && a < step.arg_values.size(); ++a)
    if (k.args[a].is_output) results.push_back(step.arg_values[a]);
  return absl::StrCat(s, " -> ", value_list(results));
}

std::string to_string(const Program& program, const Graph& graph) {
  std::string out = absl::StrCat("// program: ", program.steps.size(),
                                 program.steps.size() == 1 ? " step" : " steps",
                                 "; materialized: ", value_list(program.materialized), "\n");
  for (size_t i = 0; i < program.steps.size(); ++i) {
    const ProgramStep& step = program.steps[i];
    const std::string title = absl::StrCat("step ", i);
    switch (step.kind) {
      case ProgramStep::Kind::kKernel:
        append_kernel_step(&out, step, title, "");
        break;
      case ProgramStep::Kind::kNode:
        append_library_step(&out, step, graph, title);
        break;
    }
  }
  return out;
}

}  // namespace kiln::ir
