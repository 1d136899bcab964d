// index (gather) and index_put (scatter / accumulate) with negative, repeated and
// out-of-range indices.
#include "interp_test_util.h"

namespace kiln::backends::interp::testing {
namespace {

std::vector<double> iota(int64_t n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return v;
}

TEST(InterpIndex, GathersRowsWithNegativeIndices) {
  // src [3, 2]; rows 2, -1 (= 2), 0.
  expect_values(run_op(Op::index, {type(float32, {3, 2}), type(int64, {3})},
                       {{0, 1, 10, 11, 20, 21}, {2, -1, 0}}, ir::AxisAttrs{0}),
                {20, 21, 20, 21, 0, 1});
}

TEST(InterpIndex, IndexShapeReplacesTheIndexedDims) {
  // src [2, 4] indexed at dim 1 by a [2, 2] index: result [2, 2, 2], result[i][a][b] =
  // src[i][idx[a][b]].
  Graph g;
  const ValueId src = g.add_input(type(int32, {2, 4}));
  const ValueId idx = g.add_input(type(int64, {2, 2}));
  const ValueId out = add(g, Op::index, {src, idx}, ir::AxisAttrs{1});
  g.set_outputs({out});
  EXPECT_EQ(g.node(out).type.shape, (Shape{2, 2, 2}));
  const std::vector<int64_t> index{0, 3, -1, 1};
  const auto result = decode(int32, run(g, {encode(int32, iota(8)), buffer_of(index)})[0]);
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i)
    for (int64_t v : index) expected.push_back(i * 4 + (v < 0 ? v + 4 : v));
  expect_values(result, expected);
}

TEST(InterpIndex, SeveralIndexTensorsPickElements) {
  // src [3, 4] indexed at dims 0 and 1 together: result[n] = src[i0[n], i1[n]].
  expect_values(run_op(Op::index, {type(int64, {3, 4}), type(int64, {3}), type(int64, {3})},
                       {iota(12), {0, 2, -1}, {3, -4, 1}}, ir::AxisAttrs{0}),
                {3, 8, 9});
  // A middle dim of [2, 3, 2]: result [2, 2, 2] with result[i][n][k] = src[i][idx[n]][k].
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i)
    for (int row : {2, 0})
      for (int k = 0; k < 2; ++k) expected.push_back((i * 3 + row) * 2 + k);
  expect_values(run_op(Op::index, {type(bfloat16, {2, 3, 2}), type(int64, {2})}, {iota(12), {2, 0}},
                       ir::AxisAttrs{1}),
                expected);
}

TEST(InterpIndex, OutOfRangeIndicesThrowPyTorchsMessage) {
  const auto gather = [](std::vector<double> index) {
    run_op(Op::index, {type(float32, {3}), type(int64, {static_cast<int64_t>(index.size())})},
           {{1, 2, 3}, index}, ir::AxisAttrs{0});
  };
  EXPECT_EQ(error_of([&] {
              gather({0, 5});
            }),
            "index 5 is out of bounds for dimension 0 with size 3");
  EXPECT_EQ(error_of([&] { gather({-4}); }),
            "index -4 is out of bounds for dimension 0 with size 3");
  EXPECT_EQ(error_of([&] { gather({3}); }), "index 3 is out of bounds for dimension 0 with size 3");
  EXPECT_EQ(error_of([&] { gather({-3, 2}); }), "");
  // Like PyTorch, the dimension is counted among the indexed dims: the second index tensor is
  // "dimension 1" whatever dim the indexing starts at.
  EXPECT_EQ(error_of([] {
              run_op(Op::index, {type(int32, {2, 3, 4}), type(int64, {1}), type(int64, {1})},
                     {iota(24), {1}, {4}}, ir::AxisAttrs{1});
            }),
            "index 4 is out of bounds for dimension 1 with size 4");
  // Indexing an empty dim with any index fails; an empty index tensor reads nothing.
  EXPECT_EQ(error_of([] {
              run_op(Op::index, {type(int32, {0}), type(int64, {1})}, {{}, {0}}, ir::AxisAttrs{0});
            }),
            "index 0 is out of bounds for dimension 0 with size 0");
  expect_values(
      run_op(Op::index, {type(int32, {3, 2}), type(int64, {0})}, {iota(6), {}}, ir::AxisAttrs{0}),
      {});
  // index_put checks the same way.
  EXPECT_EQ(error_of([] {
              run_op(Op::index_put, {type(int32, {3}), type(int32, {1}), type(int64, {1})},
                     {{0, 0, 0}, {1}, {-5}}, ir::IndexPutAttrs{0, false});
            }),
            "index -5 is out of bounds for dimension 0 with size 3");
}

TEST(InterpIndexPut, ScattersAndLastWriteWins) {
  // Without accumulate, the repeated index 1 keeps the later value.
  expect_values(run_op(Op::index_put, {type(int32, {4}), type(int32, {3}), type(int64, {3})},
                       {{0, 0, 0, 0}, {5, 6, 7}, {1, -1, 1}}, ir::IndexPutAttrs{0, false}),
                {0, 7, 0, 6});
  // Rows of a [3, 2] base.
  expect_values(
      run_op(Op::index_put, {type(float64, {3, 2}), type(float64, {2, 2}), type(int64, {2})},
             {iota(6), {-1, -2, -3, -4}, {2, 0}}, ir::IndexPutAttrs{0, false}),
      {-3, -4, 2, 3, -1, -2});
  // Columns (dim 1) with two index dims over [2, 2, 3]: values [2, 2] -> base[i][a[n]][b[n]].
  expect_values(
      run_op(Op::index_put,
             {type(int64, {2, 2, 3}), type(int64, {2, 2}), type(int64, {2}), type(int64, {2})},
             {std::vector<double>(12, 0), {1, 2, 3, 4}, {0, 1}, {2, -3}},
             ir::IndexPutAttrs{1, false}),
      {0, 0, 1, 2, 0, 0, 0, 0, 3, 4, 0, 0});
}

TEST(InterpIndexPut, AccumulateAddsEveryContribution) {
  expect_values(run_op(Op::index_put, {type(int32, {4}), type(int32, {4}), type(int64, {4})},
                       {{10, 10, 10, 10}, {1, 2, 3, 4}, {1, -3, 3, 1}}, ir::IndexPutAttrs{0, true}),
                {10, 17, 10, 13});
  // Integers wrap; bool accumulates as or; float16 rounds each addition.
  expect_values(run_op(Op::index_put, {type(int8, {1}), type(int8, {2}), type(int64, {2})},
                       {{100}, {100, 100}, {0, 0}}, ir::IndexPutAttrs{0, true}),
                {44});
  expect_values(run_op(Op::index_put, {type(boolean, {2}), type(boolean, {3}), type(int64, {3})},
                       {{0, 1}, {1, 1, 0}, {0, 0, 1}}, ir::IndexPutAttrs{0, true}),
                {1, 1});
  expect_values(run_op(Op::index_put, {type(float16, {1}), type(float16, {2}), type(int64, {2})},
                       {{2048}, {1, 1}, {0, 0}}, ir::IndexPutAttrs{0, true}),
                {2048});  // 2048 + 1 rounds back to 2048 (even), twice
  expect_values(
      run_op(Op::index_put, {type(float32, {2, 2}), type(float32, {2, 2}), type(int64, {2})},
             {{1, 1, 1, 1}, {1, 2, 3, 4}, {0, 0}}, ir::IndexPutAttrs{0, true}),
      {5, 7, 1, 1});
}

TEST(InterpIndex, EmptyTrailingDimsStillCheckIndices) {
  // src [2, 3, 0] from an empty borrowed buffer (null data): rows of zero elements.
  Graph g;
  const ValueId src = g.add_input(type(float32, {2, 3, 0}));
  const ValueId idx = g.add_input(type(int64, {2}));
  const ValueId out = add(g, Op::index, {src, idx}, ir::AxisAttrs{1});
  g.set_outputs({out, add(g, Op::index_put, {src, out, idx}, ir::IndexPutAttrs{1, true})});
  const BufferPtr empty = runtime::Buffer::borrow(nullptr, 0);
  const auto result = run(g, {empty, buffer_of<int64_t>({2, -1})});
  EXPECT_EQ(g.node(out).type.shape, (Shape{2, 2, 0}));
  EXPECT_EQ(result[0]->nbytes(), 0u);
  EXPECT_EQ(result[1]->nbytes(), 0u);
  EXPECT_EQ(error_of([&] {
              run(g, {empty, buffer_of<int64_t>({3, 0})});
            }),
            "index 3 is out of bounds for dimension 0 with size 3");
}

TEST(InterpIndexPut, EmptyIndexIsACopy) {
  expect_values(run_op(Op::index_put, {type(int16, {2}), type(int16, {0}), type(int64, {0})},
                       {{3, 4}, {}, {}}, ir::IndexPutAttrs{0, true}),
                {3, 4});
}

}  // namespace
}  // namespace kiln::backends::interp::testing
