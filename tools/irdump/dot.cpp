#include "irdump/dot.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::irdump {
namespace {

// A dot string literal's body: quotes and backslashes escaped.
std::string escape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Assigns to `cluster` every node a step computes: its results and, behind them, the fused
// (unmaterialized, non-constant) values its kernels inline. Nodes already assigned stay.
void claim(const ir::Graph& graph, const std::vector<bool>& materialized, ir::ValueId result,
           int cluster, std::vector<int>& cluster_of) {
  std::vector<ir::ValueId> stack{result};
  while (!stack.empty()) {
    const ir::ValueId id = stack.back();
    stack.pop_back();
    if (id < 0 || id >= graph.size() || cluster_of[id] >= 0) continue;
    const ir::Node& node = graph.node(id);
    if (node.op == ir::Op::input) continue;
    // A constant is inlined by every kernel that reads it; only a constant output is a step's.
    if (node.op == ir::Op::constant && id != result) continue;
    if (id != result && materialized[id]) continue;
    cluster_of[id] = cluster;
    for (ir::ValueId in : node.inputs) stack.push_back(in);
  }
}

std::vector<ir::ValueId> kernel_results(const ir::ProgramStep& step) {
  std::vector<ir::ValueId> results;
  for (size_t a = 0; a < step.kernel.args.size() && a < step.arg_values.size(); ++a)
    if (step.kernel.args[a].is_output) results.push_back(step.arg_values[a]);
  return results;
}

std::string step_label(const ir::Graph& graph, size_t index, const ir::ProgramStep& step) {
  std::string label = absl::StrCat("step ", index, ": ");
  if (step.kind == ir::ProgramStep::Kind::kNode) {
    absl::StrAppend(&label, "library ", sv(ir::op_name(graph.node(step.node).op)));
    if (!step.epilogue.empty()) label += " + epilogue";
    return label;
  }
  if (step.kernel.kind == ir::LoopKernel::Kind::kReduction)
    return absl::StrCat(label, "kernel reduction(", sv(ir::op_name(step.kernel.reduce_op)), ")");
  return label + "kernel elementwise";
}

}  // namespace

std::string to_dot(const ir::Graph& graph, const ir::Program* program) {
  const size_t n = static_cast<size_t>(graph.size());
  std::vector<int> cluster_of(n, -1);
  std::vector<bool> materialized(n, false);
  std::vector<std::string> cluster_labels;
  if (program != nullptr) {
    for (ir::ValueId id : program->materialized)
      if (id >= 0 && static_cast<size_t>(id) < n) materialized[id] = true;
    for (size_t i = 0; i < program->steps.size(); ++i) {
      const ir::ProgramStep& step = program->steps[i];
      const int cluster = static_cast<int>(cluster_labels.size());
      cluster_labels.push_back(step_label(graph, i, step));
      if (step.kind == ir::ProgramStep::Kind::kKernel) {
        for (ir::ValueId result : kernel_results(step))
          claim(graph, materialized, result, cluster, cluster_of);
        continue;
      }
      // The epilogue's results first: claiming the matmul first would stop at its buffer.
      for (const ir::ProgramStep& epilogue : step.epilogue)
        for (ir::ValueId result : kernel_results(epilogue))
          claim(graph, materialized, result, cluster, cluster_of);
      claim(graph, materialized, step.node, cluster, cluster_of);
    }
  }
  std::vector<bool> is_output(n, false);
  for (ir::ValueId id : graph.outputs())
    if (id >= 0 && static_cast<size_t>(id) < n) is_output[id] = true;

  // The node labels are the lines of the graph's text form, which name attributes too.
  const std::string text = ir::to_string(graph);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');

  auto node_statement = [&](ir::ValueId id) {
    std::string s = absl::StrCat("n", id, " [label=\"", escape(lines[id]), "\"");
    if (materialized[id]) s += ", style=filled, fillcolor=lightgrey";
    if (is_output[id]) s += ", peripheries=2";
    return s + "];\n";
  };

  std::string out = "digraph kiln {\n  node [shape=box, fontname=\"monospace\"];\n";
  for (size_t c = 0; c < cluster_labels.size(); ++c) {
    absl::StrAppend(&out, "  subgraph cluster_", c, " {\n    label=\"", escape(cluster_labels[c]),
                    "\";\n");
    for (ir::ValueId id = 0; id < graph.size(); ++id)
      if (cluster_of[id] == static_cast<int>(c)) absl::StrAppend(&out, "    ", node_statement(id));
    out += "  }\n";
  }
  for (ir::ValueId id = 0; id < graph.size(); ++id)
    if (cluster_of[id] < 0) absl::StrAppend(&out, "  ", node_statement(id));
  for (ir::ValueId id = 0; id < graph.size(); ++id)
    for (ir::ValueId in : graph.node(id).inputs)
      absl::StrAppend(&out, "  n", in, " -> n", id, ";\n");
  out += "}\n";
  return out;
}

}  // namespace kiln::irdump
