// Matmul steps: operands that are views are read in place through strides, and an elementwise
// consumer that reads the result point for point runs as the matmul's epilogue.
#include "gtest/gtest.h"
#include "passes/loop_test_util.h"

namespace kiln::passes::testing {
namespace {

// A linear layer: relu(x @ w.t() + b), the weight transposed and the bias broadcast.
constexpr std::string_view kLinearRelu =
    "%0 = input() {index=0} : f32[8, 3]\n"
    "%1 = input() {index=1} : f32[4, 3]\n"
    "%2 = input() {index=2} : f32[4]\n"
    "%3 = permute(%1) {perm=[1, 0]} : f32[3, 4]\n"
    "%4 = matmul(%0, %3) : f32[8, 4]\n"
    "%5 = reshape(%2) {shape=[1, 4]} : f32[1, 4]\n"
    "%6 = expand(%5) {shape=[8, 4]} : f32[8, 4]\n"
    "%7 = add(%4, %6) : f32[8, 4]\n"
    "%8 = relu(%7) : f32[8, 4]\n"
    "return %8\n";

TEST(LowerMatmul, ViewsOfOperandsAreNotMaterialized) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[3, 2]\n"
                        "%1 = input() {index=1} : f32[4, 3]\n"
                        "%2 = exp(%0) : f32[3, 2]\n"
                        "%3 = permute(%2) {perm=[1, 0]} : f32[2, 3]\n"
                        "%4 = permute(%1) {perm=[1, 0]} : f32[3, 4]\n"
                        "%5 = matmul(%3, %4) : f32[2, 4]\n"
                        "return %5\n"),
            "%0 input: materialized (graph input)\n"
            "%1 input: materialized (graph input)\n"
            "%2 exp: materialized (read in place by matmul %5 through views (%3 is strides over "
            "this buffer))\n"
            "%3 permute: fused (fused into its consumer)\n"
            "%4 permute: fused (fused into its consumer)\n"
            "%5 matmul: materialized (graph output)\n");
}

TEST(LowerMatmul, TransposedSlicedAndBroadcastOperandsBecomeStrides) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f32[6, 3]\n"
                         "%1 = input() {index=1} : f32[3, 4]\n"
                         "%2 = slice(%0) {dim=0, start=1, stop=6, step=2} : f32[3, 3]\n"
                         "%3 = permute(%2) {perm=[1, 0]} : f32[3, 3]\n"
                         "%4 = reshape(%3) {shape=[1, 3, 3]} : f32[1, 3, 3]\n"
                         "%5 = expand(%4) {shape=[5, 3, 3]} : f32[5, 3, 3]\n"
                         "%6 = reshape(%1) {shape=[1, 3, 4]} : f32[1, 3, 4]\n"
                         "%7 = expand(%6) {shape=[5, 3, 4]} : f32[5, 3, 4]\n"
                         "%8 = matmul(%5, %7) : f32[5, 3, 4]\n"
                         "return %8\n"),
            // Element (p, i, j) of %5 is x[1 + 2j, i]: offset 3, strides 0, 1, 6.
            "library %8 = matmul\n"
            "  operand0 = %0 strides [0, 1, 6] offset 3\n"
            "  operand1 = %1 strides [0, 4, 1] offset 0\n");
}

TEST(LowerMatmul, AConstantOperandIsReadThroughZeroStrides) {
  EXPECT_EQ(lowered_text("%0 = input() {index=0} : f64[2, 3]\n"
                         "%1 = constant() {value=0.5} : f64[]\n"
                         "%2 = reshape(%1) {shape=[1, 1]} : f64[1, 1]\n"
                         "%3 = expand(%2) {shape=[3, 4]} : f64[3, 4]\n"
                         "%4 = matmul(%0, %3) : f64[2, 4]\n"
                         "return %4\n"),
            "library %4 = matmul\n"
            "  operand1 = %1 strides [0, 0] offset 0\n");
}

TEST(LowerMatmul, BiasAndActivationRunAsTheEpilogue) {
  EXPECT_EQ(lowered_text(kLinearRelu),
            "library %4 = matmul\n"
            "  operand1 = %1 strides [1, 3] offset 0\n"
            "  epilogue:\n"
            "kernel elementwise rank=2\n"
            "  arg0: f32 in [ss+unit]\n"
            "  arg1: f32 in [0s+unit]\n"
            "  arg2: f32 out [ss+unit]\n"
            "  %0 = load arg0 : f32\n"
            "  %1 = load arg1 : f32\n"
            "  %2 = add(%0, %1) : f32\n"
            "  %3 = relu(%2) : f32\n"
            "  store arg2 <- %3\n"
            "  sizes [8, 4]\n"
            "  arg0 = %4 strides [4, 1] offset 0\n"
            "  arg1 = %2 strides [0, 1] offset 0\n"
            "  arg2 = %8 strides [4, 1] offset 0\n");
  const StepCounts counts = count_steps(kLinearRelu);
  EXPECT_EQ(counts.kernels, 0);
  EXPECT_EQ(counts.library, 1);
}

TEST(LowerMatmul, TheEpilogueDecisionIsExplained) {
  auto g = parse_verified(kLinearRelu);
  ASSERT_TRUE(g.ok());
  const ir::Program program = lower_to_loops(*g, plan_fusion(*g));
  EXPECT_EQ(program.decisions[8],
            "%8 = relu: graph output; runs as the epilogue of matmul %4, tile by tile");
}

TEST(LowerMatmul, AConsumerReadingTheResultTransposedIsNoEpilogue) {
  const StepCounts counts = count_steps(
      "%0 = input() {index=0} : f32[2, 3]\n"
      "%1 = input() {index=1} : f32[3, 2]\n"
      "%2 = matmul(%0, %1) : f32[2, 2]\n"
      "%3 = permute(%2) {perm=[1, 0]} : f32[2, 2]\n"
      "%4 = add(%2, %3) : f32[2, 2]\n"
      "return %4\n");
  EXPECT_EQ(counts.kernels, 1);
  EXPECT_EQ(counts.library, 1);
}

TEST(LowerMatmul, AConsumerNeedingAValueComputedAfterTheMatmulIsNoEpilogue) {
  // %4 (a reduction) is computed after the matmul, so %5 cannot run inside it.
  const StepCounts counts = count_steps(
      "%0 = input() {index=0} : f32[2, 3]\n"
      "%1 = input() {index=1} : f32[3, 2]\n"
      "%2 = matmul(%0, %1) : f32[2, 2]\n"
      "%3 = sum(%0) {axes=[1], keepdim=true} : f32[2, 1]\n"
      "%4 = expand(%3) {shape=[2, 2]} : f32[2, 2]\n"
      "%5 = div(%2, %4) : f32[2, 2]\n"
      "return %5\n");
  EXPECT_EQ(counts.kernels, 2);
  EXPECT_EQ(counts.library, 1);
}

TEST(LowerMatmul, OnlyOneConsumerRunsAsTheEpilogue) {
  const StepCounts counts = count_steps(
      "%0 = input() {index=0} : f32[2, 3]\n"
      "%1 = input() {index=1} : f32[3, 2]\n"
      "%2 = matmul(%0, %1) : f32[2, 2]\n"
      "%3 = relu(%2) : f32[2, 2]\n"
      "%4 = neg(%2) : f32[2, 2]\n"
      "return %3, %4\n");
  EXPECT_EQ(counts.kernels, 1);
  EXPECT_EQ(counts.library, 1);
}

}  // namespace
}  // namespace kiln::passes::testing
