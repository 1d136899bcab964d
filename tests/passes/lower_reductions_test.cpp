// Golden tests for lowering reductions to loop IR: the kept dims iterate first and the reduced
// ones last (in axis order, so that sums add in the interpreter's order), the output's strides
// over reduced dims are 0, and canonicalize_launch merges only within each group.
#include <gtest/gtest.h>

#include "passes/loop_test_util.h"

namespace kiln::passes {
namespace {

using testing::count_steps;
using testing::lowered_text;

TEST(LowerReductions, InnerAxis) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[4, 5]\n"
                         "%1 = sum(%0) {axes=[1], keepdim=false} : f32[4]\n"
                         "return %1\n"),
            "kernel reduction(sum) rank=2 reduced=1\n"
            "  arg0: f32 in [ss+unit]\n"
            "  arg1: f32 out [s0]\n"
            "  %0 = load arg0 : f32\n"
            "  store arg1 <- reduce(%0)\n"
            "  sizes [4, 5]\n"
            "  arg0 = %0 strides [5, 1] offset 0\n"
            "  arg1 = %1 strides [1, 0] offset 0\n");
}

TEST(LowerReductions, OuterAxisIteratesLast) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[4, 5]\n"
                         "%1 = amax(%0) {axes=[0], keepdim=false} : f32[5]\n"
                         "return %1\n"),
            "kernel reduction(amax) rank=2 reduced=1\n"
            "  arg0: f32 in [ss]\n"
            "  arg1: f32 out [s0]\n"
            "  %0 = load arg0 : f32\n"
            "  store arg1 <- reduce(%0)\n"
            "  sizes [5, 4]\n"
            "  arg0 = %0 strides [1, 5] offset 0\n"
            "  arg1 = %1 strides [1, 0] offset 0\n");
}

TEST(LowerReductions, MiddleAxisWithKeepdim) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[2, 3, 4]\n"
                         "%1 = prod(%0) {axes=[1], keepdim=true} : f32[2, 1, 4]\n"
                         "return %1\n"),
            "kernel reduction(prod) rank=3 reduced=1\n"
            "  arg0: f32 in [sss]\n"
            "  arg1: f32 out [ss0]\n"
            "  %0 = load arg0 : f32\n"
            "  store arg1 <- reduce(%0)\n"
            "  sizes [2, 4, 3]\n"
            "  arg0 = %0 strides [12, 1, 4] offset 0\n"
            "  arg1 = %1 strides [4, 1, 0] offset 0\n");
}

TEST(LowerReductions, MiddleAxisWithoutKeepdim) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[2, 3, 4]\n"
                         "%1 = argmax(%0) {axes=[1], keepdim=false} : i64[2, 4]\n"
                         "return %1\n"),
            "kernel reduction(argmax) rank=3 reduced=1\n"
            "  arg0: f32 in [sss]\n"
            "  arg1: i64 out [ss0]\n"
            "  %0 = load arg0 : f32\n"
            "  store arg1 <- reduce(%0)\n"
            "  sizes [2, 4, 3]\n"
            "  arg0 = %0 strides [12, 1, 4] offset 0\n"
            "  arg1 = %1 strides [4, 1, 0] offset 0\n");
}

TEST(LowerReductions, SeveralAxesKeepTheirOrder) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f64[2, 3, 4]\n"
                         "%1 = sum(%0) {axes=[0, 2], keepdim=true} : f64[1, 3, 1]\n"
                         "return %1\n"),
            "kernel reduction(sum) rank=3 reduced=2\n"
            "  arg0: f64 in [sss+unit]\n"
            "  arg1: f64 out [s00]\n"
            "  %0 = load arg0 : f64\n"
            "  store arg1 <- reduce(%0)\n"
            "  sizes [3, 2, 4]\n"
            "  arg0 = %0 strides [4, 12, 1] offset 0\n"
            "  arg1 = %1 strides [1, 0, 0] offset 0\n");
}

TEST(LowerReductions, ContiguousKeptDimsMerge) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[2, 3, 4]\n"
                         "%1 = sum(%0) {axes=[2], keepdim=false} : f32[2, 3]\n"
                         "return %1\n"),
            "kernel reduction(sum) rank=2 reduced=1\n"
            "  arg0: f32 in [ss+unit]\n"
            "  arg1: f32 out [s0]\n"
            "  %0 = load arg0 : f32\n"
            "  store arg1 <- reduce(%0)\n"
            "  sizes [6, 4]\n"
            "  arg0 = %0 strides [4, 1] offset 0\n"
            "  arg1 = %1 strides [1, 0] offset 0\n");
}

TEST(LowerReductions, ContiguousReducedDimsMerge) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[2, 3, 4]\n"
                         "%1 = sum(%0) {axes=[1, 2], keepdim=false} : f32[2]\n"
                         "return %1\n"),
            "kernel reduction(sum) rank=2 reduced=1\n"
            "  arg0: f32 in [ss+unit]\n"
            "  arg1: f32 out [s0]\n"
            "  %0 = load arg0 : f32\n"
            "  store arg1 <- reduce(%0)\n"
            "  sizes [2, 12]\n"
            "  arg0 = %0 strides [12, 1] offset 0\n"
            "  arg1 = %1 strides [1, 0] offset 0\n");
}

TEST(LowerReductions, AFullReductionHasNoKeptDims) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[2, 3]\n"
                         "%1 = sum(%0) {axes=[0, 1], keepdim=false} : f32[]\n"
                         "return %1\n"),
            "kernel reduction(sum) rank=1 reduced=1\n"
            "  arg0: f32 in [s+unit]\n"
            "  arg1: f32 out [0]\n"
            "  %0 = load arg0 : f32\n"
            "  store arg1 <- reduce(%0)\n"
            "  sizes [6]\n"
            "  arg0 = %0 strides [1] offset 0\n"
            "  arg1 = %1 strides [0] offset 0\n");
}

TEST(LowerReductions, AZeroDimReductionReducesOneElement) {
  // Regression: a 0-d input naming axis 0 used to give a rank-0 kernel with reduced=1.
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[]\n"
                         "%1 = argmax(%0) {axes=[0], keepdim=true} : i64[]\n"
                         "return %1\n"),
            "kernel reduction(argmax) rank=1 reduced=1\n"
            "  arg0: f32 in [0]\n"
            "  arg1: i64 out [0]\n"
            "  %0 = load arg0 : f32\n"
            "  store arg1 <- reduce(%0)\n"
            "  sizes [1]\n"
            "  arg0 = %0 strides [0] offset 0\n"
            "  arg1 = %1 strides [0] offset 0\n");
}

TEST(LowerReductions, NoAxesReducesEachElementAlone) {
  // Regression: this used to lower to a copy, but a float sum adds to 0.0, so -0.0 sums to
  // +0.0 in the interpreter: it stays a reduction over one size-1 dim.
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[2, 3]\n"
                         "%1 = sum(%0) {axes=[], keepdim=false} : f32[2, 3]\n"
                         "return %1\n"),
            "kernel reduction(sum) rank=2 reduced=1\n"
            "  arg0: f32 in [s0]\n"
            "  arg1: f32 out [s0]\n"
            "  %0 = load arg0 : f32\n"
            "  store arg1 <- reduce(%0)\n"
            "  sizes [6, 1]\n"
            "  arg0 = %0 strides [1, 0] offset 0\n"
            "  arg1 = %1 strides [1, 0] offset 0\n");
}

TEST(LowerReductions, TheElementwisePrologueAndATransposeFuseIn) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[4, 3]\n"
                         "%1 = permute(%0) {perm=[1, 0]} : f32[3, 4]\n"
                         "%2 = exp(%1) : f32[3, 4]\n"
                         "%3 = sum(%2) {axes=[1], keepdim=false} : f32[3]\n"
                         "return %3\n"),
            "kernel reduction(sum) rank=2 reduced=1\n"
            "  arg0: f32 in [ss]\n"
            "  arg1: f32 out [s0]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = exp(%0) : f32\n"
            "  store arg1 <- reduce(%1)\n"
            "  sizes [3, 4]\n"
            "  arg0 = %0 strides [1, 3] offset 0\n"
            "  arg1 = %3 strides [1, 0] offset 0\n");
}

TEST(LowerReductions, SixElementwiseOpsAndASumAreExactlyOneKernel) {
  const char* text =
      "%0 = input() {index=0} : f32[8, 16]\n"
      "%1 = input() {index=1} : f32[8, 16]\n"
      "%2 = mul(%0, %1) : f32[8, 16]\n"
      "%3 = exp(%2) : f32[8, 16]\n"
      "%4 = neg(%3) : f32[8, 16]\n"
      "%5 = add(%4, %0) : f32[8, 16]\n"
      "%6 = tanh(%5) : f32[8, 16]\n"
      "%7 = abs(%6) : f32[8, 16]\n"
      "%8 = sum(%7) {axes=[1], keepdim=false} : f32[8]\n"
      "return %8\n";
  const testing::StepCounts counts = count_steps(text);
  EXPECT_EQ(counts.kernels, 1);
  EXPECT_EQ(counts.library, 0);
  EXPECT_EQ(lowered_text(text),
            "kernel reduction(sum) rank=2 reduced=1\n"
            "  arg0: f32 in [ss+unit]\n"
            "  arg1: f32 in [ss+unit]\n"
            "  arg2: f32 out [s0]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = load arg1 : f32\n"
            "  %2 = mul(%0, %1) : f32\n"
            "  %3 = exp(%2) : f32\n"
            "  %4 = neg(%3) : f32\n"
            "  %5 = add(%4, %0) : f32\n"
            "  %6 = tanh(%5) : f32\n"
            "  %7 = abs(%6) : f32\n"
            "  store arg2 <- reduce(%7)\n"
            "  sizes [8, 16]\n"
            "  arg0 = %0 strides [16, 1] offset 0\n"
            "  arg1 = %1 strides [16, 1] offset 0\n"
            "  arg2 = %8 strides [1, 0] offset 0\n");
}

TEST(LowerReductions, SoftmaxIsThreeKernels) {
  // amax, the sum of exp(x - max), and the division, which computes exp(x - max) again rather
  // than storing it (read twice, but cheap: fusion.h); the reduced results are read back
  // through stride-0 broadcasts.
  const char* text =
      "%0 = input() {index=0} : f32[2, 3]\n"
      "%1 = amax(%0) {axes=[1], keepdim=true} : f32[2, 1]\n"
      "%2 = expand(%1) {shape=[2, 3]} : f32[2, 3]\n"
      "%3 = sub(%0, %2) : f32[2, 3]\n"
      "%4 = exp(%3) : f32[2, 3]\n"
      "%5 = sum(%4) {axes=[1], keepdim=true} : f32[2, 1]\n"
      "%6 = expand(%5) {shape=[2, 3]} : f32[2, 3]\n"
      "%7 = div(%4, %6) : f32[2, 3]\n"
      "return %7\n";
  EXPECT_EQ(count_steps(text).kernels, 3);
  const std::string lowered = lowered_text(text);
  EXPECT_NE(lowered.find("  %2 = sub(%0, %1) : f32\n"
                         "  %3 = exp(%2) : f32\n"
                         "  %4 = load arg2 : f32\n"
                         "  %5 = div(%3, %4) : f32\n"),
            std::string::npos)
      << lowered;
  EXPECT_NE(lowered.find("  sizes [2, 3]\n"
                         "  arg0 = %0 strides [3, 1] offset 0\n"
                         "  arg1 = %1 strides [1, 0] offset 0\n"
                         "  arg2 = %5 strides [1, 0] offset 0\n"
                         "  arg3 = %7 strides [3, 1] offset 0\n"),
            std::string::npos)
      << lowered;
}

TEST(LowerReductions, AnEmptyReducedExtentStillWritesEveryOutput) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[0, 3]\n"
                         "%1 = sum(%0) {axes=[0], keepdim=false} : f32[3]\n"
                         "return %1\n"),
            "kernel reduction(sum) rank=2 reduced=1\n"
            "  arg0: f32 in [ss]\n"
            "  arg1: f32 out [s0]\n"
            "  %0 = load arg0 : f32\n"
            "  store arg1 <- reduce(%0)\n"
            "  sizes [3, 0]\n"
            "  arg0 = %0 strides [1, 3] offset 0\n"
            "  arg1 = %1 strides [1, 0] offset 0\n");
}

TEST(LowerReductions, ZeroSizeElementwise) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[0, 3]\n"
                         "%1 = exp(%0) : f32[0, 3]\n"
                         "return %1\n"),
            "kernel elementwise rank=1\n"
            "  arg0: f32 in [s+unit]\n"
            "  arg1: f32 out [s+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = exp(%0) : f32\n"
            "  store arg1 <- %1\n"
            "  sizes [0]\n"
            "  arg0 = %0 strides [1] offset 0\n"
            "  arg1 = %1 strides [1] offset 0\n");
}

}  // namespace
}  // namespace kiln::passes
