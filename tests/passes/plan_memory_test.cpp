// Memory planning: buffers die after their last reader, and kernel-written intermediates of
// one size with disjoint lifetimes share a slot.
#include <gtest/gtest.h>

#include "kiln/ir/graph.h"
#include "kiln/passes/lower_program.h"

namespace kiln::passes {
namespace {

// Three values too costly to recompute (eight transcendental functions each), each read by
// three consumers, so each is materialized: A feeds B, B feeds C, C feeds the outputs. A is
// dead once B is computed, so C (A's size) takes A's memory.
constexpr const char* kChainOfHeavyValues = R"(
%0 = input() {index=0} : f32[6, 4]
%1 = exp(%0) : f32[6, 4]
%2 = tanh(%1) : f32[6, 4]
%3 = sin(%2) : f32[6, 4]
%4 = cos(%3) : f32[6, 4]
%5 = log(%4) : f32[6, 4]
%6 = sqrt(%5) : f32[6, 4]
%7 = sigmoid(%6) : f32[6, 4]
%8 = erf(%7) : f32[6, 4]
%9 = mul(%8, %8) : f32[6, 4]
%10 = add(%9, %8) : f32[6, 4]
%11 = sub(%10, %8) : f32[6, 4]
%12 = exp(%11) : f32[6, 4]
%13 = tanh(%12) : f32[6, 4]
%14 = sin(%13) : f32[6, 4]
%15 = cos(%14) : f32[6, 4]
%16 = log(%15) : f32[6, 4]
%17 = sqrt(%16) : f32[6, 4]
%18 = sigmoid(%17) : f32[6, 4]
%19 = erf(%18) : f32[6, 4]
%20 = mul(%19, %19) : f32[6, 4]
%21 = add(%20, %19) : f32[6, 4]
%22 = sub(%21, %19) : f32[6, 4]
%23 = exp(%22) : f32[6, 4]
%24 = tanh(%23) : f32[6, 4]
%25 = sin(%24) : f32[6, 4]
%26 = cos(%25) : f32[6, 4]
%27 = log(%26) : f32[6, 4]
%28 = sqrt(%27) : f32[6, 4]
%29 = sigmoid(%28) : f32[6, 4]
%30 = erf(%29) : f32[6, 4]
%31 = mul(%30, %30) : f32[6, 4]
%32 = add(%30, %30) : f32[6, 4]
%33 = sub(%30, %30) : f32[6, 4]
return %31, %32, %33
)";

TEST(PlanMemory, DeadBuffersAreReusedBySameSizedValues) {
  auto g = ir::parse_graph(kChainOfHeavyValues);
  ASSERT_TRUE(g.ok()) << g.status();
  const ir::Program program = lower_program(*g);
  const ir::MemoryPlan& plan = program.memory;
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
  auto g = ir::parse_graph(R"(
%0 = input() {index=0} : f32[6, 4]
%1 = exp(%0) : f32[6, 4]
%2 = tanh(%1) : f32[6, 4]
%3 = sin(%2) : f32[6, 4]
%4 = cos(%3) : f32[6, 4]
%5 = log(%4) : f32[6, 4]
%6 = sqrt(%5) : f32[6, 4]
%7 = sigmoid(%6) : f32[6, 4]
%8 = erf(%7) : f32[6, 4]
%9 = add(%8, %8) : f32[6, 4]
%10 = mul(%8, %8) : f32[6, 4]
%11 = sum(%9) {axes=[1], keepdim=false} : f32[6]
%12 = sum(%10) {axes=[1], keepdim=false} : f32[6]
%13 = add(%11, %12) : f32[6]
return %13
)");
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
