// Unary and binary elementwise ops, where and constants, across every dtype.
#include <cmath>
#include <limits>

#include "interp_test_util.h"

namespace kiln::backends::interp::testing {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

std::vector<double> binary(Op op, DType dtype, std::vector<double> a, std::vector<double> b) {
  const Shape shape{static_cast<int64_t>(a.size())};
  return run_op(op, {type(dtype, shape), type(dtype, shape)}, {a, b});
}

std::vector<double> unary(Op op, DType dtype, std::vector<double> a) {
  return run_op(op, {type(dtype, {static_cast<int64_t>(a.size())})}, {a});
}

// One unit in the last place of v in a float dtype (v normal).
double ulp_of(DType dtype, double v) {
  const int precision = dtype == float16 ? 11 : dtype == bfloat16 ? 8 : dtype == float32 ? 24 : 53;
  int exponent = 0;
  std::frexp(v, &exponent);  // v = m * 2^exponent with m in [0.5, 1)
  return std::ldexp(1.0, exponent - precision);
}

// Runs op on two int64 buffers (values beyond double's exact range).
std::vector<int64_t> binary_int64(Op op, std::vector<int64_t> a, std::vector<int64_t> b) {
  Graph g;
  const Shape shape{static_cast<int64_t>(a.size())};
  const ValueId x = g.add_input(type(int64, shape));
  const ValueId y = g.add_input(type(int64, shape));
  g.set_outputs({add(g, op, {x, y})});
  return values_of<int64_t>(run(g, {buffer_of(a), buffer_of(b)})[0]);
}

TEST(InterpElementwise, ArithmeticEveryDType) {
  const std::vector<double> a{1, 2, 3, 0, 5};
  const std::vector<double> b{2, 1, 3, 1, 0};
  struct Case {
    Op op;
    double (*exact)(double, double);
  };
  const Case cases[] = {
      {Op::add, [](double x, double y) { return x + y; }},
      {Op::sub, [](double x, double y) { return x - y; }},
      {Op::mul, [](double x, double y) { return x * y; }},
      {Op::maximum, [](double x, double y) { return std::max(x, y); }},
      {Op::minimum, [](double x, double y) { return std::min(x, y); }},
  };
  for (DType dtype : kAllDTypes) {
    // The operands as stored (bool keeps only truth), then exact math, then storage again.
    const std::vector<double> x = decode(dtype, encode(dtype, a));
    const std::vector<double> y = decode(dtype, encode(dtype, b));
    for (const Case& c : cases) {
      SCOPED_TRACE(::testing::Message() << dtype << " " << ir::op_name(c.op));
      std::vector<double> expected;
      for (size_t i = 0; i < x.size(); ++i) {
        const double exact = c.exact(x[i], y[i]);
        expected.push_back(is_floating_point(dtype) ? stored_as(dtype, exact)
                                                    : wrap_to(dtype, static_cast<int64_t>(exact)));
      }
      expect_values(binary(c.op, dtype, a, b), expected);
    }
  }
}

TEST(InterpElementwise, ComparisonsEveryDType) {
  const std::vector<double> a{1, 2, 3, 0};
  const std::vector<double> b{2, 2, 1, 0};
  for (DType dtype : kAllDTypes) {
    SCOPED_TRACE(::testing::Message() << dtype);
    const std::vector<double> x = decode(dtype, encode(dtype, a));
    const std::vector<double> y = decode(dtype, encode(dtype, b));
    std::vector<double> eq, ne, lt, le, gt, ge;
    for (size_t i = 0; i < x.size(); ++i) {
      eq.push_back(x[i] == y[i]);
      ne.push_back(x[i] != y[i]);
      lt.push_back(x[i] < y[i]);
      le.push_back(x[i] <= y[i]);
      gt.push_back(x[i] > y[i]);
      ge.push_back(x[i] >= y[i]);
    }
    expect_values(binary(Op::eq, dtype, a, b), eq);
    expect_values(binary(Op::ne, dtype, a, b), ne);
    expect_values(binary(Op::lt, dtype, a, b), lt);
    expect_values(binary(Op::le, dtype, a, b), le);
    expect_values(binary(Op::gt, dtype, a, b), gt);
    expect_values(binary(Op::ge, dtype, a, b), ge);
  }
}

TEST(InterpElementwise, ComparisonsWithNaN) {
  const std::vector<double> a{kNaN, kNaN, 1};
  const std::vector<double> b{kNaN, 1, kNaN};
  for (DType dtype : {float32, float64, float16, bfloat16}) {
    expect_values(binary(Op::eq, dtype, a, b), {0, 0, 0});
    expect_values(binary(Op::ne, dtype, a, b), {1, 1, 1});
    expect_values(binary(Op::lt, dtype, a, b), {0, 0, 0});
    expect_values(binary(Op::ge, dtype, a, b), {0, 0, 0});
  }
}

TEST(InterpElementwise, IntegerWraparound) {
  expect_values(binary(Op::add, int8, {127, -128}, {1, -1}), {-128, 127});
  expect_values(binary(Op::sub, uint8, {0, 5}, {1, 10}), {255, 251});
  expect_values(binary(Op::mul, uint8, {16, 200}, {16, 2}), {0, 144});
  expect_values(binary(Op::mul, int16, {300}, {300}), {static_cast<double>(wrap_to(int16, 90000))});
  expect_values(binary(Op::add, int32, {2147483647}, {1}), {-2147483648.0});
  EXPECT_EQ(binary_int64(Op::add, {kInt64Max}, {1}), std::vector<int64_t>{kInt64Min});
  EXPECT_EQ(binary_int64(Op::sub, {kInt64Min}, {1}), std::vector<int64_t>{kInt64Max});
  EXPECT_EQ(binary_int64(Op::mul, {kInt64Max}, {2}), std::vector<int64_t>{-2});
  expect_values(unary(Op::neg, int8, {-128, 5}), {-128, -5});
  expect_values(unary(Op::neg, uint8, {1, 0}), {255, 0});
  expect_values(unary(Op::abs, int8, {-128, -5}), {-128, 5});
  Graph g;
  const ValueId x = g.add_input(type(int64, {2}));
  g.set_outputs({add(g, Op::neg, {x}), add(g, Op::abs, {x})});
  const auto out = run(g, {buffer_of<int64_t>({kInt64Min, -3})});
  EXPECT_EQ(values_of<int64_t>(out[0]), (std::vector<int64_t>{kInt64Min, 3}));
  EXPECT_EQ(values_of<int64_t>(out[1]), (std::vector<int64_t>{kInt64Min, 3}));
}

TEST(InterpElementwise, BoolArithmeticStoresTruth) {
  expect_values(binary(Op::add, boolean, {1, 1, 0, 0}, {1, 0, 1, 0}), {1, 1, 1, 0});
  expect_values(binary(Op::sub, boolean, {1, 1, 0, 0}, {1, 0, 1, 0}), {0, 1, 1, 0});
  expect_values(binary(Op::mul, boolean, {1, 1, 0, 0}, {1, 0, 1, 0}), {1, 0, 0, 0});
  expect_values(binary(Op::pow, boolean, {1, 1, 0, 0}, {1, 0, 1, 0}), {1, 1, 0, 1});
  expect_values(unary(Op::neg, boolean, {1, 0}), {1, 0});
}

TEST(InterpElementwise, IntegerDivisionTruncates) {
  for (DType dtype : {int8, int16, int32, int64}) {
    SCOPED_TRACE(::testing::Message() << dtype);
    expect_values(binary(Op::div, dtype, {7, -7, 7, -7, 0}, {2, 2, -2, -2, 5}), {3, -3, -3, 3, 0});
  }
  expect_values(binary(Op::div, uint8, {255, 7}, {2, 7}), {127, 1});
  expect_values(binary(Op::div, int8, {-128}, {-1}), {-128});
  EXPECT_EQ(binary_int64(Op::div, {kInt64Min, kInt64Min}, {-1, 1}),
            (std::vector<int64_t>{kInt64Min, kInt64Min}));
}

TEST(InterpElementwise, IntegerDivisionByZeroThrows) {
  for (DType dtype : {int8, uint8, int32, int64, boolean}) {
    EXPECT_EQ(error_of([&] {
                binary(Op::div, dtype, {1, 1}, {1, 0});
              }),
              "ZeroDivisionError: integer division by zero");
  }
}

TEST(InterpElementwise, FloatDivisionIsTrueDivision) {
  for (DType dtype : {float32, float64, float16, bfloat16}) {
    expect_values(binary(Op::div, dtype, {1, -1, 0, 7}, {0, 0, 0, 2}), {kInf, -kInf, kNaN, 3.5});
  }
  expect_values(binary(Op::div, float64, {1}, {3}), {1.0 / 3.0});
  expect_values(binary(Op::div, float32, {1}, {3}), {static_cast<double>(1.0f / 3.0f)});
}

TEST(InterpElementwise, IntegerPow) {
  expect_values(binary(Op::pow, int64, {3, 2, 0, 5, -2, -2}, {4, 10, 0, 1, 3, 2}),
                {81, 1024, 1, 5, -8, 4});
  // Negative exponents: 1 for base 1, +-1 for base -1, 0 otherwise (PyTorch's integer pow).
  expect_values(binary(Op::pow, int64, {1, -1, -1, 2, 0, -3}, {-5, -3, -2, -1, -1, -2}),
                {1, -1, 1, 0, 0, 0});
  expect_values(binary(Op::pow, int8, {2, 3}, {7, 5}),
                {-128, static_cast<double>(wrap_to(int8, 243))});
  expect_values(binary(Op::pow, uint8, {2, 3}, {8, 5}), {0, 243});
  EXPECT_EQ(binary_int64(Op::pow, {2, 2, 3, -1}, {63, 64, 40, kInt64Min}),
            (std::vector<int64_t>{kInt64Min, 0, static_cast<int64_t>(12157665459056928801ull), 1}));
}

TEST(InterpElementwise, FloatPow) {
  expect_values(
      binary(Op::pow, float64, {2, -8, 0, 4, kNaN, 1}, {0.5, 1.0 / 3.0, -1, -0.5, 0, kNaN}),
      {1.4142135623730951, kNaN, kInf, 0.5, 1, 1});
  expect_values(binary(Op::pow, float16, {2, 3}, {10, 2}), {1024, 9});
}

TEST(InterpElementwise, MaximumMinimumPropagateNaN) {
  for (DType dtype : {float32, float64, float16, bfloat16}) {
    expect_values(binary(Op::maximum, dtype, {kNaN, 1, 3, -kInf}, {1, kNaN, 2, 0}),
                  {kNaN, kNaN, 3, 0});
    expect_values(binary(Op::minimum, dtype, {kNaN, 1, 3, -kInf}, {1, kNaN, 2, 0}),
                  {kNaN, kNaN, 2, -kInf});
  }
}

TEST(InterpElementwise, LogicalOpsReadTruthOfAnyDType) {
  // Operands of logical ops may have different dtypes; NaN and -0.0 are true and false.
  Graph g;
  const ValueId a = g.add_input(type(float32, {5}));
  const ValueId b = g.add_input(type(int16, {5}));
  g.set_outputs({add(g, Op::logical_and, {a, b}), add(g, Op::logical_or, {a, b}),
                 add(g, Op::logical_not, {a}), add(g, Op::logical_not, {b})});
  const auto out =
      run(g, {encode(float32, {0, 0.5, kNaN, -0.0, 0}), encode(int16, {1, 0, 2, 3, 0})});
  expect_values(decode(boolean, out[0]), {0, 0, 1, 0, 0});
  expect_values(decode(boolean, out[1]), {1, 1, 1, 1, 0});
  expect_values(decode(boolean, out[2]), {1, 0, 0, 1, 1});
  expect_values(decode(boolean, out[3]), {0, 1, 0, 0, 1});
  for (DType dtype : kAllDTypes) {
    SCOPED_TRACE(::testing::Message() << dtype);
    expect_values(unary(Op::logical_not, dtype, {0, 1}), {1, 0});
    expect_values(binary(Op::logical_and, dtype, {0, 1, 1}, {1, 1, 0}), {0, 1, 0});
    expect_values(binary(Op::logical_or, dtype, {0, 1, 0}, {1, 0, 0}), {1, 1, 0});
  }
}

TEST(InterpElementwise, WhereEveryDType) {
  for (DType dtype : kAllDTypes) {
    SCOPED_TRACE(::testing::Message() << dtype);
    const std::vector<double> a = decode(dtype, encode(dtype, {1, 2, 3, 4}));
    const std::vector<double> b = decode(dtype, encode(dtype, {0, 5, 0, 7}));
    expect_values(run_op(Op::where, {type(boolean, {4}), type(dtype, {4}), type(dtype, {4})},
                         {{1, 0, 0, 1}, {1, 2, 3, 4}, {0, 5, 0, 7}}),
                  {a[0], b[1], b[2], a[3]});
  }
}

TEST(InterpElementwise, SignAbsReluEdgeCases) {
  for (DType dtype : {float32, float64, float16, bfloat16}) {
    SCOPED_TRACE(::testing::Message() << dtype);
    // PyTorch's sign is (0 < x) - (x < 0): NaN gives 0.
    expect_values(unary(Op::sign, dtype, {-2, -0.0, 0, 3, kNaN, -kInf}), {-1, 0, 0, 1, 0, -1});
    expect_values(unary(Op::relu, dtype, {-2, 0, 3, kNaN, kInf}), {0, 0, 3, kNaN, kInf});
    expect_values(unary(Op::abs, dtype, {-2, -kInf, kNaN}), {2, kInf, kNaN});
    expect_values(unary(Op::neg, dtype, {-2, kInf}), {2, -kInf});
  }
  for (DType dtype : {int8, int16, int32, int64, uint8}) {
    SCOPED_TRACE(::testing::Message() << dtype);
    const double minus_three = static_cast<double>(wrap_to(dtype, -3));
    expect_values(unary(Op::sign, dtype, {-3, 0, 7}), {minus_three < 0 ? -1.0 : 1.0, 0, 1});
    expect_values(unary(Op::relu, dtype, {-3, 0, 7}), {minus_three < 0 ? 0 : minus_three, 0, 7});
  }
  expect_values(unary(Op::sign, boolean, {1, 0}), {1, 0});
  expect_values(unary(Op::abs, boolean, {1, 0}), {1, 0});
}

TEST(InterpElementwise, RoundingOps) {
  const std::vector<double> in{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.7, -2.7};
  for (DType dtype : {float32, float64, float16, bfloat16}) {
    SCOPED_TRACE(::testing::Message() << dtype);
    expect_values(unary(Op::round, dtype, in), {-2, -2, -0.0, 0, 2, 2, 3, -3});
    expect_values(unary(Op::floor, dtype, in), {-3, -2, -1, 0, 1, 2, 2, -3});
    expect_values(unary(Op::ceil, dtype, in), {-2, -1, -0.0, 1, 2, 3, 3, -2});
    expect_values(unary(Op::trunc, dtype, in), {-2, -1, -0.0, 0, 1, 2, 2, -2});
    expect_values(unary(Op::round, dtype, {kNaN, kInf}), {kNaN, kInf});
  }
  // Identity on integers.
  for (DType dtype : {int8, int16, int32, int64, uint8, boolean}) {
    SCOPED_TRACE(::testing::Message() << dtype);
    const std::vector<double> ints = decode(dtype, encode(dtype, {-5, 0, 1, 100}));
    for (Op op : {Op::round, Op::floor, Op::ceil, Op::trunc})
      expect_values(unary(op, dtype, ints), ints);
  }
}

TEST(InterpElementwise, FloatingUnaryOpsInEveryFloatDType) {
  struct Case {
    Op op;
    double in;
    double expected;  // the exact value, to about 16 digits
  };
  const Case cases[] = {
      {Op::sqrt, 2, 1.4142135623730951},       {Op::rsqrt, 2, 0.7071067811865475},
      {Op::reciprocal, 3, 0.3333333333333333}, {Op::exp, 1.5, 4.4816890703380645},
      {Op::expm1, 0.25, 0.2840254166877415},   {Op::log, 3, 1.0986122886681098},
      {Op::log2, 3, 1.584962500721156},        {Op::log10, 3, 0.47712125471966244},
      {Op::log1p, 0.25, 0.22314355131420976},  {Op::sin, 1, 0.8414709848078965},
      {Op::cos, 1, 0.5403023058681398},        {Op::tan, 1, 1.5574077246549023},
      {Op::tanh, 1, 0.7615941559557649},       {Op::sigmoid, -1, 0.2689414213699951},
      {Op::erf, 1, 0.8427007929497149},
  };
  for (DType dtype : {float32, float64, float16, bfloat16}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(::testing::Message() << dtype << " " << ir::op_name(c.op));
      const double in = stored_as(dtype, c.in);  // all inputs are exact in every float dtype
      ASSERT_EQ(in, c.in);
      const double actual = unary(c.op, dtype, {c.in})[0];
      if (dtype == float64) {
        EXPECT_NEAR(actual, c.expected, 1e-15 * std::fabs(c.expected));
      } else {
        // Computed in float, then rounded once to the storage type: within an ulp of the
        // exact value rounded to that type.
        const double rounded = stored_as(dtype, c.expected);
        EXPECT_NEAR(actual, rounded, ulp_of(dtype, rounded));
      }
    }
  }
  // Small arguments where expm1/log1p differ from exp(x) - 1 and log(1 + x).
  const auto tiny = unary(Op::expm1, float64, {1e-10});
  EXPECT_NEAR(tiny[0], 1.00000000005e-10, 1e-25);
  EXPECT_NEAR(unary(Op::log1p, float64, {1e-10})[0], 9.9999999995e-11, 1e-25);
  expect_values(unary(Op::sqrt, float32, {-1, kInf}), {kNaN, kInf});
  expect_values(unary(Op::log, float16, {0, -1}), {-kInf, kNaN});
  expect_values(unary(Op::sigmoid, float32, {-kInf, kInf, 0}), {0, 1, 0.5});
}

TEST(InterpElementwise, FloatOnlyOpsRejectIntegersAtGraphBuild) {
  Graph g;
  const ValueId x = g.add_input(type(int32, {2}));
  EXPECT_FALSE(g.add(Op::exp, {x}, ir::NoAttrs{}).ok());
}

TEST(InterpConstant, EveryDType) {
  for (DType dtype : kAllDTypes) {
    SCOPED_TRACE(::testing::Message() << dtype);
    Graph g;
    g.set_outputs(
        {g.add_constant(3, dtype), g.add_constant(true, dtype), g.add_constant(2.0, dtype)});
    const auto out = run(g);
    ASSERT_EQ(out.size(), 3u);
    expect_values(decode(dtype, out[0]), {dtype == boolean ? 1.0 : 3.0});
    expect_values(decode(dtype, out[1]), {1});
    expect_values(decode(dtype, out[2]), {dtype == boolean ? 1.0 : 2.0});
  }
}

TEST(InterpConstant, ConvertsLikeACast) {
  Graph g;
  g.set_outputs({g.add_constant(2.7, int32), g.add_constant(-1, uint8),
                 g.add_constant(0.5, boolean), g.add_constant(0.1, float16),
                 g.add_constant(0.1, float32), g.add_constant(300, int8),
                 g.add_constant(-2.7, int64)});
  const auto out = run(g);
  EXPECT_EQ(values_of<int32_t>(out[0]), std::vector<int32_t>{2});
  EXPECT_EQ(values_of<uint8_t>(out[1]), std::vector<uint8_t>{255});
  EXPECT_EQ(values_of<uint8_t>(out[2]), std::vector<uint8_t>{1});
  EXPECT_EQ(values_of<uint16_t>(out[3]), std::vector<uint16_t>{0x2E66});  // 0.0999755859375
  EXPECT_EQ(values_of<float>(out[4]), std::vector<float>{0.1f});
  EXPECT_EQ(values_of<int8_t>(out[5]), std::vector<int8_t>{44});
  EXPECT_EQ(values_of<int64_t>(out[6]), std::vector<int64_t>{-2});
}

}  // namespace
}  // namespace kiln::backends::interp::testing
