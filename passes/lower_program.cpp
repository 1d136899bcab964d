#include "kiln/passes/lower_program.h"

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string_view>

#include "kiln/passes/fusion.h"
#include "kiln/passes/group_kernels.h"
#include "kiln/passes/lower_loops.h"
#include "kiln/passes/plan_memory.h"

namespace kiln::passes {
namespace {

// Read at every call (a getenv is nothing next to a realization), so tests can switch it.
bool log_fusion() {
  const char* value = std::getenv("KILN_LOG");
  if (value == nullptr) return false;
  const std::string_view v(value);
  return v == "all" || v.find("fusion") != std::string_view::npos;
}

// KILN_GROUP_KERNELS=0 keeps one kernel per materialized value (to measure what grouping
// gives, or to rule it out). Read at every call, like KILN_LOG.
bool group_kernels_enabled() {
  const char* value = std::getenv("KILN_GROUP_KERNELS");
  return value == nullptr || std::string_view(value) != "0";
}

}  // namespace

ir::Program lower_program(const ir::Graph& graph) {
  ir::Program program = lower_to_loops(graph, plan_fusion(graph));
  if (group_kernels_enabled()) group_sibling_kernels(graph, program);
  program.memory = plan_memory(graph, program);
  if (log_fusion()) {
    // One write, so that lines from concurrent realizations do not interleave.
    std::ostringstream out;
    out << "// fusion: " << program.steps.size() << " steps for " << graph.size() << " nodes\n";
    for (const std::string& line : program.decisions) out << "//   " << line << "\n";
    std::cerr << out.str();
  }
  return program;
}

}  // namespace kiln::passes
