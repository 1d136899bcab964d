// matmul: plain and batched, floats (accumulated in double), integers (wrapping) and bool.
#include <limits>

#include "interp_test_util.h"

namespace kiln::backends::interp::testing {
namespace {

// Reference matmul over [batch, m, k] x [batch, k, n] with explicit loops, exact in double for
// the small integers the tests use.
std::vector<double> reference(const std::vector<double>& a, const std::vector<double>& b, int batch,
                              int m, int k, int n) {
  std::vector<double> out;
  for (int p = 0; p < batch; ++p)
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double sum = 0;
        for (int t = 0; t < k; ++t)
          sum += a[static_cast<size_t>((p * m + i) * k + t)] *
                 b[static_cast<size_t>((p * k + t) * n + j)];
        out.push_back(sum);
      }
  return out;
}

std::vector<double> pattern(size_t n, int modulus, int shift) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<double>(static_cast<int>(i * 7 + 3) % modulus - shift);
  return v;
}

TEST(InterpMatmul, TwoDimensional) {
  expect_values(run_op(Op::matmul, {type(float32, {2, 3}), type(float32, {3, 2})},
                       {{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}}),
                {58, 64, 139, 154});
}

TEST(InterpMatmul, BatchedEveryNumericDType) {
  const std::vector<double> a = pattern(2 * 3 * 4, 9, 4);  // [2, 3, 4] in [-4, 4]
  const std::vector<double> b = pattern(2 * 4 * 5, 7, 3);  // [2, 4, 5] in [-3, 3]
  const std::vector<double> exact = reference(a, b, 2, 3, 4, 5);
  for (DType dtype : {float32, float64, float16, bfloat16, int8, int16, int32, int64}) {
    SCOPED_TRACE(::testing::Message() << dtype);
    expect_values(run_op(Op::matmul, {type(dtype, {2, 3, 4}), type(dtype, {2, 4, 5})}, {a, b}),
                  exact);
  }
  // Two batch dims.
  expect_values(run_op(Op::matmul, {type(int32, {2, 1, 3, 4}), type(int32, {2, 1, 4, 5})}, {a, b}),
                exact);
}

TEST(InterpMatmul, IntegersWrap) {
  // 100 * 2 + 100 * 1 = 300 -> 44 in int8 and uint8.
  expect_values(run_op(Op::matmul, {type(int8, {1, 2}), type(int8, {2, 1})}, {{100, 100}, {2, 1}}),
                {44});
  expect_values(
      run_op(Op::matmul, {type(uint8, {1, 2}), type(uint8, {2, 1})}, {{100, 100}, {2, 1}}), {44});
  Graph g;
  const ValueId x = g.add_input(type(int64, {1, 2}));
  const ValueId y = g.add_input(type(int64, {2, 1}));
  g.set_outputs({add(g, Op::matmul, {x, y})});
  const int64_t max = std::numeric_limits<int64_t>::max();
  const auto out = run(g, {buffer_of<int64_t>({max, max}), buffer_of<int64_t>({1, 1})});
  EXPECT_EQ(values_of<int64_t>(out[0]), std::vector<int64_t>{-2});
}

TEST(InterpMatmul, BoolIsOrOfAnds) {
  // [[1, 0], [0, 0]] x [[1, 1], [1, 0]] = [[1, 1], [0, 0]]; [[1, 1]] x [[1], [1]] stays 1, not 2.
  expect_values(run_op(Op::matmul, {type(boolean, {2, 2}), type(boolean, {2, 2})},
                       {{1, 0, 0, 0}, {1, 1, 1, 0}}),
                {1, 1, 0, 0});
  expect_values(
      run_op(Op::matmul, {type(boolean, {1, 2}), type(boolean, {2, 1})}, {{1, 1}, {1, 1}}), {1});
}

TEST(InterpMatmul, FloatsAccumulateInDouble) {
  // In float, 1e8 + 1 is 1e8, so a float accumulator would give 0; double gives 1.
  expect_values(run_op(Op::matmul, {type(float32, {1, 3}), type(float32, {3, 1})},
                       {{1e8, 1, -1e8}, {1, 1, 1}}),
                {1});
  expect_values(run_op(Op::matmul, {type(float16, {1, 3}), type(float16, {3, 1})},
                       {{2048, 1, -2048}, {1, 1, 1}}),
                {1});
}

TEST(InterpMatmul, ZeroSizes) {
  // k = 0: every output is an empty sum.
  expect_values(run_op(Op::matmul, {type(float32, {2, 0}), type(float32, {0, 3})}, {{}, {}}),
                std::vector<double>(6, 0.0));
  expect_values(
      run_op(Op::matmul, {type(int64, {0, 2}), type(int64, {2, 3})}, {{}, {1, 2, 3, 4, 5, 6}}), {});
  expect_values(run_op(Op::matmul, {type(int32, {0, 2, 2}), type(int32, {0, 2, 2})}, {{}, {}}), {});
}

}  // namespace
}  // namespace kiln::backends::interp::testing
