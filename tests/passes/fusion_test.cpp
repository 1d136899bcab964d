// Golden tests for fusion planning: which values are materialized and why, one rule per case.
#include "kiln/passes/fusion.h"

#include <gtest/gtest.h>

#include "passes/loop_test_util.h"

namespace kiln::passes {
namespace {

using testing::fusion_text;

TEST(Fusion, InputsAndOutputsAreMaterializedAndAChainBetweenIsFused) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[2, 3]\n"
                        "%1 = exp(%0) : f32[2, 3]\n"
                        "%2 = neg(%1) : f32[2, 3]\n"
                        "return %2\n"),
            "%0 input: materialized (graph input)\n"
            "%1 exp: fused (fused into its consumer)\n"
            "%2 neg: materialized (graph output)\n");
}

TEST(Fusion, ConstantsAreInlinedEvenWithSeveralConsumers) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[2]\n"
                        "%1 = constant() {value=2.0} : f32[]\n"
                        "%2 = reshape(%1) {shape=[1]} : f32[1]\n"
                        "%3 = expand(%2) {shape=[2]} : f32[2]\n"
                        "%4 = mul(%0, %3) : f32[2]\n"
                        "%5 = add(%4, %3) : f32[2]\n"
                        "return %5\n"),
            "%0 input: materialized (graph input)\n"
            "%1 constant: fused (constant, inlined)\n"
            "%2 reshape: fused (fused into its consumer)\n"
            "%3 expand: fused (fused into its consumer)\n"
            "%4 mul: fused (fused into its consumer)\n"
            "%5 add: materialized (graph output)\n");
}

TEST(Fusion, AConstantReturnedAsAnOutputIsMaterialized) {
  EXPECT_EQ(fusion_text("%0 = constant() {value=1.5} : f32[]\n"
                        "return %0\n"),
            "%0 constant: materialized (graph output)\n");
}

TEST(Fusion, LibraryOpsAndTheirComputedOperandsAreMaterialized) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[2, 3]\n"
                        "%1 = input() {index=1} : f32[3, 4]\n"
                        "%2 = exp(%0) : f32[2, 3]\n"
                        "%3 = matmul(%2, %1) : f32[2, 4]\n"
                        "%4 = neg(%3) : f32[2, 4]\n"
                        "return %4\n"),
            "%0 input: materialized (graph input)\n"
            "%1 input: materialized (graph input)\n"
            "%2 exp: materialized (operand of matmul %3 (its packing reads buffers: a fused "
            "producer would be recomputed for every block of columns))\n"
            "%3 matmul: materialized (matmul runs as a library routine)\n"
            "%4 neg: materialized (graph output)\n");
}

TEST(Fusion, EveryLibraryOpRunsAsARoutine) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[4]\n"
                        "%1 = input() {index=1} : i64[2]\n"
                        "%2 = neg(%0) : f32[4]\n"
                        "%3 = cat(%2, %0) {dim=0} : f32[8]\n"
                        "%4 = index(%3, %1) {dim=0} : f32[2]\n"
                        "%5 = abs(%4) : f32[2]\n"
                        "%6 = index_put(%0, %5, %1) {dim=0, accumulate=false} : f32[4]\n"
                        "%7 = slice(%6) {dim=0, start=0, stop=2, step=1} : f32[2]\n"
                        "%8 = as_strided_scatter(%6, %7) {sizes=[2], strides=[2], offset=0} : "
                        "f32[4]\n"
                        "return %8\n"),
            "%0 input: materialized (graph input)\n"
            "%1 input: materialized (graph input)\n"
            "%2 neg: materialized (operand of cat %3)\n"
            "%3 cat: materialized (cat runs as a library routine)\n"
            "%4 index: materialized (index runs as a library routine)\n"
            "%5 abs: materialized (operand of index_put %6)\n"
            "%6 index_put: materialized (index_put runs as a library routine)\n"
            "%7 slice: materialized (operand of as_strided_scatter %8)\n"
            "%8 as_strided_scatter: materialized (graph output)\n");
}

TEST(Fusion, ConstantOperandsOfLibraryOpsStayInlined) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[4]\n"
                        "%1 = constant() {value=2} : i64[]\n"
                        "%2 = constant() {value=7.0} : f32[]\n"
                        "%3 = index_put(%0, %2, %1) {dim=0, accumulate=true} : f32[4]\n"
                        "return %3\n"),
            "%0 input: materialized (graph input)\n"
            "%1 constant: fused (constant, inlined)\n"
            "%2 constant: fused (constant, inlined)\n"
            "%3 index_put: materialized (graph output)\n");
}

TEST(Fusion, ReductionsAreMaterializedWithTheirPrologueFused) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[2, 3]\n"
                        "%1 = exp(%0) : f32[2, 3]\n"
                        "%2 = sum(%1) {axes=[1], keepdim=false} : f32[2]\n"
                        "%3 = neg(%2) : f32[2]\n"
                        "return %3\n"),
            "%0 input: materialized (graph input)\n"
            "%1 exp: fused (fused into its consumer)\n"
            "%2 sum: materialized (reduction result)\n"
            "%3 neg: materialized (graph output)\n");
}

TEST(Fusion, AnExpensiveValueWithSeveralConsumersIsComputedOnce) {
  // Work 20 (five transcendental ops), recomputed by two extra consumers: 40 > 32.
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[3]\n"
                        "%1 = exp(%0) : f32[3]\n"
                        "%2 = tanh(%1) : f32[3]\n"
                        "%3 = sigmoid(%2) : f32[3]\n"
                        "%4 = erf(%3) : f32[3]\n"
                        "%5 = log1p(%4) : f32[3]\n"
                        "%6 = neg(%5) : f32[3]\n"
                        "%7 = abs(%5) : f32[3]\n"
                        "%8 = add(%6, %7) : f32[3]\n"
                        "%9 = add(%8, %5) : f32[3]\n"
                        "return %9\n"),
            "%0 input: materialized (graph input)\n"
            "%1 exp: fused (fused into its consumer)\n"
            "%2 tanh: fused (fused into its consumer)\n"
            "%3 sigmoid: fused (fused into its consumer)\n"
            "%4 erf: fused (fused into its consumer)\n"
            "%5 log1p: materialized (used by 3 consumers: computed once)\n"
            "%6 neg: fused (fused into its consumer)\n"
            "%7 abs: fused (fused into its consumer)\n"
            "%8 add: fused (fused into its consumer)\n"
            "%9 add: materialized (graph output)\n");
}

TEST(Fusion, ACheapValueWithSeveralConsumersIsRecomputedInEach) {
  // A buffer would cost a store and a load per element; exp costs less (work 4).
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[3]\n"
                        "%1 = exp(%0) : f32[3]\n"
                        "%2 = neg(%1) : f32[3]\n"
                        "%3 = abs(%1) : f32[3]\n"
                        "%4 = add(%2, %3) : f32[3]\n"
                        "return %4\n"),
            "%0 input: materialized (graph input)\n"
            "%1 exp: fused (used by 2 consumers: recomputed in each (work 4))\n"
            "%2 neg: fused (fused into its consumer)\n"
            "%3 abs: fused (fused into its consumer)\n"
            "%4 add: materialized (graph output)\n");
}

TEST(Fusion, AValueReadTwiceByOneConsumerCountsTwoUses) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[3]\n"
                        "%1 = exp(%0) : f32[3]\n"
                        "%2 = mul(%1, %1) : f32[3]\n"
                        "return %2\n"),
            "%0 input: materialized (graph input)\n"
            "%1 exp: fused (used by 2 consumers: recomputed in each (work 4))\n"
            "%2 mul: materialized (graph output)\n");
}

TEST(Fusion, CheapViewsAndCastsOfInputsAreRecomputedPerConsumer) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : i32[2, 3]\n"
                        "%1 = permute(%0) {perm=[1, 0]} : i32[3, 2]\n"
                        "%2 = cast(%1) {to=f32} : f32[3, 2]\n"
                        "%3 = exp(%2) : f32[3, 2]\n"
                        "%4 = neg(%2) : f32[3, 2]\n"
                        "%5 = add(%3, %4) : f32[3, 2]\n"
                        "%6 = slice(%1) {dim=0, start=1, stop=3, step=1} : i32[2, 2]\n"
                        "return %5, %6\n"),
            "%0 input: materialized (graph input)\n"
            "%1 permute: fused (fused into its consumer)\n"
            "%2 cast: fused (fused into its consumer)\n"
            "%3 exp: fused (fused into its consumer)\n"
            "%4 neg: fused (fused into its consumer)\n"
            "%5 add: materialized (graph output)\n"
            "%6 slice: materialized (graph output)\n");
}

TEST(Fusion, AViewOfAComputedValueWithSeveralConsumersCountsItsWork) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[2, 3]\n"
                        "%1 = exp(%0) : f32[2, 3]\n"
                        "%2 = permute(%1) {perm=[1, 0]} : f32[3, 2]\n"
                        "%3 = neg(%2) : f32[3, 2]\n"
                        "%4 = add(%2, %3) : f32[3, 2]\n"
                        "return %4\n"),
            "%0 input: materialized (graph input)\n"
            "%1 exp: fused (fused into its consumer)\n"
            "%2 permute: fused (used by 2 consumers: recomputed in each (work 4))\n"
            "%3 neg: fused (fused into its consumer)\n"
            "%4 add: materialized (graph output)\n");
}

TEST(Fusion, AReshapeThatRegroupsAComputedValueMaterializesIt) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[2, 3]\n"
                        "%1 = exp(%0) : f32[2, 3]\n"
                        "%2 = reshape(%1) {shape=[3, 2]} : f32[3, 2]\n"
                        "%3 = neg(%2) : f32[3, 2]\n"
                        "return %3\n"),
            "%0 input: materialized (graph input)\n"
            "%1 exp: materialized (reshape %2 regroups its dims: index arithmetic needs a "
            "buffer)\n"
            "%2 reshape: fused (fused into its consumer)\n"
            "%3 neg: materialized (graph output)\n");
}

TEST(Fusion, AReshapeThatRegroupsAViewOfAnInputMaterializesTheView) {
  // The permuted input is not row-major, so the reshape cannot address the input's buffer.
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[2, 3]\n"
                        "%1 = permute(%0) {perm=[1, 0]} : f32[3, 2]\n"
                        "%2 = reshape(%1) {shape=[6]} : f32[6]\n"
                        "return %2\n"),
            "%0 input: materialized (graph input)\n"
            "%1 permute: materialized (reshape %2 regroups its dims: index arithmetic needs a "
            "buffer)\n"
            "%2 reshape: materialized (graph output)\n");
}

TEST(Fusion, AReshapeThatRegroupsAnInputNeedsNothingMore) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[2, 3]\n"
                        "%1 = reshape(%0) {shape=[3, 2]} : f32[3, 2]\n"
                        "%2 = neg(%1) : f32[3, 2]\n"
                        "return %2\n"),
            "%0 input: materialized (graph input)\n"
            "%1 reshape: fused (fused into its consumer)\n"
            "%2 neg: materialized (graph output)\n");
}

TEST(Fusion, AUnitDimReshapeOfAComputedValueFolds) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[2, 3]\n"
                        "%1 = exp(%0) : f32[2, 3]\n"
                        "%2 = reshape(%1) {shape=[2, 1, 3, 1]} : f32[2, 1, 3, 1]\n"
                        "%3 = neg(%2) : f32[2, 1, 3, 1]\n"
                        "return %3\n"),
            "%0 input: materialized (graph input)\n"
            "%1 exp: fused (fused into its consumer)\n"
            "%2 reshape: fused (fused into its consumer)\n"
            "%3 neg: materialized (graph output)\n");
}

TEST(Fusion, AsStridedOfAComputedValueMaterializesIt) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[6]\n"
                        "%1 = exp(%0) : f32[6]\n"
                        "%2 = as_strided(%1) {sizes=[2, 2], strides=[1, 2], offset=1} : f32[2, 2]\n"
                        "return %2\n"),
            "%0 input: materialized (graph input)\n"
            "%1 exp: materialized (as_strided %2 regroups its dims: index arithmetic needs a "
            "buffer)\n"
            "%2 as_strided: materialized (graph output)\n");
}

TEST(Fusion, RegroupingViewsOfConstantsNeedNoBuffer) {
  // Every element of a view of a constant is the constant (zeros({2, 3}).reshape({6})).
  EXPECT_EQ(fusion_text("%0 = constant() {value=3} : i32[]\n"
                        "%1 = reshape(%0) {shape=[1, 1]} : i32[1, 1]\n"
                        "%2 = expand(%1) {shape=[2, 3]} : i32[2, 3]\n"
                        "%3 = reshape(%2) {shape=[3, 2]} : i32[3, 2]\n"
                        "%4 = as_strided(%3) {sizes=[2], strides=[2], offset=1} : i32[2]\n"
                        "return %4\n"),
            "%0 constant: fused (constant, inlined)\n"
            "%1 reshape: fused (fused into its consumer)\n"
            "%2 expand: fused (fused into its consumer)\n"
            "%3 reshape: fused (fused into its consumer)\n"
            "%4 as_strided: materialized (graph output)\n");
}

TEST(Fusion, TheRegroupingRuleReachesThroughAChainOfRegroupingViews) {
  // Lowering %3 reads %2's buffer; lowering %2 reads %1's: both must be materialized.
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[2, 3]\n"
                        "%1 = exp(%0) : f32[2, 3]\n"
                        "%2 = reshape(%1) {shape=[3, 2]} : f32[3, 2]\n"
                        "%3 = as_strided(%2) {sizes=[2], strides=[3], offset=0} : f32[2]\n"
                        "return %3\n"),
            "%0 input: materialized (graph input)\n"
            "%1 exp: materialized (reshape %2 regroups its dims: index arithmetic needs a "
            "buffer)\n"
            "%2 reshape: materialized (as_strided %3 regroups its dims: index arithmetic needs a "
            "buffer)\n"
            "%3 as_strided: materialized (graph output)\n");
}

TEST(Fusion, TheFirstReasonWins) {
  // An output that also has several consumers keeps "graph output".
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[3]\n"
                        "%1 = exp(%0) : f32[3]\n"
                        "%2 = neg(%1) : f32[3]\n"
                        "%3 = abs(%1) : f32[3]\n"
                        "return %1, %2, %3\n"),
            "%0 input: materialized (graph input)\n"
            "%1 exp: materialized (graph output)\n"
            "%2 neg: materialized (graph output)\n"
            "%3 abs: materialized (graph output)\n");
}

TEST(Fusion, DeadValuesAreNeitherMaterializedNorLowered) {
  EXPECT_EQ(fusion_text("%0 = input() {index=0} : f32[3]\n"
                        "%1 = exp(%0) : f32[3]\n"
                        "%2 = neg(%0) : f32[3]\n"
                        "return %2\n"),
            "%0 input: materialized (graph input)\n"
            "%1 exp: fused (fused into its consumer)\n"
            "%2 neg: materialized (graph output)\n");
  EXPECT_EQ(testing::count_steps("%0 = input() {index=0} : f32[3]\n"
                                 "%1 = exp(%0) : f32[3]\n"
                                 "%2 = neg(%0) : f32[3]\n"
                                 "return %2\n")
                .kernels,
            1);
}

TEST(Fusion, UnitDimReshapeHelper) {
  EXPECT_TRUE(is_unit_dim_reshape({2, 3}, {1, 2, 1, 3}));
  EXPECT_TRUE(is_unit_dim_reshape({1}, {}));
  EXPECT_TRUE(is_unit_dim_reshape({0, 3}, {0, 1, 3}));
  EXPECT_FALSE(is_unit_dim_reshape({2, 3}, {3, 2}));
  EXPECT_FALSE(is_unit_dim_reshape({2, 3}, {6}));
  EXPECT_FALSE(is_unit_dim_reshape({2, 0}, {0, 2}));
}

TEST(Fusion, LibraryOpHelper) {
  for (ir::Op op :
       {ir::Op::matmul, ir::Op::index, ir::Op::index_put, ir::Op::cat, ir::Op::as_strided_scatter})
    EXPECT_TRUE(is_library_op(op)) << ir::op_name(op);
  for (ir::Op op : {ir::Op::add, ir::Op::sum, ir::Op::as_strided, ir::Op::reshape, ir::Op::cast})
    EXPECT_FALSE(is_library_op(op)) << ir::op_name(op);
}

}  // namespace
}  // namespace kiln::passes
