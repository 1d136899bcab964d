// Reductions: axes and keepdim, accumulation precision, integer wraparound, NaN handling,
// argmax/argmin ties, and reductions over zero elements.
#include <cmath>
#include <limits>

#include "interp_test_util.h"

namespace kiln::backends::interp::testing {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

struct Reduced {
  Shape shape;
  std::vector<double> values;
};

Reduced reduce(Op op, const TensorType& in, const std::vector<double>& values, Shape axes,
               bool keepdim = false) {
  Graph g;
  const ValueId x = g.add_input(in);
  const ValueId out = add(g, op, {x}, ir::ReduceAttrs{std::move(axes), keepdim});
  g.set_outputs({out});
  const TensorType& out_type = g.node(out).type;
  return {out_type.shape, decode(out_type.dtype, run(g, {encode(in.dtype, values)})[0])};
}

// Independent reference over a [2, 3, 4] tensor: visits every element with explicit loops and
// folds it into the output slot its kept coordinates name.
std::vector<double> reference_3d(const std::vector<double>& x, bool r0, bool r1, bool r2,
                                 double init, double (*fold)(double, double)) {
  const int n0 = r0 ? 1 : 2, n1 = r1 ? 1 : 3, n2 = r2 ? 1 : 4;
  std::vector<double> out(static_cast<size_t>(n0 * n1 * n2), init);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) {
        const int o = ((r0 ? 0 : i) * n1 + (r1 ? 0 : j)) * n2 + (r2 ? 0 : k);
        out[static_cast<size_t>(o)] =
            fold(out[static_cast<size_t>(o)], x[static_cast<size_t>((i * 3 + j) * 4 + k)]);
      }
  return out;
}

TEST(InterpReduce, AxesAndKeepdim) {
  std::vector<double> x(24);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<double>((i * 7) % 11) - 3;  // varied, with ties
  const Shape axis_sets[] = {{0}, {1}, {2}, {0, 1}, {0, 2}, {1, 2}, {0, 1, 2}};
  struct Fold {
    Op op;
    double init;
    double (*fold)(double, double);
  };
  const Fold folds[] = {
      {Op::sum, 0, [](double a, double b) { return a + b; }},
      {Op::prod, 1, [](double a, double b) { return a * b; }},
      {Op::amax, -kInf, [](double a, double b) { return std::max(a, b); }},
      {Op::amin, kInf, [](double a, double b) { return std::min(a, b); }},
  };
  for (DType dtype : {float32, float64, int32, int64, bfloat16}) {
    for (const Shape& axes : axis_sets) {
      const bool r0 = std::find(axes.begin(), axes.end(), 0) != axes.end();
      const bool r1 = std::find(axes.begin(), axes.end(), 1) != axes.end();
      const bool r2 = std::find(axes.begin(), axes.end(), 2) != axes.end();
      for (const Fold& f : folds) {
        for (bool keepdim : {false, true}) {
          SCOPED_TRACE(::testing::Message() << dtype << " " << ir::op_name(f.op) << " axes "
                                            << shape_to_string(axes) << " keepdim " << keepdim);
          const Reduced r = reduce(f.op, type(dtype, {2, 3, 4}), x, axes, keepdim);
          Shape expected_shape;
          if (!r0 || keepdim) expected_shape.push_back(r0 ? 1 : 2);
          if (!r1 || keepdim) expected_shape.push_back(r1 ? 1 : 3);
          if (!r2 || keepdim) expected_shape.push_back(r2 ? 1 : 4);
          EXPECT_EQ(r.shape, expected_shape);
          std::vector<double> expected = reference_3d(x, r0, r1, r2, f.init, f.fold);
          for (double& e : expected)
            e = is_floating_point(dtype) ? stored_as(dtype, e)
                                         : wrap_to(dtype, static_cast<int64_t>(e));
          expect_values(r.values, expected);
        }
      }
    }
  }
}

TEST(InterpReduce, ArgmaxArgminEveryAxis) {
  std::vector<double> x(24);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>((i * 5) % 7);
  // Reference by explicit loops over axis 1 of [2, 3, 4]: first index of the extreme.
  std::vector<double> argmax, argmin;
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      int best_max = 0, best_min = 0;
      for (int j = 1; j < 3; ++j) {
        const double v = x[static_cast<size_t>((i * 3 + j) * 4 + k)];
        if (v > x[static_cast<size_t>((i * 3 + best_max) * 4 + k)]) best_max = j;
        if (v < x[static_cast<size_t>((i * 3 + best_min) * 4 + k)]) best_min = j;
      }
      argmax.push_back(best_max);
      argmin.push_back(best_min);
    }
  for (DType dtype : {float32, int8, uint8, float16}) {
    SCOPED_TRACE(::testing::Message() << dtype);
    Reduced r = reduce(Op::argmax, type(dtype, {2, 3, 4}), x, {1}, true);
    EXPECT_EQ(r.shape, (Shape{2, 1, 4}));
    expect_values(r.values, argmax);
    r = reduce(Op::argmin, type(dtype, {2, 3, 4}), x, {1});
    EXPECT_EQ(r.shape, (Shape{2, 4}));
    expect_values(r.values, argmin);
  }
  expect_values(reduce(Op::argmax, type(int64, {2, 3}), {1, 9, 3, 7, 2, 8}, {0}).values, {1, 0, 1});
  expect_values(reduce(Op::argmin, type(int64, {2, 3}), {1, 9, 3, 7, 2, 8}, {1}).values, {0, 1});
}

TEST(InterpReduce, ArgmaxTiesTakeTheFirstIndex) {
  expect_values(reduce(Op::argmax, type(float32, {5}), {3, 1, 3, 0, 3}, {0}).values, {0});
  expect_values(reduce(Op::argmin, type(int32, {5}), {2, 0, 1, 0, 0}, {0}).values, {1});
  expect_values(reduce(Op::argmax, type(boolean, {4}), {0, 1, 1, 0}, {0}).values, {1});
  expect_values(reduce(Op::argmin, type(boolean, {4}), {1, 1, 0, 0}, {0}).values, {2});
  expect_values(reduce(Op::argmax, type(float32, {3}), {-kInf, -kInf, -kInf}, {0}).values, {0});
}

TEST(InterpReduce, NaNIsTheExtreme) {
  for (DType dtype : {float32, float64, float16, bfloat16}) {
    SCOPED_TRACE(::testing::Message() << dtype);
    const std::vector<double> x{1, kNaN, 5, kNaN, -2};
    expect_values(reduce(Op::argmax, type(dtype, {5}), x, {0}).values, {1});
    expect_values(reduce(Op::argmin, type(dtype, {5}), x, {0}).values, {1});
    expect_values(reduce(Op::amax, type(dtype, {5}), x, {0}).values, {kNaN});
    expect_values(reduce(Op::amin, type(dtype, {5}), x, {0}).values, {kNaN});
    expect_values(reduce(Op::sum, type(dtype, {5}), x, {0}).values, {kNaN});
    // A NaN first or last, and a row without NaN.
    expect_values(reduce(Op::amax, type(dtype, {2, 3}), {kNaN, 1, 2, 3, 9, kInf}, {1}).values,
                  {kNaN, kInf});
    expect_values(reduce(Op::argmin, type(dtype, {2, 3}), {4, 1, kNaN, 3, -9, -9}, {1}).values,
                  {2, 1});
  }
}

TEST(InterpReduce, FloatSumsAccumulateInDouble) {
  // A million 0.1f summed one by one in float drifts to ~100958; in double it stays 1e5.
  const std::vector<double> tenths(1'000'000, 0.1);
  const double tenth_f = static_cast<double>(0.1f);
  expect_values(reduce(Op::sum, type(float32, {1'000'000}), tenths, {0}).values,
                {static_cast<double>(static_cast<float>(tenth_f * 1e6))});
  // float64: pairwise summation keeps the error near one rounding.
  EXPECT_NEAR(reduce(Op::sum, type(float64, {1'000'000}), tenths, {0}).values[0], 100000.0, 1e-8);
  // Cancellation that float accumulation would lose: 1e8 + 1 + ... + 1 - 1e8.
  std::vector<double> x{1e8};
  x.insert(x.end(), 100, 1.0);
  x.push_back(-1e8);
  expect_values(reduce(Op::sum, type(float32, {102}), x, {0}).values, {100});
  // float16: 100 * half(0.1) = 9.9976 rounds to 10 in float16.
  expect_values(reduce(Op::sum, type(float16, {100}), std::vector<double>(100, 0.1), {0}).values,
                {10});
  // Infinities survive (no compensation term to turn them into NaN).
  expect_values(reduce(Op::sum, type(float64, {40}), std::vector<double>(40, kInf), {0}).values,
                {kInf});
  std::vector<double> mixed(40, 1.0);
  mixed[3] = kInf;
  mixed[30] = -kInf;
  expect_values(reduce(Op::sum, type(float64, {40}), mixed, {0}).values, {kNaN});
  // prod in double: 1e30 * 1e30 overflows float but not double, and 1e-30 brings it back.
  const double product =
      static_cast<double>(1e30f) * static_cast<double>(1e30f) * static_cast<double>(1e-30f);
  expect_values(reduce(Op::prod, type(float32, {3}), {1e30, 1e30, 1e-30}, {0}).values,
                {static_cast<double>(static_cast<float>(product))});
}

TEST(InterpReduce, IntegerReductionsWrap) {
  expect_values(reduce(Op::sum, type(int8, {3}), {100, 100, 1}, {0}).values, {-55});
  expect_values(reduce(Op::sum, type(uint8, {2}), {200, 100}, {0}).values, {44});
  expect_values(reduce(Op::prod, type(int8, {2}), {16, 16}, {0}).values, {0});
  expect_values(reduce(Op::prod, type(int16, {3}), {-300, 300, 2}, {0}).values,
                {static_cast<double>(wrap_to(int16, -180000))});
  Graph g;
  const ValueId x = g.add_input(type(int64, {2}));
  g.set_outputs({add(g, Op::sum, {x}, ir::ReduceAttrs{{0}, false}),
                 add(g, Op::prod, {x}, ir::ReduceAttrs{{0}, false})});
  const int64_t max = std::numeric_limits<int64_t>::max();
  const auto out = run(g, {buffer_of<int64_t>({max, 2})});
  EXPECT_EQ(values_of<int64_t>(out[0]),
            std::vector<int64_t>{std::numeric_limits<int64_t>::min() + 1});
  EXPECT_EQ(values_of<int64_t>(out[1]), std::vector<int64_t>{-2});
  // bool sums and products store truth (the frontend casts to int64 first for counts).
  expect_values(reduce(Op::sum, type(boolean, {3}), {0, 1, 1}, {0}).values, {1});
  expect_values(reduce(Op::prod, type(boolean, {3}), {1, 0, 1}, {0}).values, {0});
  expect_values(reduce(Op::amax, type(boolean, {3}), {0, 1, 0}, {0}).values, {1});
}

TEST(InterpReduce, EmptyReductions) {
  // sum and prod of nothing are 0 and 1.
  Reduced r = reduce(Op::sum, type(float32, {0, 3}), {}, {0});
  EXPECT_EQ(r.shape, (Shape{3}));
  expect_values(r.values, {0, 0, 0});
  r = reduce(Op::prod, type(int64, {0, 3}), {}, {0}, true);
  EXPECT_EQ(r.shape, (Shape{1, 3}));
  expect_values(r.values, {1, 1, 1});
  expect_values(reduce(Op::sum, type(int32, {2, 0}), {}, {0, 1}).values, {0});
  // Reducing a non-empty axis of an empty tensor gives an empty result, no error.
  r = reduce(Op::amax, type(float32, {0, 3}), {}, {1});
  EXPECT_EQ(r.shape, (Shape{0}));
  EXPECT_TRUE(r.values.empty());
  r = reduce(Op::argmin, type(float32, {0, 3}), {}, {1}, true);
  EXPECT_EQ(r.shape, (Shape{0, 1}));
  // amax/amin/argmax/argmin of nothing have no value: PyTorch's error.
  for (Op op : {Op::amax, Op::amin, Op::argmax, Op::argmin}) {
    const std::string name(ir::op_name(op));
    EXPECT_EQ(error_of([&] {
                reduce(op, type(float32, {0, 3}), {}, {0});
              }),
              name + "(): Expected reduction dim 0 to have non-zero size.");
    EXPECT_EQ(error_of([&] {
                reduce(op, type(int64, {2, 0}), {}, {1}, true);
              }),
              name + "(): Expected reduction dim 1 to have non-zero size.");
  }
}

TEST(InterpReduce, ZeroDimInput) {
  Reduced r = reduce(Op::sum, type(float32, {}), {2.5}, {0});
  EXPECT_EQ(r.shape, Shape{});
  expect_values(r.values, {2.5});
  expect_values(reduce(Op::argmax, type(int32, {}), {7}, {0}, true).values, {0});
  expect_values(reduce(Op::amin, type(int32, {}), {7}, {0}).values, {7});
}

}  // namespace
}  // namespace kiln::backends::interp::testing
