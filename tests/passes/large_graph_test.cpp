// Graphs far deeper than any call stack: every walk (printer, parser, verifier, passes) must be
// iterative. A 100,002-node chain prints, parses, verifies and runs through cse+dce.
#include <gtest/gtest.h>

#include "kiln/ir/graph.h"
#include "kiln/passes/pass_manager.h"

namespace kiln::passes {
namespace {

TEST(LargeGraph, HundredThousandNodeChain) {
  ir::Graph g;
  ir::ValueId x = g.add_input(ir::TensorType{float32, {4}});
  // Each step adds a value, a duplicate of it (for CSE), a dead node (for DCE) and their sum.
  constexpr int kSteps = 25'000;
  for (int i = 0; i < kSteps; ++i) {
    const ir::ValueId a = *g.add(ir::Op::neg, {x}, ir::NoAttrs{});
    const ir::ValueId b = *g.add(ir::Op::neg, {x}, ir::NoAttrs{});
    ASSERT_TRUE(g.add(ir::Op::exp, {a}, ir::NoAttrs{}).ok());
    x = *g.add(ir::Op::add, {b, a}, ir::NoAttrs{});
  }
  g.set_outputs({x});
  ASSERT_EQ(g.size(), 1 + 4 * kSteps);

  const std::string text = ir::to_string(g);
  auto parsed = ir::parse_graph(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(ir::verify(*parsed).ok());
  EXPECT_EQ(ir::to_string(*parsed), text);

  auto pm = PassManager::from_pipeline("cse,dce");
  ASSERT_TRUE(pm.ok());
  auto changed = pm->run(*parsed);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  // What remains: the input, then neg and add per step.
  ASSERT_EQ(parsed->size(), 1 + 2 * kSteps);
  EXPECT_EQ(parsed->outputs(), std::vector<ir::ValueId>{2 * kSteps});
  EXPECT_EQ(parsed->node(1).op, ir::Op::neg);
  EXPECT_EQ(parsed->node(2).op, ir::Op::add);
  EXPECT_EQ(parsed->node(2).inputs, (absl::InlinedVector<ir::ValueId, 3>{1, 1}));
}

}  // namespace
}  // namespace kiln::passes
