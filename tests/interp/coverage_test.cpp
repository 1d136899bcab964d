// One small, hand-checked case per op, and a test that every op in the table has one: adding
// an op to KILN_IR_OPS without an interpreter case here fails EveryOpHasACase.
#include <functional>
#include <limits>
#include <map>

#include "interp_test_util.h"

namespace kiln::backends::interp::testing {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

void unary_case(Op op, std::vector<double> in, std::vector<double> expected,
                DType dtype = float64) {
  const Shape shape{static_cast<int64_t>(in.size())};
  expect_values(run_op(op, {type(dtype, shape)}, {in}), expected, 1e-14);
}

void binary_case(Op op, std::vector<double> a, std::vector<double> b, std::vector<double> expected,
                 DType dtype = float64) {
  const Shape shape{static_cast<int64_t>(a.size())};
  expect_values(run_op(op, {type(dtype, shape), type(dtype, shape)}, {a, b}), expected, 1e-14);
}

// [[1, 5, 3], [4, 2, 6]] as float64, reduced over axis 1.
void reduce_case(Op op, std::vector<double> expected) {
  expect_values(
      run_op(op, {type(float64, {2, 3})}, {{1, 5, 3, 4, 2, 6}}, ir::ReduceAttrs{{1}, false}),
      expected);
}

std::map<Op, std::function<void()>> coverage_table() {
  std::map<Op, std::function<void()>> cases;
  cases[Op::input] = [] {
    Graph g;
    const ValueId x = g.add_input(type(int32, {2}));
    g.set_outputs({x});
    EXPECT_EQ(values_of<int32_t>(run(g, {buffer_of<int32_t>({7, -8})})[0]),
              (std::vector<int32_t>{7, -8}));
  };
  cases[Op::constant] = [] {
    Graph g;
    g.set_outputs({g.add_constant(2.5, float64)});
    EXPECT_EQ(values_of<double>(run(g)[0]), std::vector<double>{2.5});
  };
  cases[Op::neg] = [] { unary_case(Op::neg, {1.5, -2, 0}, {-1.5, 2, -0.0}); };
  cases[Op::abs] = [] { unary_case(Op::abs, {-1.5, 2, kNaN}, {1.5, 2, kNaN}); };
  cases[Op::sign] = [] { unary_case(Op::sign, {-3, 0, 7, kNaN}, {-1, 0, 1, 0}); };
  cases[Op::relu] = [] { unary_case(Op::relu, {-3, 0.5, kNaN}, {0, 0.5, kNaN}); };
  cases[Op::sqrt] = [] { unary_case(Op::sqrt, {4, 2.25, -1}, {2, 1.5, kNaN}); };
  cases[Op::rsqrt] = [] { unary_case(Op::rsqrt, {4, 0.25, 0}, {0.5, 2, kInf}); };
  cases[Op::reciprocal] = [] { unary_case(Op::reciprocal, {4, -0.5, 0}, {0.25, -2, kInf}); };
  cases[Op::exp] = [] { unary_case(Op::exp, {0, 1, -kInf}, {1, 2.718281828459045, 0}); };
  cases[Op::expm1] = [] {
    unary_case(Op::expm1, {0, 1e-10, 1}, {0, 1.00000000005e-10, 1.718281828459045});
  };
  cases[Op::log] = [] { unary_case(Op::log, {1, 2.718281828459045, 0}, {0, 1, -kInf}); };
  cases[Op::log2] = [] { unary_case(Op::log2, {8, 0.5}, {3, -1}); };
  cases[Op::log10] = [] { unary_case(Op::log10, {1000, 0.01}, {3, -2}); };
  cases[Op::log1p] = [] { unary_case(Op::log1p, {0, 1e-10, -1}, {0, 9.9999999995e-11, -kInf}); };
  cases[Op::sin] = [] { unary_case(Op::sin, {0, 1.5707963267948966}, {0, 1}); };
  cases[Op::cos] = [] { unary_case(Op::cos, {0, 3.141592653589793}, {1, -1}); };
  cases[Op::tan] = [] { unary_case(Op::tan, {0, 0.7853981633974483}, {0, 1}); };
  cases[Op::tanh] = [] { unary_case(Op::tanh, {0, 0.5, kInf}, {0, 0.46211715726000974, 1}); };
  cases[Op::sigmoid] = [] { unary_case(Op::sigmoid, {0, 2, -kInf}, {0.5, 0.8807970779778823, 0}); };
  cases[Op::erf] = [] { unary_case(Op::erf, {0, 0.5, -kInf}, {0, 0.5204998778130465, -1}); };
  cases[Op::floor] = [] { unary_case(Op::floor, {-1.5, 1.5, 2}, {-2, 1, 2}); };
  cases[Op::ceil] = [] { unary_case(Op::ceil, {-1.5, 1.5, 2}, {-1, 2, 2}); };
  cases[Op::round] = [] { unary_case(Op::round, {0.5, 1.5, 2.5, -2.5, 2.6}, {0, 2, 2, -2, 3}); };
  cases[Op::trunc] = [] { unary_case(Op::trunc, {-1.7, 1.7}, {-1, 1}); };
  cases[Op::logical_not] = [] { unary_case(Op::logical_not, {0, 2, kNaN}, {1, 0, 0}); };
  cases[Op::cast] = [] {
    expect_values(run_op(Op::cast, {type(float64, {3})}, {{-1.0, 2.9, kNaN}}, ir::CastAttrs{uint8}),
                  {255, 2, 0});
  };
  cases[Op::add] = [] { binary_case(Op::add, {1, 2.5}, {3, -1}, {4, 1.5}); };
  cases[Op::sub] = [] { binary_case(Op::sub, {1, 2.5}, {3, -1}, {-2, 3.5}); };
  cases[Op::mul] = [] { binary_case(Op::mul, {1.5, 2}, {3, -1}, {4.5, -2}); };
  cases[Op::div] = [] { binary_case(Op::div, {7, -7, 7}, {2, 2, -2}, {3, -3, -3}, int64); };
  cases[Op::pow] = [] { binary_case(Op::pow, {2, 4, -8}, {10, 0.5, 2}, {1024, 2, 64}); };
  cases[Op::maximum] = [] { binary_case(Op::maximum, {1, 5, kNaN}, {3, 2, 1}, {3, 5, kNaN}); };
  cases[Op::minimum] = [] { binary_case(Op::minimum, {1, 5, 1}, {3, 2, kNaN}, {1, 2, kNaN}); };
  cases[Op::eq] = [] { binary_case(Op::eq, {1, 2, kNaN}, {1, 3, kNaN}, {1, 0, 0}); };
  cases[Op::ne] = [] { binary_case(Op::ne, {1, 2, kNaN}, {1, 3, kNaN}, {0, 1, 1}); };
  cases[Op::lt] = [] { binary_case(Op::lt, {1, 2, 3}, {2, 2, 2}, {1, 0, 0}); };
  cases[Op::le] = [] { binary_case(Op::le, {1, 2, 3}, {2, 2, 2}, {1, 1, 0}); };
  cases[Op::gt] = [] { binary_case(Op::gt, {1, 2, 3}, {2, 2, 2}, {0, 0, 1}); };
  cases[Op::ge] = [] { binary_case(Op::ge, {1, 2, 3}, {2, 2, 2}, {0, 1, 1}); };
  cases[Op::logical_and] = [] {
    binary_case(Op::logical_and, {0, 1, 2, 0}, {0, 0, 3, 4}, {0, 0, 1, 0});
  };
  cases[Op::logical_or] = [] {
    binary_case(Op::logical_or, {0, 1, 2, 0}, {0, 0, 3, 4}, {0, 1, 1, 1});
  };
  cases[Op::where] = [] {
    expect_values(run_op(Op::where, {type(boolean, {3}), type(float64, {3}), type(float64, {3})},
                         {{1, 0, 1}, {1, 2, 3}, {-1, -2, -3}}),
                  {1, -2, 3});
  };
  cases[Op::sum] = [] { reduce_case(Op::sum, {9, 12}); };
  cases[Op::prod] = [] { reduce_case(Op::prod, {15, 48}); };
  cases[Op::amax] = [] { reduce_case(Op::amax, {5, 6}); };
  cases[Op::amin] = [] { reduce_case(Op::amin, {1, 2}); };
  cases[Op::argmax] = [] { reduce_case(Op::argmax, {1, 2}); };
  cases[Op::argmin] = [] { reduce_case(Op::argmin, {0, 1}); };
  cases[Op::reshape] = [] {
    expect_values(
        run_op(Op::reshape, {type(int64, {2, 3})}, {{1, 2, 3, 4, 5, 6}}, ir::ShapeAttrs{{3, 2}}),
        {1, 2, 3, 4, 5, 6});
  };
  cases[Op::permute] = [] {
    expect_values(
        run_op(Op::permute, {type(int64, {2, 3})}, {{1, 2, 3, 4, 5, 6}}, ir::PermuteAttrs{{1, 0}}),
        {1, 4, 2, 5, 3, 6});
  };
  cases[Op::expand] = [] {
    expect_values(run_op(Op::expand, {type(int64, {2, 1})}, {{1, 2}}, ir::ShapeAttrs{{2, 3}}),
                  {1, 1, 1, 2, 2, 2});
  };
  cases[Op::slice] = [] {
    expect_values(
        run_op(Op::slice, {type(int64, {7})}, {{0, 1, 2, 3, 4, 5, 6}}, ir::SliceAttrs{0, 1, 7, 2}),
        {1, 3, 5});
  };
  cases[Op::as_strided] = [] {
    expect_values(run_op(Op::as_strided, {type(int64, {5})}, {{0, 1, 2, 3, 4}},
                         ir::StridedAttrs{{3, 2}, {1, 1}, 1}),
                  {1, 2, 2, 3, 3, 4});
  };
  cases[Op::cat] = [] {
    expect_values(
        run_op(Op::cat, {type(int64, {2}), type(int64, {1})}, {{1, 2}, {3}}, ir::AxisAttrs{0}),
        {1, 2, 3});
  };
  cases[Op::as_strided_scatter] = [] {
    expect_values(run_op(Op::as_strided_scatter, {type(int64, {5}), type(int64, {2})},
                         {{0, 0, 0, 0, 0}, {7, 8}}, ir::StridedAttrs{{2}, {2}, 1}),
                  {0, 7, 0, 8, 0});
  };
  cases[Op::index] = [] {
    expect_values(run_op(Op::index, {type(int64, {3}), type(int64, {2})}, {{10, 20, 30}, {2, -3}},
                         ir::AxisAttrs{0}),
                  {30, 10});
  };
  cases[Op::index_put] = [] {
    expect_values(run_op(Op::index_put, {type(int64, {3}), type(int64, {2}), type(int64, {2})},
                         {{10, 20, 30}, {1, 2}, {0, -1}}, ir::IndexPutAttrs{0, true}),
                  {11, 20, 32});
  };
  cases[Op::matmul] = [] {
    expect_values(
        run_op(Op::matmul, {type(float64, {1, 2}), type(float64, {2, 1})}, {{1, 2}, {3, 4}}), {11});
  };
  return cases;
}

TEST(InterpCoverage, EveryOpHasACase) {
  const auto cases = coverage_table();
  for (int i = 0; i < ir::kNumOps; ++i) {
    const Op op = static_cast<Op>(i);
    EXPECT_TRUE(cases.contains(op)) << "no interpreter coverage case for " << ir::op_name(op);
  }
}

TEST(InterpCoverage, EveryCasePasses) {
  for (const auto& [op, check] : coverage_table()) {
    SCOPED_TRACE(std::string(ir::op_name(op)));
    check();
  }
}

}  // namespace
}  // namespace kiln::backends::interp::testing
