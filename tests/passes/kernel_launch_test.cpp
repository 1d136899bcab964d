// Tests for the loop-IR helpers in ir/kernel.h: canonicalize_launch (merging contiguous dims,
// dropping size-1 dims, never across the kept/reduced boundary), compute_layouts, and the
// printed form that serves as the kernel cache key.
#include "kiln/ir/kernel.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <gtest/gtest.h>

namespace kiln::ir {
namespace {

// A kernel with `num_args` float args (the last one the output) over `sizes`, strides given per
// arg; a reduction when reduced_dims > 0.
struct Case {
  LoopKernel kernel;
  KernelLaunch launch;
};

Case make(const Shape& sizes, std::vector<Shape> strides, int32_t reduced_dims = 0) {
  Case c;
  c.kernel.kind = reduced_dims > 0 ? LoopKernel::Kind::kReduction : LoopKernel::Kind::kElementwise;
  c.kernel.rank = static_cast<int32_t>(sizes.size());
  c.kernel.reduced_dims = reduced_dims;
  for (size_t a = 0; a < strides.size(); ++a)
    c.kernel.args.push_back(KernelArg{float32, a + 1 == strides.size()});
  c.launch.sizes = sizes;
  c.launch.offsets.assign(strides.size(), 0);
  c.launch.strides = std::move(strides);
  return c;
}

TEST(CanonicalizeLaunch, MergesDimsThatEveryArgWalksContiguously) {
  Case c = make({2, 3, 4}, {{12, 4, 1}, {12, 4, 1}});
  canonicalize_launch(c.kernel, c.launch);
  EXPECT_EQ(c.kernel.rank, 1);
  EXPECT_EQ(c.launch.sizes, Shape({24}));
  EXPECT_EQ(c.launch.strides[0], Shape({1}));
  EXPECT_EQ(c.launch.strides[1], Shape({1}));
}

TEST(CanonicalizeLaunch, KeepsDimsThatOneArgWalksOutOfOrder) {
  Case c = make({2, 3}, {{3, 1}, {1, 2}});
  canonicalize_launch(c.kernel, c.launch);
  EXPECT_EQ(c.kernel.rank, 2);
  EXPECT_EQ(c.launch.sizes, Shape({2, 3}));
}

TEST(CanonicalizeLaunch, MergesOnlyThePairsThatAllowIt) {
  // The broadcast arg (stride 0 over dim 0) walks dims 1 and 2 contiguously, not dim 0.
  Case c = make({2, 3, 4}, {{0, 4, 1}, {12, 4, 1}});
  canonicalize_launch(c.kernel, c.launch);
  EXPECT_EQ(c.launch.sizes, Shape({2, 12}));
  EXPECT_EQ(c.launch.strides[0], Shape({0, 1}));
  EXPECT_EQ(c.launch.strides[1], Shape({12, 1}));
}

TEST(CanonicalizeLaunch, MergesStridedRunsThatContinueAcrossRows) {
  Case c = make({3, 3}, {{6, 2}, {3, 1}});
  canonicalize_launch(c.kernel, c.launch);
  EXPECT_EQ(c.launch.sizes, Shape({9}));
  EXPECT_EQ(c.launch.strides[0], Shape({2}));
}

TEST(CanonicalizeLaunch, DropsSizeOneDimsWhateverTheirStrides) {
  Case c = make({1, 3, 1, 2}, {{99, 1, 7, 3}, {6, 2, 2, 1}});
  canonicalize_launch(c.kernel, c.launch);
  EXPECT_EQ(c.kernel.rank, 2);
  EXPECT_EQ(c.launch.sizes, Shape({3, 2}));
  EXPECT_EQ(c.launch.strides[0], Shape({1, 3}));
  EXPECT_EQ(c.launch.strides[1], Shape({2, 1}));
}

TEST(CanonicalizeLaunch, AllSizeOneDimsLeaveRankZero) {
  Case c = make({1, 1}, {{5, 1}, {1, 1}});
  canonicalize_launch(c.kernel, c.launch);
  EXPECT_EQ(c.kernel.rank, 0);
  EXPECT_TRUE(c.launch.sizes.empty());
  EXPECT_TRUE(c.launch.strides[0].empty());
  EXPECT_EQ(c.kernel.layouts.size(), 2u);
}

TEST(CanonicalizeLaunch, KeepsZeroSizeDims) {
  Case c = make({0, 3}, {{1, 0}, {3, 1}});
  canonicalize_launch(c.kernel, c.launch);
  EXPECT_EQ(c.launch.sizes, Shape({0, 3}));
}

TEST(CanonicalizeLaunch, NeverMergesAcrossTheKeptReducedBoundary) {
  // The strides alone would allow merging dim 0 (kept) with dim 1 (reduced).
  Case c = make({2, 3}, {{3, 1}, {0, 0}}, /*reduced_dims=*/1);
  canonicalize_launch(c.kernel, c.launch);
  EXPECT_EQ(c.kernel.rank, 2);
  EXPECT_EQ(c.kernel.reduced_dims, 1);
  EXPECT_EQ(c.launch.sizes, Shape({2, 3}));
}

TEST(CanonicalizeLaunch, MergesWithinTheReducedDims) {
  Case c = make({2, 3, 4}, {{12, 4, 1}, {1, 0, 0}}, /*reduced_dims=*/2);
  canonicalize_launch(c.kernel, c.launch);
  EXPECT_EQ(c.kernel.rank, 2);
  EXPECT_EQ(c.kernel.reduced_dims, 1);
  EXPECT_EQ(c.launch.sizes, Shape({2, 12}));
  EXPECT_EQ(c.launch.strides[0], Shape({12, 1}));
  EXPECT_EQ(c.launch.strides[1], Shape({1, 0}));
}

TEST(CanonicalizeLaunch, MergesWithinTheKeptDims) {
  Case c = make({2, 3, 4}, {{12, 4, 1}, {3, 1, 0}}, /*reduced_dims=*/1);
  canonicalize_launch(c.kernel, c.launch);
  EXPECT_EQ(c.kernel.reduced_dims, 1);
  EXPECT_EQ(c.launch.sizes, Shape({6, 4}));
  EXPECT_EQ(c.launch.strides[1], Shape({1, 0}));
}

TEST(CanonicalizeLaunch, AReductionKeepsOneSizeOneReducedDim) {
  // Kept [1, 4], reduced [1, 1]: the size-1 kept dim goes, and all but one size-1 reduced dim.
  Case c = make({1, 4, 1, 1}, {{4, 1, 1, 1}, {4, 1, 0, 0}}, /*reduced_dims=*/2);
  canonicalize_launch(c.kernel, c.launch);
  EXPECT_EQ(c.kernel.rank, 2);
  EXPECT_EQ(c.kernel.reduced_dims, 1);
  EXPECT_EQ(c.launch.sizes, Shape({4, 1}));
}

TEST(CanonicalizeLaunch, AFullReductionOfOneElementKeepsItsReducedDim) {
  Case c = make({1, 1}, {{1, 1}, {0, 0}}, /*reduced_dims=*/2);
  canonicalize_launch(c.kernel, c.launch);
  EXPECT_EQ(c.kernel.rank, 1);
  EXPECT_EQ(c.kernel.reduced_dims, 1);
  EXPECT_EQ(c.launch.sizes, Shape({1}));
}

TEST(ComputeLayouts, RecordsZeroStridesAndAUnitInnerStride) {
  Case c = make({2, 3, 4}, {{0, 4, 1}, {12, 0, 2}, {12, 4, 1}});
  compute_layouts(c.kernel, c.launch);
  ASSERT_EQ(c.kernel.layouts.size(), 3u);
  EXPECT_EQ(c.kernel.layouts[0], (ArgLayout{0b001, true}));
  EXPECT_EQ(c.kernel.layouts[1], (ArgLayout{0b010, false}));
  EXPECT_EQ(c.kernel.layouts[2], (ArgLayout{0b000, true}));
}

LoopKernel constant_kernel(Scalar value, DType dtype = float32) {
  Case c = make({4}, {{1}});
  KernelExpr e;
  e.kind = KernelExpr::Kind::kConstant;
  e.dtype = dtype;
  e.constant = value;
  c.kernel.args[0].dtype = dtype;
  c.kernel.exprs.push_back(e);
  c.kernel.stores.emplace_back(0, 0);
  canonicalize_launch(c.kernel, c.launch);
  return c.kernel;
}

TEST(KernelText, PrintsTheKernel) {
  EXPECT_EQ(to_string(constant_kernel(0.5)),
            "kernel elementwise rank=1\n"
            "  arg0: f32 out [s+unit]\n"
            "  %0 = constant 0.5 : f32\n"
            "  store arg0 <- %0\n");
}

TEST(KernelText, PrintsConstantsExactly) {
  EXPECT_NE(to_string(constant_kernel(0.1)).find("constant 0.1 :"), std::string::npos);
  EXPECT_NE(to_string(constant_kernel(2.0)).find("constant 2.0 :"), std::string::npos);
  EXPECT_NE(to_string(constant_kernel(1e-30)).find("constant 1e-30 :"), std::string::npos);
  EXPECT_NE(to_string(constant_kernel(-0.0)).find("constant -0.0 :"), std::string::npos);
  EXPECT_NE(to_string(constant_kernel(int64_t{-3}, int32)).find("constant -3 :"),
            std::string::npos);
  EXPECT_NE(to_string(constant_kernel(true, boolean)).find("constant true :"), std::string::npos);
  EXPECT_NE(
      to_string(constant_kernel(std::numeric_limits<double>::infinity())).find("constant inf :"),
      std::string::npos);
}

TEST(KernelText, RanksPastTheLayoutMaskPrint) {
  // Regression: printing shifted the 32-bit zero-stride mask by the dim (undefined from 32 on).
  const Shape sizes(33, 2);
  Case c = make(sizes, {contiguous_strides(sizes)});
  compute_layouts(c.kernel, c.launch);
  EXPECT_NE(to_string(c.kernel).find(std::string(32, 's') + "?+unit]"), std::string::npos);
}

TEST(StructuralKey, KernelsThatDifferOnlyInAConstantGetDifferentKeys) {
  // Regression: constants printed with 6 significant digits, so these shared one cache key
  // (and so one compiled kernel, computing with the wrong constant).
  EXPECT_NE(structural_key(constant_kernel(0.1)), structural_key(constant_kernel(0.1000001)));
  EXPECT_NE(structural_key(constant_kernel(1.0)), structural_key(constant_kernel(1.0 + 1e-15)));
  EXPECT_NE(structural_key(constant_kernel(0.0)), structural_key(constant_kernel(-0.0)));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  uint64_t bits = 0;
  std::memcpy(&bits, &nan, sizeof bits);
  bits |= 1;  // another payload
  double other_nan = 0;
  std::memcpy(&other_nan, &bits, sizeof bits);
  EXPECT_NE(structural_key(constant_kernel(nan)), structural_key(constant_kernel(other_nan)));
  EXPECT_EQ(structural_key(constant_kernel(0.1)), structural_key(constant_kernel(0.1)));
}

TEST(StructuralKey, LayoutsArePartOfTheKey) {
  Case a = make({2, 3}, {{3, 1}, {3, 1}});
  Case b = make({2, 3}, {{0, 1}, {3, 1}});
  compute_layouts(a.kernel, a.launch);
  compute_layouts(b.kernel, b.launch);
  EXPECT_NE(structural_key(a.kernel), structural_key(b.kernel));
  // Sizes and nonzero strides are runtime arguments: they do not change the key.
  Case c = make({5, 7}, {{9, 1}, {7, 1}});
  compute_layouts(c.kernel, c.launch);
  EXPECT_EQ(structural_key(a.kernel), structural_key(c.kernel));
}

}  // namespace
}  // namespace kiln::ir
