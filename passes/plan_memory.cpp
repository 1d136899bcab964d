#include "kiln/passes/plan_memory.h"

#include <algorithm>
#include <map>

namespace kiln::passes {
namespace {

int64_t bytes_of(const ir::TensorType& type) {
  return numel(type.shape) * static_cast<int64_t>(itemsize(type.dtype));
}

// Every value a step reads or writes (epilogues included).
template <class Fn>
void for_each_value(const ir::ProgramStep& step, Fn&& fn) {
  if (step.kind == ir::ProgramStep::Kind::kNode) {
    fn(step.node);
    for (const ir::OperandView& view : step.operands) fn(view.value);
    for (const ir::ProgramStep& epilogue : step.epilogue)
      for (ir::ValueId v : epilogue.arg_values) fn(v);
    return;
  }
  for (ir::ValueId v : step.arg_values) fn(v);
}

}  // namespace

ir::MemoryPlan plan_memory(const ir::Graph& graph, const ir::Program& program) {
  const size_t n = static_cast<size_t>(graph.size());
  const size_t steps = program.steps.size();
  std::vector<bool> is_output(n, false);
  for (ir::ValueId out : graph.outputs()) is_output[static_cast<size_t>(out)] = true;
  std::vector<int64_t> first(n, -1), last(n, -1);
  for (size_t s = 0; s < steps; ++s) {
    for_each_value(program.steps[s], [&](ir::ValueId v) {
      const size_t i = static_cast<size_t>(v);
      if (first[i] < 0) first[i] = static_cast<int64_t>(s);
      last[i] = static_cast<int64_t>(s);
    });
  }

  ir::MemoryPlan plan;
  plan.release_after.resize(steps);
  plan.slot.assign(n, -1);
  // Kernel-written intermediates may share memory; library routines allocate their results.
  std::vector<bool> kernel_written(n, false);
  for (const ir::ProgramStep& step : program.steps) {
    if (step.kind != ir::ProgramStep::Kind::kKernel) continue;
    for (size_t a = 0; a < step.arg_values.size(); ++a)
      if (step.kernel.args[a].is_output)
        kernel_written[static_cast<size_t>(step.arg_values[a])] = true;
  }
  std::map<int64_t, std::vector<int32_t>> free_slots;  // by byte size
  std::vector<int64_t> slot_bytes;
  int64_t live = 0;
  for (size_t s = 0; s < steps; ++s) {
    // Values born at this step take a free slot of their size (or a new one).
    for_each_value(program.steps[s], [&](ir::ValueId v) {
      const size_t i = static_cast<size_t>(v);
      const ir::Node& node = graph.node(v);
      if (first[i] != static_cast<int64_t>(s) || node.op == ir::Op::input ||
          node.op == ir::Op::constant || plan.slot[i] >= 0)
        return;
      const int64_t bytes = bytes_of(node.type);
      live += bytes;
      plan.unplanned_bytes += bytes;
      if (is_output[i] || !kernel_written[i]) return;
      std::vector<int32_t>& candidates = free_slots[bytes];
      if (candidates.empty()) {
        plan.slot[i] = plan.num_slots++;
        slot_bytes.push_back(bytes);
      } else {
        plan.slot[i] = candidates.back();
        candidates.pop_back();
      }
    });
    plan.peak_bytes = std::max(plan.peak_bytes, live);
    // Values read for the last time here die after it (outputs and inputs never do).
    for_each_value(program.steps[s], [&](ir::ValueId v) {
      const size_t i = static_cast<size_t>(v);
      const ir::Node& node = graph.node(v);
      if (last[i] != static_cast<int64_t>(s) || is_output[i] || node.op == ir::Op::input ||
          node.op == ir::Op::constant)
        return;
      last[i] = -2;  // released once even when the step names it twice
      plan.release_after[s].push_back(v);
      live -= bytes_of(node.type);
      if (plan.slot[i] >= 0) free_slots[bytes_of(node.type)].push_back(plan.slot[i]);
    });
  }
  return plan;
}

}  // namespace kiln::passes
