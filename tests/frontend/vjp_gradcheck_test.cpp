// Every differentiable op's gradient rule against central differences, with no engine: the
// forward is one IR node built with apply(), the scalar L = sum(output * w) for a fixed random
// w, and the rule's gradient (VjpContext with grad = w) must match (L(x + h e_i) -
// L(x - h e_i)) / 2h at every element of every floating input, in float64.
#include <kiln/frontend/autograd/apply.h>
#include <kiln/frontend/autograd/vjp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "frontend_test_util.h"

namespace kiln {
namespace {

using frontend::autograd::apply;
using frontend::autograd::VjpContext;
using ir::Op;

constexpr double kStep = 1e-6;
constexpr double kTolerance = 1e-6;

Tensor leaf(const std::vector<double>& values, const Shape& shape) {
  return tensor(values).reshape(shape);
}
Tensor indices(const std::vector<int64_t>& values, const Shape& shape) {
  return tensor(values).reshape(shape);
}

// Random float64 values in [lo, hi) from kiln's seeded generator, as a leaf tensor.
std::vector<double> uniform_values(const Shape& shape, double lo, double hi) {
  std::vector<double> v = rand(shape, float64).tolist<double>();
  for (double& x : v) x = lo + (hi - lo) * x;
  return v;
}
Tensor uniform(const Shape& shape, double lo = -1.5, double hi = 1.5) {
  return leaf(uniform_values(shape, lo, hi), shape);
}
// In [-1.2, -0.2) or [0.2, 1.2): away from the kinks of abs and relu at 0.
Tensor away_from_zero(const Shape& shape) {
  std::vector<double> v = uniform_values(shape, -1, 1);
  for (double& x : v) x += std::copysign(0.2, x);
  return leaf(v, shape);
}
// `a` plus offsets of at least 0.1 in magnitude: no ties with a.
Tensor apart_from(const Tensor& a) {
  std::vector<double> v = a.tolist<double>();
  const std::vector<double> d = uniform_values(a.sizes(), -1, 1);
  for (size_t i = 0; i < v.size(); ++i) v[i] += d[i] + std::copysign(0.1, d[i]);
  return leaf(v, a.sizes());
}

struct Case {
  Op op;
  ir::Attrs attrs;
  std::vector<Tensor> inputs;
};

struct Spec {
  std::string name;
  std::function<Case()> make;
};
void PrintTo(const Spec& spec, std::ostream* os) { *os << spec.name; }

double loss(const Case& c, const std::vector<Tensor>& inputs, const std::vector<double>& w) {
  const std::vector<double> out = apply(c.op, inputs, c.attrs).tolist<double>();
  double sum = 0;
  for (size_t i = 0; i < out.size(); ++i) sum += out[i] * w[i];
  return sum;
}

void gradcheck(const Case& c) {
  const Tensor out = apply(c.op, c.inputs, c.attrs);
  const Tensor w = uniform(out.sizes(), -1, 1);
  const std::vector<double> weights = w.tolist<double>();
  const VjpContext ctx{c.op, &c.attrs, c.inputs, out, w, std::vector<bool>(c.inputs.size(), true)};
  const std::vector<Tensor> grads = frontend::autograd::vjp(ctx);
  ASSERT_EQ(grads.size(), c.inputs.size());
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    SCOPED_TRACE("input " + std::to_string(i));
    const Tensor& x = c.inputs[i];
    if (!x.is_floating_point()) {
      EXPECT_FALSE(grads[i].defined()) << "an integer or bool input got a gradient";
      continue;
    }
    ASSERT_TRUE(grads[i].defined());
    ASSERT_EQ(grads[i].sizes(), x.sizes());
    ASSERT_EQ(grads[i].dtype(), x.dtype());
    const std::vector<double> analytic = grads[i].tolist<double>();
    const std::vector<double> base = x.tolist<double>();
    for (size_t e = 0; e < base.size(); ++e) {
      std::vector<Tensor> moved = c.inputs;
      std::vector<double> v = base;
      v[e] = base[e] + kStep;
      moved[i] = leaf(v, x.sizes());
      const double up = loss(c, moved, weights);
      v[e] = base[e] - kStep;
      moved[i] = leaf(v, x.sizes());
      const double down = loss(c, moved, weights);
      const double numeric = (up - down) / (2 * kStep);
      const double error = std::abs(numeric - analytic[e]) / std::max(1.0, std::abs(analytic[e]));
      EXPECT_LT(error, kTolerance)
          << "element " << e << ": rule " << analytic[e] << ", central difference " << numeric;
    }
  }
}

class Gradcheck : public ::testing::TestWithParam<Spec> {};

TEST_P(Gradcheck, MatchesCentralDifferences) {
  manual_seed(std::hash<std::string>{}(GetParam().name) % 100003);
  gradcheck(GetParam().make());
}

std::string spec_name(const ::testing::TestParamInfo<Spec>& info) { return info.param.name; }

// The shapes every elementwise op is checked at: 0-d, with a size-1 dim, and plain 2-d.
const std::vector<std::pair<std::string, Shape>> kShapes = {
    {"0d", {}}, {"1x3", {1, 3}}, {"2x3", {2, 3}}};

std::vector<Spec> elementwise_specs() {
  struct Unary {
    Op op;
    double lo, hi;  // the domain the inputs are drawn from
  };
  const std::vector<Unary> unary = {
      {Op::neg, -1.5, 1.5},     {Op::sqrt, 0.5, 2},    {Op::rsqrt, 0.5, 2},
      {Op::reciprocal, 0.5, 2}, {Op::exp, -1.5, 1.5},  {Op::expm1, -1.5, 1.5},
      {Op::log, 0.5, 2},        {Op::log2, 0.5, 2},    {Op::log10, 0.5, 2},
      {Op::log1p, -0.5, 1.5},   {Op::sin, -1.5, 1.5},  {Op::cos, -1.5, 1.5},
      {Op::tan, -1.2, 1.2},     {Op::tanh, -1.5, 1.5}, {Op::sigmoid, -1.5, 1.5},
      {Op::erf, -1.5, 1.5},
  };
  std::vector<Spec> specs;
  for (const auto& [shape_name, shape] : kShapes) {
    for (const Unary& u : unary)
      specs.push_back({std::string(ir::op_name(u.op)) + "_" + shape_name, [u, shape = shape] {
                         return Case{u.op, ir::NoAttrs{}, {uniform(shape, u.lo, u.hi)}};
                       }});
    for (Op op : {Op::abs, Op::relu})
      specs.push_back({std::string(ir::op_name(op)) + "_" + shape_name, [op, shape = shape] {
                         return Case{op, ir::NoAttrs{}, {away_from_zero(shape)}};
                       }});
    specs.push_back({"cast_" + shape_name, [shape = shape] {
                       return Case{Op::cast, ir::CastAttrs{float64}, {uniform(shape)}};
                     }});
    for (Op op : {Op::add, Op::sub, Op::mul})
      specs.push_back({std::string(ir::op_name(op)) + "_" + shape_name, [op, shape = shape] {
                         return Case{op, ir::NoAttrs{}, {uniform(shape), uniform(shape)}};
                       }});
    specs.push_back({"div_" + shape_name, [shape = shape] {
                       return Case{Op::div, ir::NoAttrs{}, {uniform(shape), away_from_zero(shape)}};
                     }});
    specs.push_back(
        {"pow_" + shape_name, [shape = shape] {
           return Case{Op::pow, ir::NoAttrs{}, {uniform(shape, 0.5, 2), uniform(shape, -2, 2)}};
         }});
    for (Op op : {Op::maximum, Op::minimum})
      specs.push_back({std::string(ir::op_name(op)) + "_" + shape_name, [op, shape = shape] {
                         const Tensor a = uniform(shape);
                         return Case{op, ir::NoAttrs{}, {a, apart_from(a)}};
                       }});
    specs.push_back(
        {"where_" + shape_name, [shape = shape] {
           const Tensor cond = uniform(shape, 0, 1) > 0.5;
           return Case{Op::where, ir::NoAttrs{}, {cond, uniform(shape), uniform(shape)}};
         }});
  }
  return specs;
}

Spec reduce_spec(Op op, const std::string& name, const Shape& shape, const Shape& axes,
                 bool keepdim) {
  return {std::string(ir::op_name(op)) + "_" + name, [op, shape, axes, keepdim] {
            return Case{op, ir::ReduceAttrs{axes, keepdim}, {uniform(shape)}};
          }};
}

std::vector<Spec> reduction_specs() {
  std::vector<Spec> specs;
  for (Op op : {Op::sum, Op::prod, Op::amax, Op::amin}) {
    specs.push_back(reduce_spec(op, "2x3x4_dim1", {2, 3, 4}, {1}, false));
    specs.push_back(reduce_spec(op, "2x3x4_dims02_keepdim", {2, 3, 4}, {0, 2}, true));
    specs.push_back(reduce_spec(op, "2x3x4_all", {2, 3, 4}, {0, 1, 2}, false));
    specs.push_back(reduce_spec(op, "1x3_dim0", {1, 3}, {0}, false));
    specs.push_back(reduce_spec(op, "1x3_dim1_keepdim", {1, 3}, {1}, true));
    specs.push_back(reduce_spec(op, "0d", {}, {}, false));
    specs.push_back(reduce_spec(op, "0d_axis0", {}, {0}, true));
  }
  // prod is multilinear, so central differences are exact at zeros too.
  specs.push_back({"prod_one_zero", [] {
                     return Case{Op::prod,
                                 ir::ReduceAttrs{{1}, false},
                                 {leaf({2, 0, 3, 0.5, 1.5, -2}, {2, 3})}};
                   }});
  specs.push_back(
      {"prod_two_zeros", [] {
         return Case{Op::prod, ir::ReduceAttrs{{1}, true}, {leaf({0, 0, 3, 0.5, 0, -2}, {2, 3})}};
       }});
  return specs;
}

Spec movement_spec(const std::string& name, Op op, ir::Attrs attrs, std::vector<Shape> shapes) {
  return {name, [op, attrs, shapes] {
            std::vector<Tensor> inputs;
            for (const Shape& s : shapes) inputs.push_back(uniform(s));
            return Case{op, attrs, inputs};
          }};
}

std::vector<Spec> movement_specs() {
  using ir::StridedAttrs;
  return {
      movement_spec("reshape_2x3_to_3x2", Op::reshape, ir::ShapeAttrs{{3, 2}}, {{2, 3}}),
      movement_spec("reshape_0d_to_1x1", Op::reshape, ir::ShapeAttrs{{1, 1}}, {{}}),
      movement_spec("reshape_1x3_to_3", Op::reshape, ir::ShapeAttrs{{3}}, {{1, 3}}),
      movement_spec("permute_2x3x4", Op::permute, ir::PermuteAttrs{{2, 0, 1}}, {{2, 3, 4}}),
      movement_spec("permute_1x3", Op::permute, ir::PermuteAttrs{{1, 0}}, {{1, 3}}),
      movement_spec("expand_1x3", Op::expand, ir::ShapeAttrs{{2, 3}}, {{1, 3}}),
      movement_spec("expand_2x1x1", Op::expand, ir::ShapeAttrs{{2, 3, 4}}, {{2, 1, 1}}),
      movement_spec("expand_same", Op::expand, ir::ShapeAttrs{{1, 3}}, {{1, 3}}),
      movement_spec("slice_step2", Op::slice, ir::SliceAttrs{0, 1, 5, 2}, {{5, 3}}),
      movement_spec("slice_dim1_step3", Op::slice, ir::SliceAttrs{1, 0, 6, 3}, {{2, 6}}),
      movement_spec("slice_1x3", Op::slice, ir::SliceAttrs{1, 1, 3, 1}, {{1, 3}}),
      movement_spec("as_strided_transpose", Op::as_strided, StridedAttrs{{3, 2}, {1, 3}, 0},
                    {{2, 3}}),
      movement_spec("as_strided_overlapping", Op::as_strided, StridedAttrs{{3, 2}, {1, 1}, 0},
                    {{5}}),
      movement_spec("as_strided_broadcast", Op::as_strided, StridedAttrs{{2, 2}, {0, 1}, 1},
                    {{2, 2}}),
      movement_spec("as_strided_0d_window", Op::as_strided, StridedAttrs{{}, {}, 2}, {{4}}),
      movement_spec("as_strided_of_0d", Op::as_strided, StridedAttrs{{1, 2}, {1, 0}, 0}, {{}}),
      movement_spec("cat_dim0", Op::cat, ir::AxisAttrs{0}, {{2, 3}, {1, 3}}),
      movement_spec("cat_dim1_three", Op::cat, ir::AxisAttrs{1}, {{2, 1}, {2, 2}, {2, 3}}),
      movement_spec("cat_single", Op::cat, ir::AxisAttrs{0}, {{2, 2}}),
      movement_spec("as_strided_scatter_disjoint", Op::as_strided_scatter,
                    StridedAttrs{{2, 2}, {3, 1}, 1}, {{2, 3}, {2, 2}}),
      movement_spec("as_strided_scatter_overlapping", Op::as_strided_scatter,
                    StridedAttrs{{3, 2}, {1, 1}, 0}, {{5}, {3, 2}}),
      movement_spec("as_strided_scatter_broadcast", Op::as_strided_scatter,
                    StridedAttrs{{2, 3}, {0, 2}, 1}, {{2, 3}, {2, 3}}),
      movement_spec("as_strided_scatter_0d", Op::as_strided_scatter, StridedAttrs{{}, {}, 0},
                    {{}, {}}),
      movement_spec("matmul_2x3_3x4", Op::matmul, ir::NoAttrs{}, {{2, 3}, {3, 4}}),
      movement_spec("matmul_batched", Op::matmul, ir::NoAttrs{}, {{2, 2, 3}, {2, 3, 1}}),
      movement_spec("matmul_1x1", Op::matmul, ir::NoAttrs{}, {{1, 1}, {1, 1}}),
      {"index_dim0_repeated",
       [] {
         return Case{Op::index, ir::AxisAttrs{0}, {uniform({4, 3}), indices({2, 0, 2, -1}, {4})}};
       }},
      {"index_two_dims",
       [] {
         return Case{
             Op::index,
             ir::AxisAttrs{1},
             {uniform({2, 3, 4}), indices({0, 2, 2, 1}, {2, 2}), indices({3, 0, 3, 1}, {2, 2})}};
       }},
      {"index_0d_index",
       [] {
         return Case{Op::index, ir::AxisAttrs{0}, {uniform({3}), indices({1}, {})}};
       }},
      {"index_put_overwrite",
       [] {
         return Case{Op::index_put,
                     ir::IndexPutAttrs{0, false},
                     {uniform({4, 3}), uniform({3, 3}), indices({0, 3, 2}, {3})}};
       }},
      {"index_put_accumulate_repeated",
       [] {
         return Case{Op::index_put,
                     ir::IndexPutAttrs{0, true},
                     {uniform({4, 3}), uniform({3, 3}), indices({1, 1, 3}, {3})}};
       }},
      {"index_put_dim1",
       [] {
         return Case{Op::index_put,
                     ir::IndexPutAttrs{1, false},
                     {uniform({2, 3}), uniform({2, 2}), indices({2, 0}, {2})}};
       }},
  };
}

// Every op with a rule has at least one case above.
TEST(GradcheckCoverage, EveryDifferentiableOpIsChecked) {
  std::set<Op> checked;
  for (const auto& specs : {elementwise_specs(), reduction_specs(), movement_specs()})
    for (const Spec& spec : specs) checked.insert(spec.make().op);
  for (int i = 0; i < ir::kNumOps; ++i) {
    const Op op = static_cast<Op>(i);
    if (frontend::autograd::is_differentiable(op)) {
      EXPECT_EQ(checked.count(op), 1u) << ir::op_name(op) << " has no gradcheck case";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Elementwise, Gradcheck, ::testing::ValuesIn(elementwise_specs()),
                         spec_name);
INSTANTIATE_TEST_SUITE_P(Reduction, Gradcheck, ::testing::ValuesIn(reduction_specs()), spec_name);
INSTANTIATE_TEST_SUITE_P(Movement, Gradcheck, ::testing::ValuesIn(movement_specs()), spec_name);

}  // namespace
}  // namespace kiln
