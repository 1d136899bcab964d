// Golden tests for lowering to loop IR: IR text in, each step's kernel and launch out (sizes,
// per-argument strides and offsets after canonicalize_launch), one behaviour per case.
#include "kiln/passes/lower_loops.h"

#include <gtest/gtest.h>

#include "passes/loop_test_util.h"

namespace kiln::passes {
namespace {

using testing::count_steps;
using testing::lowered_text;

TEST(LowerLoops, AnElementwiseChainBecomesOneKernel) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[2, 3]\n"
                         "%1 = input() {index=1} : f32[2, 3]\n"
                         "%2 = mul(%0, %1) : f32[2, 3]\n"
                         "%3 = exp(%2) : f32[2, 3]\n"
                         "%4 = constant() {value=2.0} : f32[]\n"
                         "%5 = reshape(%4) {shape=[1, 1]} : f32[1, 1]\n"
                         "%6 = expand(%5) {shape=[2, 3]} : f32[2, 3]\n"
                         "%7 = add(%3, %6) : f32[2, 3]\n"
                         "return %7\n"),
            "kernel elementwise rank=1\n"
            "  arg0: f32 in [s+unit]\n"
            "  arg1: f32 in [s+unit]\n"
            "  arg2: f32 out [s+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = load arg1 : f32\n"
            "  %2 = mul(%0, %1) : f32\n"
            "  %3 = exp(%2) : f32\n"
            "  %4 = constant 2.0 : f32\n"
            "  %5 = add(%3, %4) : f32\n"
            "  store arg2 <- %5\n"
            "  sizes [6]\n"
            "  arg0 = %0 strides [1] offset 0\n"
            "  arg1 = %1 strides [1] offset 0\n"
            "  arg2 = %7 strides [1] offset 0\n");
}

TEST(LowerLoops, ASharedOperandIsLoadedOnce) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : i32[4]\n"
                         "%1 = cast(%0) {to=f32} : f32[4]\n"
                         "%2 = mul(%1, %1) : f32[4]\n"
                         "return %2\n"),
            "kernel elementwise rank=1\n"
            "  arg0: i32 in [s+unit]\n"
            "  arg1: f32 out [s+unit]\n"
            "  %0 = load arg0 : i32\n"
            "  %1 = cast(%0) : f32\n"
            "  %2 = mul(%1, %1) : f32\n"
            "  store arg1 <- %2\n"
            "  sizes [4]\n"
            "  arg0 = %0 strides [1] offset 0\n"
            "  arg1 = %2 strides [1] offset 0\n");
}

TEST(LowerLoops, ATransposeFoldsIntoPermutedStrides) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[2, 3]\n"
                         "%1 = permute(%0) {perm=[1, 0]} : f32[3, 2]\n"
                         "%2 = neg(%1) : f32[3, 2]\n"
                         "return %2\n"),
            "kernel elementwise rank=2\n"
            "  arg0: f32 in [ss]\n"
            "  arg1: f32 out [ss+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = neg(%0) : f32\n"
            "  store arg1 <- %1\n"
            "  sizes [3, 2]\n"
            "  arg0 = %0 strides [1, 3] offset 0\n"
            "  arg1 = %2 strides [2, 1] offset 0\n");
}

TEST(LowerLoops, ABroadcastIsAZeroStride) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[3]\n"
                         "%1 = input() {index=1} : f32[4, 3]\n"
                         "%2 = reshape(%0) {shape=[1, 3]} : f32[1, 3]\n"
                         "%3 = expand(%2) {shape=[4, 3]} : f32[4, 3]\n"
                         "%4 = add(%3, %1) : f32[4, 3]\n"
                         "return %4\n"),
            "kernel elementwise rank=2\n"
            "  arg0: f32 in [0s+unit]\n"
            "  arg1: f32 in [ss+unit]\n"
            "  arg2: f32 out [ss+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = load arg1 : f32\n"
            "  %2 = add(%0, %1) : f32\n"
            "  store arg2 <- %2\n"
            "  sizes [4, 3]\n"
            "  arg0 = %0 strides [0, 1] offset 0\n"
            "  arg1 = %1 strides [3, 1] offset 0\n"
            "  arg2 = %4 strides [3, 1] offset 0\n");
}

TEST(LowerLoops, SliceStartsAreOffsetsAndStepsScaleStrides) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[4, 7]\n"
                         "%1 = slice(%0) {dim=1, start=1, stop=7, step=2} : f32[4, 3]\n"
                         "%2 = slice(%1) {dim=0, start=1, stop=4, step=1} : f32[3, 3]\n"
                         "%3 = neg(%2) : f32[3, 3]\n"
                         "return %3\n"),
            "kernel elementwise rank=2\n"
            "  arg0: f32 in [ss]\n"
            "  arg1: f32 out [ss+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = neg(%0) : f32\n"
            "  store arg1 <- %1\n"
            "  sizes [3, 3]\n"
            "  arg0 = %0 strides [7, 2] offset 8\n"
            "  arg1 = %3 strides [3, 1] offset 0\n");
}

TEST(LowerLoops, AStepSliceThatWalksEvenlyAcrossRowsMergesToOneDim) {
  // Columns 1, 3, 5 of rows of 6: every element is 2 further than the one before.
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[4, 6]\n"
                         "%1 = slice(%0) {dim=1, start=1, stop=6, step=2} : f32[4, 3]\n"
                         "%2 = slice(%1) {dim=0, start=1, stop=4, step=1} : f32[3, 3]\n"
                         "%3 = neg(%2) : f32[3, 3]\n"
                         "return %3\n"),
            "kernel elementwise rank=1\n"
            "  arg0: f32 in [s]\n"
            "  arg1: f32 out [s+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = neg(%0) : f32\n"
            "  store arg1 <- %1\n"
            "  sizes [9]\n"
            "  arg0 = %0 strides [2] offset 7\n"
            "  arg1 = %3 strides [1] offset 0\n");
}

TEST(LowerLoops, SlicesOfSlicesComposeStartsAndSteps) {
  // Elements 1, 3, 5, 7, 9, then every other one of those from the second: 3 and 7.
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[10]\n"
                         "%1 = slice(%0) {dim=0, start=1, stop=10, step=2} : f32[5]\n"
                         "%2 = slice(%1) {dim=0, start=1, stop=5, step=2} : f32[2]\n"
                         "%3 = neg(%2) : f32[2]\n"
                         "return %3\n"),
            "kernel elementwise rank=1\n"
            "  arg0: f32 in [s]\n"
            "  arg1: f32 out [s+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = neg(%0) : f32\n"
            "  store arg1 <- %1\n"
            "  sizes [2]\n"
            "  arg0 = %0 strides [4] offset 3\n"
            "  arg1 = %3 strides [1] offset 0\n");
}

TEST(LowerLoops, AUnitDimReshapeFoldsAndItsSizeOneDimIsDropped) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[2, 3]\n"
                         "%1 = permute(%0) {perm=[1, 0]} : f32[3, 2]\n"
                         "%2 = reshape(%1) {shape=[3, 1, 2]} : f32[3, 1, 2]\n"
                         "%3 = neg(%2) : f32[3, 1, 2]\n"
                         "return %3\n"),
            "kernel elementwise rank=2\n"
            "  arg0: f32 in [ss]\n"
            "  arg1: f32 out [ss+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = neg(%0) : f32\n"
            "  store arg1 <- %1\n"
            "  sizes [3, 2]\n"
            "  arg0 = %0 strides [1, 3] offset 0\n"
            "  arg1 = %3 strides [2, 1] offset 0\n");
}

TEST(LowerLoops, AViewChainOfAComputedValueFoldsIntoOneKernel) {
  // exp(x) is recomputed at the points the views select; nothing is materialized between.
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[4, 6]\n"
                         "%1 = exp(%0) : f32[4, 6]\n"
                         "%2 = permute(%1) {perm=[1, 0]} : f32[6, 4]\n"
                         "%3 = slice(%2) {dim=0, start=2, stop=6, step=3} : f32[2, 4]\n"
                         "%4 = reshape(%3) {shape=[2, 1, 4]} : f32[2, 1, 4]\n"
                         "%5 = expand(%4) {shape=[2, 5, 4]} : f32[2, 5, 4]\n"
                         "%6 = neg(%5) : f32[2, 5, 4]\n"
                         "return %6\n"),
            "kernel elementwise rank=3\n"
            "  arg0: f32 in [s0s]\n"
            "  arg1: f32 out [sss+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = exp(%0) : f32\n"
            "  %2 = neg(%1) : f32\n"
            "  store arg1 <- %2\n"
            "  sizes [2, 5, 4]\n"
            "  arg0 = %0 strides [3, 0, 6] offset 2\n"
            "  arg1 = %6 strides [20, 4, 1] offset 0\n");
}

TEST(LowerLoops, AsStridedOfABufferAddressesItDirectly) {
  EXPECT_EQ(
      lowered_text("%0 = input() {index=0} : f32[6]\n"
                   "%1 = as_strided(%0) {sizes=[2, 2], strides=[1, 2], offset=1} : f32[2, 2]\n"
                   "%2 = neg(%1) : f32[2, 2]\n"
                   "return %2\n"),
      "kernel elementwise rank=2\n"
      "  arg0: f32 in [ss]\n"
      "  arg1: f32 out [ss+unit]\n"
      "  %0 = load arg0 : f32\n"
      "  %1 = neg(%0) : f32\n"
      "  store arg1 <- %1\n"
      "  sizes [2, 2]\n"
      "  arg0 = %0 strides [1, 2] offset 1\n"
      "  arg1 = %2 strides [2, 1] offset 0\n");
}

TEST(LowerLoops, ARegroupingReshapeOfABufferReadsItRowMajor) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[2, 3]\n"
                         "%1 = reshape(%0) {shape=[3, 2]} : f32[3, 2]\n"
                         "%2 = permute(%1) {perm=[1, 0]} : f32[2, 3]\n"
                         "%3 = neg(%2) : f32[2, 3]\n"
                         "return %3\n"),
            "kernel elementwise rank=2\n"
            "  arg0: f32 in [ss]\n"
            "  arg1: f32 out [ss+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = neg(%0) : f32\n"
            "  store arg1 <- %1\n"
            "  sizes [2, 3]\n"
            "  arg0 = %0 strides [1, 2] offset 0\n"
            "  arg1 = %3 strides [3, 1] offset 0\n");
}

TEST(LowerLoops, AMaterializedValueIsComputedOnceAndLoadedByItsConsumers) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[3]\n"
                         "%1 = exp(%0) : f32[3]\n"
                         "%2 = neg(%1) : f32[3]\n"
                         "%3 = abs(%1) : f32[3]\n"
                         "return %1, %2, %3\n"),
            "kernel elementwise rank=1\n"
            "  arg0: f32 in [s+unit]\n"
            "  arg1: f32 out [s+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = exp(%0) : f32\n"
            "  store arg1 <- %1\n"
            "  sizes [3]\n"
            "  arg0 = %0 strides [1] offset 0\n"
            "  arg1 = %1 strides [1] offset 0\n"
            "kernel elementwise rank=1\n"
            "  arg0: f32 in [s+unit]\n"
            "  arg1: f32 out [s+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = neg(%0) : f32\n"
            "  store arg1 <- %1\n"
            "  sizes [3]\n"
            "  arg0 = %1 strides [1] offset 0\n"
            "  arg1 = %2 strides [1] offset 0\n"
            "kernel elementwise rank=1\n"
            "  arg0: f32 in [s+unit]\n"
            "  arg1: f32 out [s+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = abs(%0) : f32\n"
            "  store arg1 <- %1\n"
            "  sizes [3]\n"
            "  arg0 = %1 strides [1] offset 0\n"
            "  arg1 = %3 strides [1] offset 0\n");
}

TEST(LowerLoops, LibraryStepsRunBetweenKernels) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[2, 3]\n"
                         "%1 = input() {index=1} : f32[3, 4]\n"
                         "%2 = exp(%0) : f32[2, 3]\n"
                         "%3 = matmul(%2, %1) : f32[2, 4]\n"
                         "%4 = permute(%3) {perm=[1, 0]} : f32[4, 2]\n"
                         "%5 = neg(%4) : f32[4, 2]\n"
                         "return %5\n"),
            "kernel elementwise rank=1\n"
            "  arg0: f32 in [s+unit]\n"
            "  arg1: f32 out [s+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = exp(%0) : f32\n"
            "  store arg1 <- %1\n"
            "  sizes [6]\n"
            "  arg0 = %0 strides [1] offset 0\n"
            "  arg1 = %2 strides [1] offset 0\n"
            "library %3 = matmul\n"
            "kernel elementwise rank=2\n"
            "  arg0: f32 in [ss]\n"
            "  arg1: f32 out [ss+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = neg(%0) : f32\n"
            "  store arg1 <- %1\n"
            "  sizes [4, 2]\n"
            "  arg0 = %3 strides [1, 4] offset 0\n"
            "  arg1 = %5 strides [2, 1] offset 0\n");
}

TEST(LowerLoops, AnOutputConstantGetsAKernel) {
  EXPECT_EQ(lowered_text("%0 = constant() {value=-0.0} : f16[]\n"
                         "return %0\n"),
            "kernel elementwise rank=0\n"
            "  arg0: f16 out []\n"
            "  %0 = constant -0.0 : f16\n"
            "  store arg0 <- %0\n"
            "  sizes []\n"
            "  arg0 = %0 strides [] offset 0\n");
}

TEST(LowerLoops, ARegroupingViewOfAConstantIsTheConstant) {
  // Regression for a wasted buffer: the expanded constant used to be materialized first.
  EXPECT_EQ(lowered_text("%0 = constant() {value=3} : i32[]\n"
                         "%1 = reshape(%0) {shape=[1, 1]} : i32[1, 1]\n"
                         "%2 = expand(%1) {shape=[2, 3]} : i32[2, 3]\n"
                         "%3 = reshape(%2) {shape=[3, 2]} : i32[3, 2]\n"
                         "%4 = as_strided(%3) {sizes=[2], strides=[2], offset=1} : i32[2]\n"
                         "return %4\n"),
            "kernel elementwise rank=1\n"
            "  arg0: i32 out [s+unit]\n"
            "  %0 = constant 3 : i32\n"
            "  store arg0 <- %0\n"
            "  sizes [2]\n"
            "  arg0 = %4 strides [1] offset 0\n");
}

TEST(LowerLoops, AViewOfAConstantOutputDoesNotAddressItsBuffer) {
  // The constant is an output too (a one-element buffer); the reshape still inlines it.
  EXPECT_EQ(
      lowered_text("%0 = constant() {value=3} : i32[]\n"
                   "%1 = as_strided(%0) {sizes=[2, 2], strides=[0, 0], offset=0} : i32[2, 2]\n"
                   "%2 = neg(%1) : i32[2, 2]\n"
                   "return %0, %2\n"),
      "kernel elementwise rank=0\n"
      "  arg0: i32 out []\n"
      "  %0 = constant 3 : i32\n"
      "  store arg0 <- %0\n"
      "  sizes []\n"
      "  arg0 = %0 strides [] offset 0\n"
      "kernel elementwise rank=1\n"
      "  arg0: i32 out [s+unit]\n"
      "  %0 = constant 3 : i32\n"
      "  %1 = neg(%0) : i32\n"
      "  store arg0 <- %1\n"
      "  sizes [4]\n"
      "  arg0 = %2 strides [1] offset 0\n");
}

TEST(LowerLoops, TheProgramListsItsBuffersAndExplainsEveryDecision) {
  auto g = testing::parse_verified(
      "%0 = input() {index=0} : f32[3]\n"
      "%1 = constant() {value=2.0} : f32[]\n"
      "%2 = reshape(%1) {shape=[1]} : f32[1]\n"
      "%3 = expand(%2) {shape=[3]} : f32[3]\n"
      "%4 = mul(%0, %3) : f32[3]\n"
      "%5 = sum(%4) {axes=[0], keepdim=false} : f32[]\n"
      "return %5\n");
  ASSERT_TRUE(g.ok()) << g.status();
  const ir::Program program = lower_to_loops(*g, plan_fusion(*g));
  EXPECT_EQ(program.materialized, (std::vector<ir::ValueId>{0, 5}));
  EXPECT_EQ(program.decisions, (std::vector<std::string>{
                                   "%0 = input: graph input",
                                   "%1 = constant: constant, inlined",
                                   "%2 = reshape: fused into its consumer",
                                   "%3 = expand: fused into its consumer",
                                   "%4 = mul: fused into its consumer",
                                   "%5 = sum: graph output",
                               }));
  ASSERT_EQ(program.steps.size(), 1u);
  EXPECT_EQ(program.steps[0].arg_values, (std::vector<ir::ValueId>{0, 5}));
}

TEST(LowerLoops, AnOutputThatIsAnInputNeedsNoStep) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[3]\n"
                         "return %0\n"),
            "");
}

}  // namespace
}  // namespace kiln::passes
