// Movement ops: reshape, permute, expand, slice, as_strided (zero and non-contiguous strides),
// cat, and as_strided_scatter.
#include "interp_test_util.h"

namespace kiln::backends::interp::testing {
namespace {

std::vector<double> iota(int64_t n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return v;
}

TEST(InterpMovement, ReshapeKeepsElements) {
  expect_values(run_op(Op::reshape, {type(int32, {2, 3})}, {iota(6)}, ir::ShapeAttrs{{6}}),
                iota(6));
  expect_values(run_op(Op::reshape, {type(float16, {6})}, {iota(6)}, ir::ShapeAttrs{{3, 1, 2}}),
                iota(6));
  expect_values(run_op(Op::reshape, {type(int8, {1})}, {{5}}, ir::ShapeAttrs{{}}), {5});
}

TEST(InterpMovement, PermuteMatchesExplicitLoops) {
  // [2, 3, 4] permuted by (2, 0, 1) gives out[k][i][j] = in[i][j][k].
  const std::vector<double> in = iota(24);
  std::vector<double> expected;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) expected.push_back(in[static_cast<size_t>((i * 3 + j) * 4 + k)]);
  for (DType dtype : {float64, int8, bfloat16, int64}) {
    expect_values(run_op(Op::permute, {type(dtype, {2, 3, 4})}, {in}, ir::PermuteAttrs{{2, 0, 1}}),
                  expected);
  }
  // Identity and a 0-d permute.
  expect_values(run_op(Op::permute, {type(int32, {2, 2})}, {iota(4)}, ir::PermuteAttrs{{0, 1}}),
                iota(4));
  expect_values(run_op(Op::permute, {type(int32, {})}, {{9}}, ir::PermuteAttrs{{}}), {9});
}

TEST(InterpMovement, ExpandBroadcastsSizeOneDims) {
  expect_values(run_op(Op::expand, {type(int16, {3, 1})}, {{1, 2, 3}}, ir::ShapeAttrs{{3, 2}}),
                {1, 1, 2, 2, 3, 3});
  expect_values(run_op(Op::expand, {type(float32, {1, 3})}, {{1, 2, 3}}, ir::ShapeAttrs{{2, 3}}),
                {1, 2, 3, 1, 2, 3});
  expect_values(run_op(Op::expand, {type(boolean, {1, 1})}, {{1}}, ir::ShapeAttrs{{2, 2}}),
                {1, 1, 1, 1});
  // Expanding a size-1 dim to 0 gives an empty result.
  expect_values(run_op(Op::expand, {type(int32, {1, 2})}, {{1, 2}}, ir::ShapeAttrs{{0, 2}}), {});
}

TEST(InterpMovement, SliceWithSteps) {
  expect_values(run_op(Op::slice, {type(int64, {10})}, {iota(10)}, ir::SliceAttrs{0, 2, 9, 3}),
                {2, 5, 8});
  // [3, 4] columns 1..4 step 2.
  expect_values(run_op(Op::slice, {type(float32, {3, 4})}, {iota(12)}, ir::SliceAttrs{1, 1, 4, 2}),
                {1, 3, 5, 7, 9, 11});
  expect_values(run_op(Op::slice, {type(uint8, {3, 2})}, {iota(6)}, ir::SliceAttrs{0, 1, 3, 1}),
                {2, 3, 4, 5});
  expect_values(run_op(Op::slice, {type(int32, {4})}, {iota(4)}, ir::SliceAttrs{0, 2, 2, 1}), {});
}

TEST(InterpMovement, AsStridedReadsWindows) {
  const std::vector<double> in = iota(10);
  // Zero strides repeat elements.
  expect_values(
      run_op(Op::as_strided, {type(int32, {10})}, {in}, ir::StridedAttrs{{2, 3}, {0, 1}, 1}),
      {1, 2, 3, 1, 2, 3});
  expect_values(
      run_op(Op::as_strided, {type(float64, {10})}, {in}, ir::StridedAttrs{{2, 2}, {0, 0}, 7}),
      {7, 7, 7, 7});
  // Non-contiguous strides: a transposed read of a [2, 3] sub-block.
  expect_values(
      run_op(Op::as_strided, {type(int64, {10})}, {in}, ir::StridedAttrs{{3, 2}, {1, 3}, 2}),
      {2, 5, 3, 6, 4, 7});
  // Overlapping sliding windows.
  expect_values(
      run_op(Op::as_strided, {type(float16, {10})}, {in}, ir::StridedAttrs{{3, 3}, {2, 1}, 0}),
      {0, 1, 2, 2, 3, 4, 4, 5, 6});
  // A 0-d window and a 2-D source (the window addresses its row-major elements).
  expect_values(run_op(Op::as_strided, {type(int32, {2, 5})}, {in}, ir::StridedAttrs{{}, {}, 9}),
                {9});
  expect_values(run_op(Op::as_strided, {type(int32, {2, 5})}, {in}, ir::StridedAttrs{{2}, {5}, 4}),
                {4, 9});
  // An empty window, even with an offset past the end of an empty source.
  expect_values(
      run_op(Op::as_strided, {type(int32, {0})}, {{}}, ir::StridedAttrs{{0, 3}, {1, 1}, 0}), {});
}

TEST(InterpMovement, AsStridedScatterWritesTheWindow) {
  const std::vector<double> zeros(6, 0.0);
  expect_values(run_op(Op::as_strided_scatter, {type(int32, {6}), type(int32, {3})},
                       {zeros, {1, 2, 3}}, ir::StridedAttrs{{3}, {2}, 0}),
                {1, 0, 2, 0, 3, 0});
  // Overlapping positions: row-major order, the last write wins. Window (i, j) -> i + j.
  expect_values(run_op(Op::as_strided_scatter, {type(float32, {6}), type(float32, {2, 2})},
                       {zeros, {1, 2, 3, 4}}, ir::StridedAttrs{{2, 2}, {1, 1}, 1}),
                {0, 1, 3, 4, 0, 0});
  // A zero stride writes one position repeatedly.
  expect_values(run_op(Op::as_strided_scatter, {type(int64, {3}), type(int64, {4})},
                       {{9, 9, 9}, {1, 2, 3, 4}}, ir::StridedAttrs{{4}, {0}, 2}),
                {9, 9, 4});
  // A transposed window into a [2, 3] base.
  expect_values(run_op(Op::as_strided_scatter, {type(bfloat16, {2, 3}), type(bfloat16, {3, 2})},
                       {zeros, {1, 2, 3, 4, 5, 6}}, ir::StridedAttrs{{3, 2}, {1, 3}, 0}),
                {1, 3, 5, 2, 4, 6});
  // Empty window: a copy of the base.
  expect_values(run_op(Op::as_strided_scatter, {type(int8, {2}), type(int8, {0})}, {{5, 6}, {}},
                       ir::StridedAttrs{{0}, {1}, 0}),
                {5, 6});
}

TEST(InterpMovement, CatAlongEachDim) {
  // [2, 2] ++ [2, 1] ++ [2, 3] along dim 1.
  expect_values(run_op(Op::cat, {type(int32, {2, 2}), type(int32, {2, 1}), type(int32, {2, 3})},
                       {{1, 2, 3, 4}, {10, 20}, {5, 6, 7, 8, 9, 0}}, ir::AxisAttrs{1}),
                {1, 2, 10, 5, 6, 7, 3, 4, 20, 8, 9, 0});
  // Along dim 0, with a zero-size operand in the middle.
  expect_values(
      run_op(Op::cat, {type(float64, {1, 2}), type(float64, {0, 2}), type(float64, {2, 2})},
             {{1, 2}, {}, {3, 4, 5, 6}}, ir::AxisAttrs{0}),
      {1, 2, 3, 4, 5, 6});
  expect_values(run_op(Op::cat, {type(int32, {0}), type(int32, {0})}, {{}, {}}, ir::AxisAttrs{0}),
                {});
  // Every dtype (cat moves bytes of the dtype's width).
  for (DType dtype : kAllDTypes) {
    SCOPED_TRACE(::testing::Message() << dtype);
    const auto a = decode(dtype, encode(dtype, {1, 0}));
    const auto b = decode(dtype, encode(dtype, {3}));
    expect_values(
        run_op(Op::cat, {type(dtype, {2}), type(dtype, {1})}, {{1, 0}, {3}}, ir::AxisAttrs{0}),
        {a[0], a[1], b[0]});
  }
}

TEST(InterpMovement, SingleOperandCatIsACopy) {
  expect_values(run_op(Op::cat, {type(int8, {2, 2})}, {{1, 2, 3, 4}}, ir::AxisAttrs{1}),
                {1, 2, 3, 4});
}

}  // namespace
}  // namespace kiln::backends::interp::testing
