// The verifier: a valid graph passes, and each rule rejects a graph that breaks it with an
// error naming the node and its op.
#include <string>

#include <gtest/gtest.h>

#include "ir/op_samples.h"
#include "kiln/ir/graph.h"

namespace kiln::ir {
namespace {

using testing::ty;

void expect_rejected(const Graph& g, const std::string& message) {
  const absl::Status s = verify(g);
  ASSERT_FALSE(s.ok()) << "accepted:\n" << to_string(g);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find(message), std::string::npos) << s;
}

// %0 = input f32[2, 3], %1 = input f32[2, 3]; callers append the node under test.
Graph two_inputs() {
  Graph g;
  g.add_input(ty(float32, {2, 3}));
  g.add_input(ty(float32, {2, 3}));
  return g;
}

TEST(Verify, AcceptsEverySample) {
  for (int i = 0; i < kNumOps; ++i) {
    auto g = testing::sample_graph(static_cast<Op>(i));
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_TRUE(verify(*g).ok()) << verify(*g);
  }
}

TEST(Verify, AcceptsEmptyGraphAndUnusedNodes) {
  EXPECT_TRUE(verify(Graph{}).ok());
  Graph g = two_inputs();
  g.add_constant(1, int64);
  EXPECT_TRUE(verify(g).ok());
}

TEST(Verify, RejectsForwardOperand) {
  Graph g = two_inputs();
  g.add_node(Node{Op::neg, ty(float32, {2, 3}), {3}, NoAttrs{}});
  g.add_node(Node{Op::neg, ty(float32, {2, 3}), {0}, NoAttrs{}});
  expect_rejected(g, "node %2: neg: operand %3 is not defined before its use");
}

TEST(Verify, RejectsSelfOperand) {
  Graph g = two_inputs();
  g.add_node(Node{Op::neg, ty(float32, {2, 3}), {2}, NoAttrs{}});
  expect_rejected(g, "node %2: neg: operand %2 is not defined");
}

TEST(Verify, RejectsNegativeOperand) {
  Graph g = two_inputs();
  g.add_node(Node{Op::neg, ty(float32, {2, 3}), {-1}, NoAttrs{}});
  expect_rejected(g, "node %2: neg: operand %-1 is not defined");
}

TEST(Verify, RejectsWrongArity) {
  Graph g = two_inputs();
  g.add_node(Node{Op::add, ty(float32, {2, 3}), {0, 1, 0}, NoAttrs{}});
  expect_rejected(g, "node %2: add: expects 2 operands, got 3");
}

TEST(Verify, RejectsVariadicOpWithoutOperands) {
  Graph g;
  g.add_node(Node{Op::cat, ty(float32, {2}), {}, AxisAttrs{0}});
  expect_rejected(g, "node %0: cat:");
}

TEST(Verify, RejectsWrongAttributeStruct) {
  Graph g = two_inputs();
  g.add_node(Node{Op::neg, ty(float32, {2, 3}), {0}, CastAttrs{float32}});
  expect_rejected(g, "node %2: neg: wrong attribute kind");
}

TEST(Verify, RejectsInputIndexOutOfOrder) {
  Graph g;
  g.add_node(Node{Op::input, ty(float32, {2}), {}, InputAttrs{1}});
  g.add_node(Node{Op::input, ty(float32, {2}), {}, InputAttrs{0}});
  expect_rejected(g, "node %0: input: index 1 out of order, expected 0");
}

TEST(Verify, RejectsRepeatedInputIndex) {
  Graph g;
  g.add_input(ty(float32, {2}));
  g.add_node(Node{Op::input, ty(float32, {2}), {}, InputAttrs{0}});
  expect_rejected(g, "node %1: input: index 0 out of order, expected 1");
}

TEST(Verify, AcceptsInputsAfterOtherNodes) {
  Graph g;
  g.add_constant(1.0, float32);
  g.add_input(ty(float32, {2}));
  EXPECT_TRUE(verify(g).ok()) << verify(g);
}

TEST(Verify, RejectsOutputOutOfRange) {
  Graph g = two_inputs();
  g.set_outputs({1, 2});
  expect_rejected(g, "output 1 refers to %2, which is not a node");
  g.set_outputs({-1});
  expect_rejected(g, "output 0 refers to %-1");
}

TEST(Verify, RejectsDeclaredTypeThatDiffersFromInferred) {
  Graph g = two_inputs();
  g.add_node(Node{Op::add, ty(float32, {3, 2}), {0, 1}, NoAttrs{}});
  expect_rejected(g, "node %2: add: declared type f32[3, 2] differs from the inferred f32[2, 3]");
}

TEST(Verify, RejectsDeclaredDTypeThatDiffersFromInferred) {
  Graph g = two_inputs();
  g.add_node(Node{Op::lt, ty(float32, {2, 3}), {0, 1}, NoAttrs{}});
  expect_rejected(g, "node %2: lt: declared type f32[2, 3] differs from the inferred b8[2, 3]");
}

TEST(Verify, RejectsInferenceFailure) {
  Graph g = two_inputs();
  g.add_node(Node{Op::permute, ty(float32, {3, 2}), {0}, PermuteAttrs{{1, 1}}});
  expect_rejected(g, "node %2: permute: [1, 1] is not a permutation");
}

TEST(Verify, RejectsNonScalarConstant) {
  Graph g;
  g.add_node(Node{Op::constant, ty(float32, {2}), {}, ConstantAttrs{1.0}});
  expect_rejected(g, "node %0: constant: constants are 0-d, got f32[2]");
}

TEST(Verify, RejectsNegativeSize) {
  Graph g;
  g.add_input(ty(float32, {2, -3}));
  expect_rejected(g, "node %0: input: invalid shape in type f32[2, -3]");
}

TEST(Verify, RejectsElementCountOverflow) {
  Graph g;
  g.add_input(ty(float32, {int64_t{1} << 40, int64_t{1} << 40}));
  expect_rejected(g, "node %0: input: invalid shape");
}

TEST(Verify, ReportsTheFirstBadNode) {
  Graph g = two_inputs();
  g.add_node(Node{Op::exp, ty(int32, {2, 3}), {0}, NoAttrs{}});
  g.add_node(Node{Op::neg, ty(float32, {2, 3}), {7}, NoAttrs{}});
  expect_rejected(g, "node %2: exp:");
}

}  // namespace
}  // namespace kiln::ir
