// Sibling kernels (passes/group_kernels.h): which kernel steps merge, and the limits.
#include <gtest/gtest.h>

#include <string>

#include "kiln/ir/graph.h"
#include "kiln/passes/group_kernels.h"
#include "kiln/passes/lower_program.h"

namespace kiln::passes {
namespace {

ir::Program lower(const std::string& text) {
  absl::StatusOr<ir::Graph> g = ir::parse_graph(text);
  if (!g.ok()) {
    ADD_FAILURE() << g.status();
    return {};
  }
  return lower_program(*g);
}

TEST(GroupKernels, AKernelTakesAtMostEightStores) {
  std::string text = "%0 = input() {index=0} : f32[50]\n";
  std::string ret = "return ";
  for (int i = 1; i <= 10; ++i) {
    const std::string v = "%" + std::to_string(2 * i - 1), s = "%" + std::to_string(2 * i);
    text += v + " = mul(%0, %0) : f32[50]\n";
    text += s + " = sum(" + v + ") {axes=[0], keepdim=false} : f32[]\n";
    ret += (i > 1 ? ", " : "") + s;
  }
  // The products are all the same expression; CSE in the pipeline is not run here, so each
  // sum reads its own, and the merged kernel computes it once.
  const ir::Program program = lower(text + ret + "\n");
  ASSERT_EQ(program.steps.size(), 2u);
  EXPECT_EQ(program.steps[0].kernel.stores.size(), kMaxGroupStores);
  EXPECT_EQ(program.steps[1].kernel.stores.size(), 10 - kMaxGroupStores);
  int muls = 0;
  for (const ir::KernelExpr& e : program.steps[0].kernel.exprs)
    muls += e.kind == ir::KernelExpr::Kind::kOp && e.op == ir::Op::mul;
  EXPECT_EQ(muls, 1);
}

TEST(GroupKernels, OnlyTheSameReductionOverTheSameSpaceMerges) {
  const ir::Program program = lower(
      "%0 = input() {index=0} : f32[8, 50]\n"
      "%1 = sum(%0) {axes=[1], keepdim=false} : f32[8]\n"
      "%2 = amax(%0) {axes=[1], keepdim=false} : f32[8]\n"
      "%3 = amax(%0) {axes=[1], keepdim=true} : f32[8, 1]\n"
      "%4 = sum(%0) {axes=[0], keepdim=false} : f32[50]\n"
      "%5 = cast(%0) {to=f64} : f64[8, 50]\n"
      "%6 = sum(%5) {axes=[1], keepdim=false} : f64[8]\n"
      "%7 = prod(%0) {axes=[1], keepdim=false} : f32[8]\n"
      "%8 = sum(%0) {axes=[1], keepdim=true} : f32[8, 1]\n"
      "return %1, %2, %3, %4, %6, %7, %8\n");
  // sum over dim 1 (%1 and %8: keepdim only changes the output's shape); the extremes each
  // alone; sum over dim 0; the float64 sum; the product.
  ASSERT_EQ(program.steps.size(), 6u);
  EXPECT_EQ(program.steps[0].kernel.stores.size(), 2u);
  for (size_t s = 1; s < program.steps.size(); ++s)
    EXPECT_EQ(program.steps[s].kernel.stores.size(), 1u) << "step " << s;
}

TEST(GroupKernels, NoKernelMovesAcrossALibraryStep) {
  const ir::Program program = lower(
      "%0 = input() {index=0} : f32[16, 16]\n"
      "%1 = add(%0, %0) : f32[16, 16]\n"
      "%2 = matmul(%0, %0) : f32[16, 16]\n"
      "%3 = sub(%0, %0) : f32[16, 16]\n"
      "return %1, %2, %3\n");
  ASSERT_EQ(program.steps.size(), 3u);
  EXPECT_EQ(program.steps[0].kernel.stores.size(), 1u);
  EXPECT_EQ(program.steps[2].kernel.stores.size(), 1u);
}

TEST(GroupKernels, AReaderOfAnotherLayoutWaitsForTheValue) {
  // %2 reads %1 transposed: not the element the first kernel stores at the same point, so it
  // runs after that kernel instead of inside it.
  const ir::Program program = lower(
      "%0 = input() {index=0} : f32[8, 8]\n"
      "%1 = mul(%0, %0) : f32[8, 8]\n"
      "%2 = permute(%1) {perm=[1, 0]} : f32[8, 8]\n"
      "%3 = add(%2, %0) : f32[8, 8]\n"
      "%4 = add(%1, %0) : f32[8, 8]\n"
      "return %1, %3, %4\n");
  ASSERT_EQ(program.steps.size(), 2u);
  EXPECT_EQ(program.steps[0].kernel.stores.size(), 2u);  // %1 and %4, which reads %1 in place
  EXPECT_EQ(program.steps[1].arg_values.back(), 3);
}

// Appends a chain of twenty multiplications by %0 as %first..%first+19: too much work to
// recompute in each of several consumers, so fusion materializes it.
std::string heavy(int first, const std::string& type) {
  std::string text;
  for (int i = 0; i < 20; ++i)
    text += "%" + std::to_string(first + i) + " = mul(%" +
            std::to_string(i == 0 ? 0 : first + i - 1) + ", %0) : " + type + "\n";
  return text;
}

bool is_materialized(const ir::Program& program, ir::ValueId v) {
  for (ir::ValueId m : program.materialized)
    if (m == v) return true;
  return false;
}

TEST(GroupKernels, AValueReadOnlyByOneGroupedKernelNeedsNoBuffer) {
  // %20 is materialized (four consumers); the four sums share one kernel, which then computes
  // %20 itself, point for point: one kernel, no buffer for %20.
  const ir::Program program = lower("%0 = input() {index=0} : f32[64]\n" + heavy(1, "f32[64]") +
                                    "%21 = sum(%20) {axes=[0], keepdim=false} : f32[]\n"
                                    "%22 = mul(%20, %0) : f32[64]\n"
                                    "%23 = sum(%22) {axes=[0], keepdim=false} : f32[]\n"
                                    "%24 = add(%20, %0) : f32[64]\n"
                                    "%25 = sum(%24) {axes=[0], keepdim=false} : f32[]\n"
                                    "%26 = sub(%20, %0) : f32[64]\n"
                                    "%27 = sum(%26) {axes=[0], keepdim=false} : f32[]\n"
                                    "return %21, %23, %25, %27\n");
  ASSERT_EQ(program.steps.size(), 1u);
  EXPECT_EQ(program.steps[0].kernel.stores.size(), 4u);
  EXPECT_FALSE(is_materialized(program, 20));
  for (ir::ValueId v : program.steps[0].arg_values) EXPECT_NE(v, 20);
}

TEST(GroupKernels, AValueWhoseReadersJoinedItsKernelIsNotStored) {
  // The three elementwise consumers of %20 join its kernel and take its expression: nothing
  // reads its buffer any more, so the kernel stores only them.
  const ir::Program program = lower("%0 = input() {index=0} : f32[64]\n" + heavy(1, "f32[64]") +
                                    "%21 = mul(%20, %0) : f32[64]\n"
                                    "%22 = add(%20, %0) : f32[64]\n"
                                    "%23 = sub(%20, %0) : f32[64]\n"
                                    "return %21, %22, %23\n");
  ASSERT_EQ(program.steps.size(), 1u);
  EXPECT_EQ(program.steps[0].kernel.stores.size(), 3u);
  EXPECT_FALSE(is_materialized(program, 20));
}

TEST(GroupKernels, AValueReadInTwoKernelsKeepsItsBuffer) {
  // The sums over dims 0 and 1 iterate the same sizes (8 kept x 8 reduced), but one reads %20
  // by columns and the other by rows, which a code generator may add in different orders
  // (reads_rows): two kernels read %20, so it stays a buffer. The elementwise consumer joins
  // %20's kernel.
  const ir::Program program = lower("%0 = input() {index=0} : f32[8, 8]\n" + heavy(1, "f32[8, 8]") +
                                    "%21 = sum(%20) {axes=[0], keepdim=false} : f32[8]\n"
                                    "%22 = sum(%20) {axes=[1], keepdim=false} : f32[8]\n"
                                    "%23 = add(%20, %0) : f32[8, 8]\n"
                                    "return %21, %22, %23\n");
  EXPECT_TRUE(is_materialized(program, 20));
  ASSERT_EQ(program.steps.size(), 3u);
  EXPECT_EQ(program.steps[0].kernel.stores.size(), 2u);  // %20 and %23
  EXPECT_EQ(program.steps[1].kernel.stores.size(), 1u);
  EXPECT_EQ(program.steps[2].kernel.stores.size(), 1u);
}

}  // namespace
}  // namespace kiln::passes
