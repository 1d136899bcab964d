// Memory planning: buffers die after their last reader, and kernel-written intermediates of
// one size with disjoint lifetimes share a slot.
#include <gtest/gtest.h>

#include <string>

#include "kiln/ir/graph.h"
#include "kiln/passes/fusion.h"
#include "kiln/passes/lower_loops.h"
#include "kiln/passes/lower_program.h"
#include "kiln/passes/plan_memory.h"

namespace kiln::passes {
namespace {

// Appends to `text` a value too costly to recompute (eight transcendental functions of `in`)
// as %first..%first+7, and returns its id.
int heavy_value(std::string& text, int in, int first) {
  const char* const ops[] = {"exp", "tanh", "sin", "cos", "log", "sqrt", "sigmoid", "erf"};
  for (int i = 0; i < 8; ++i)
    text += "%" + std::to_string(first + i) + " = " + ops[i] + "(%" +
            std::to_string(i == 0 ? in : first + i - 1) + ") : f32[6, 4]\n";
  return first + 7;
}

// Three heavy values, each read by three consumers, so each is materialized: A feeds B, B
// feeds C, C feeds the outputs. A is dead once B is computed, so C (A's size) takes A's memory.
std::string chain_of_heavy_values() {
  std::string text = "%0 = input() {index=0} : f32[6, 4]\n";
  int next = 1;
  int value = 0;
  for (int round = 0; round < 3; ++round) {
    value = heavy_value(text, value, next);
    const std::string v = "%" + std::to_string(value);
    const std::string a = "%" + std::to_string(value + 1), b = "%" + std::to_string(value + 2),
                      c = "%" + std::to_string(value + 3);
    if (round < 2) {  // three uses folded into the next heavy value's input
      text += a + " = mul(" + v + ", " + v + ") : f32[6, 4]\n";
      text += b + " = add(" + a + ", " + v + ") : f32[6, 4]\n";
      text += c + " = sub(" + b + ", " + v + ") : f32[6, 4]\n";
      value += 3;
      next = value + 1;
    } else {  // three outputs
      text += a + " = mul(" + v + ", " + v + ") : f32[6, 4]\n";
      text += b + " = add(" + v + ", " + v + ") : f32[6, 4]\n";
      text += c + " = sub(" + v + ", " + v + ") : f32[6, 4]\n";
      text += "return " + a + ", " + b + ", " + c + "\n";
    }
  }
  return text;
}

TEST(PlanMemory, DeadBuffersAreReusedBySameSizedValues) {
  auto g = ir::parse_graph(chain_of_heavy_values());
  ASSERT_TRUE(g.ok()) << g.status();
  // One kernel per materialized value (no grouping of siblings), so that each value has its
  // own step.
  const ir::Program program = lower_to_loops(*g, plan_fusion(*g));
  const ir::MemoryPlan plan = plan_memory(*g, program);
  ASSERT_EQ(plan.release_after.size(), program.steps.size());
  // The three heavy values are intermediates with slots; the first and the last share one.
  std::vector<ir::ValueId> slotted;
  for (ir::ValueId v = 0; v < g->size(); ++v)
    if (plan.slot[static_cast<size_t>(v)] >= 0) slotted.push_back(v);
  ASSERT_EQ(slotted, (std::vector<ir::ValueId>{8, 19, 30}));
  EXPECT_EQ(plan.slot[8], plan.slot[30]);
  EXPECT_NE(plan.slot[8], plan.slot[19]);
  EXPECT_EQ(plan.num_slots, 2);
  // A dies right after B's step, B after C's; outputs and the input never die.
  std::vector<ir::ValueId> released;
  for (const auto& step : plan.release_after)
    released.insert(released.end(), step.begin(), step.end());
  EXPECT_EQ(released, (std::vector<ir::ValueId>{8, 19, 30}));
  // Peak: two heavy values (96 bytes each) plus the outputs at the end, less than all six.
  EXPECT_EQ(plan.unplanned_bytes, 6 * 96);
  EXPECT_EQ(plan.peak_bytes, 4 * 96);
}

TEST(PlanMemory, ValuesOfOtherSizesDoNotShareSlots) {
  std::string text = "%0 = input() {index=0} : f32[6, 4]\n";
  heavy_value(text, 0, 1);
  text +=
      "%9 = add(%8, %8) : f32[6, 4]\n"
      "%10 = mul(%8, %8) : f32[6, 4]\n"
      "%11 = sum(%9) {axes=[1], keepdim=false} : f32[6]\n"
      "%12 = sum(%10) {axes=[1], keepdim=false} : f32[6]\n"
      "%13 = add(%11, %12) : f32[6]\n"
      "return %13\n";
  auto g = ir::parse_graph(text);
  ASSERT_TRUE(g.ok()) << g.status();
  const ir::Program program = lower_program(*g);
  const ir::MemoryPlan& plan = program.memory;
  for (ir::ValueId a = 0; a < g->size(); ++a)
    for (ir::ValueId b = a + 1; b < g->size(); ++b)
      if (plan.slot[a] >= 0 && plan.slot[a] == plan.slot[b]) {
        EXPECT_EQ(g->node(a).type, g->node(b).type) << "%" << a << " and %" << b;
      }
  EXPECT_LE(plan.peak_bytes, plan.unplanned_bytes);
}

}  // namespace
}  // namespace kiln::passes
