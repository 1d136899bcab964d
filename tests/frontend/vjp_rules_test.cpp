// The gradient table's choices that central differences cannot check: which ops have rules,
// which inputs get gradients, and PyTorch's values at ties, kinks and zeros; plus the
// accumulation of gradients where one element fed several outputs.
#include <kiln/frontend/autograd/apply.h>
#include <kiln/frontend/autograd/vjp.h>
#include <kiln/frontend/tensor_impl.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "frontend_test_util.h"

namespace kiln {
namespace {

using frontend::autograd::apply;
using frontend::autograd::is_differentiable;
using frontend::autograd::vjp;
using frontend::autograd::VjpContext;
using ir::Op;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// The rule's gradients of op(inputs) for the output gradient `grad` (ones when undefined).
std::vector<Tensor> grads_of(Op op, const ir::Attrs& attrs, const std::vector<Tensor>& inputs,
                             Tensor grad = {}, std::vector<bool> needs = {}) {
  const Tensor out = apply(op, inputs, attrs);
  if (!grad.defined()) grad = ones_like(out);
  if (needs.empty()) needs.assign(inputs.size(), true);
  return vjp(VjpContext{op, &attrs, inputs, out, grad, needs});
}

std::vector<double> values_of(const Tensor& t) {
  EXPECT_TRUE(t.defined());
  return t.defined() ? t.tolist<double>() : std::vector<double>{};
}

// The engine leaves out the forward values a rule does not read (vjp_reads_value): each rule
// must give the same gradients from the operands' types alone, for every choice of wanted
// gradients. A rule that starts reading a value the table says it does not fails here.
TEST(VjpTable, RulesReadOnlyTheValuesTheTableNames) {
  using frontend::autograd::vjp_reads_value;
  const Tensor a = tensor({{1.5, -2.0, 3.0}, {0.5, 4.0, -1.0}}, float64);
  const Tensor b = tensor({{2.0, 0.25, -3.0}, {1.0, -0.5, 2.5}}, float64);
  const Tensor row = tensor({{1.0, 2.0, 3.0}}, float64);
  struct Case {
    Op op;
    ir::Attrs attrs;
    std::vector<Tensor> inputs;
  };
  const Case cases[] = {
      {Op::add, ir::NoAttrs{}, {a, b}},
      {Op::sub, ir::NoAttrs{}, {a, b}},
      {Op::mul, ir::NoAttrs{}, {a, b}},
      {Op::neg, ir::NoAttrs{}, {a}},
      {Op::cast, ir::CastAttrs{float32}, {a}},
      {Op::reshape, ir::ShapeAttrs{Shape{3, 2}}, {a}},
      {Op::expand, ir::ShapeAttrs{Shape{4, 3}}, {row}},
      {Op::permute, ir::PermuteAttrs{Shape{1, 0}}, {a}},
      {Op::sum, ir::ReduceAttrs{{1}, false}, {a}},
  };
  for (const Case& c : cases) {
    const Tensor out = apply(c.op, c.inputs, c.attrs);
    const Tensor g = full_like(out, 0.75);
    const size_t n = c.inputs.size();
    for (uint32_t mask = 1; mask < (1u << n); ++mask) {
      std::vector<bool> needs(n);
      for (size_t i = 0; i < n; ++i) needs[i] = ((mask >> i) & 1) != 0;
      const auto full = vjp(VjpContext{c.op, &c.attrs, c.inputs, out, g, needs, {}});
      VjpContext sparse{c.op, &c.attrs, {}, {}, g, needs, {}};
      if (vjp_reads_value(c.op, -1, needs)) sparse.output = out;
      for (size_t i = 0; i < n; ++i) {
        sparse.inputs.push_back(vjp_reads_value(c.op, static_cast<int>(i), needs) ? c.inputs[i]
                                                                                  : Tensor());
        sparse.input_types.push_back(&frontend::impl_of(c.inputs[i]).storage->value->type);
      }
      const auto part = vjp(sparse);
      ASSERT_EQ(full.size(), part.size()) << ir::op_name(c.op);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(full[i].defined(), part[i].defined()) << ir::op_name(c.op) << " input " << i;
        if (!full[i].defined()) continue;
        EXPECT_EQ(full[i].tolist<double>(), part[i].tolist<double>())
            << ir::op_name(c.op) << " input " << i << " mask " << mask;
      }
    }
  }
  // Ops whose rules read values say so.
  EXPECT_TRUE(vjp_reads_value(Op::exp, -1, {true}));
  EXPECT_TRUE(vjp_reads_value(Op::div, 1, {true, true}));
  EXPECT_FALSE(vjp_reads_value(Op::mul, 0, {true, false}));
  EXPECT_TRUE(vjp_reads_value(Op::mul, 1, {true, false}));
}

TEST(VjpTable, DifferentiableExactlyWhereARuleExists) {
  const std::set<std::string> none = {
      "input", "constant",    "sign",        "floor",      "ceil",   "round",
      "trunc", "logical_not", "eq",          "ne",         "lt",     "le",
      "gt",    "ge",          "logical_and", "logical_or", "argmax", "argmin"};
  for (int i = 0; i < ir::kNumOps; ++i) {
    const Op op = static_cast<Op>(i);
    const std::string name(ir::op_name(op));
    EXPECT_EQ(is_differentiable(op), none.count(name) == 0) << name;
  }
}

TEST(VjpTable, NonDifferentiableOpsGiveNothing) {
  const Tensor x = tensor({0.5, -1.5}, float64);
  for (Op op : {Op::floor, Op::sign, Op::round}) {
    const std::vector<Tensor> g = grads_of(op, ir::NoAttrs{}, {x}, ones_like(x));
    ASSERT_EQ(g.size(), 1u);
    EXPECT_FALSE(g[0].defined()) << ir::op_name(op);
  }
}

TEST(VjpTable, IntegerAndBoolInputsGetNoGradient) {
  const Tensor i = tensor({1, 2, 3}, int64);
  for (const Tensor& g : grads_of(Op::add, ir::NoAttrs{}, {i, i}, ones_like(i, float64)))
    EXPECT_FALSE(g.defined());
  const Tensor x = tensor({1.0, 2.0, 3.0}, float64);
  const Tensor cond = tensor({true, false, true});
  auto g = grads_of(Op::where, ir::NoAttrs{}, {cond, x, x});
  EXPECT_FALSE(g[0].defined());
  EXPECT_THAT(values_of(g[1]), ElementsAre(1, 0, 1));
  EXPECT_THAT(values_of(g[2]), ElementsAre(0, 1, 0));
  // A cast from an integer has nothing to send back; one to an integer has no gradient.
  EXPECT_FALSE(grads_of(Op::cast, ir::CastAttrs{float64}, {i})[0].defined());
  EXPECT_FALSE(grads_of(Op::cast, ir::CastAttrs{int64}, {x})[0].defined());
  // Index tensors are not differentiable.
  g = grads_of(Op::index, ir::AxisAttrs{0}, {x, tensor({2, 0}, int64)});
  EXPECT_THAT(values_of(g[0]), ElementsAre(1, 0, 1));
  EXPECT_FALSE(g[1].defined());
  g = grads_of(Op::index_put, ir::IndexPutAttrs{0, false},
               {x, tensor({5.0}, float64), tensor({1}, int64)});
  EXPECT_TRUE(g[0].defined() && g[1].defined());
  EXPECT_FALSE(g[2].defined());
}

TEST(VjpTable, UnwantedInputsAndUndefinedGradsGiveNothing) {
  const Tensor a = tensor({1.0, 2.0}, float64), b = tensor({3.0, 4.0}, float64);
  auto g = grads_of(Op::mul, ir::NoAttrs{}, {a, b}, ones_like(a), {false, true});
  EXPECT_FALSE(g[0].defined());
  EXPECT_THAT(values_of(g[1]), ElementsAre(1, 2));
  const ir::Attrs attrs = ir::NoAttrs{};
  g = vjp(VjpContext{Op::mul, &attrs, {a, b}, a * b, Tensor(), {true, true}});
  EXPECT_FALSE(g[0].defined() || g[1].defined());
}

TEST(VjpTable, GradientsKeepTheInputDtype) {
  const Tensor x = tensor({1.0, 4.0}, float32);
  auto g = grads_of(Op::sqrt, ir::NoAttrs{}, {x}, ones_like(x));
  EXPECT_EQ(g[0].dtype(), float32);
  EXPECT_THAT(values_of(g[0]), ElementsAre(0.5, 0.25));
  // cast float32 -> float64: the float64 gradient comes back as float32.
  g = grads_of(Op::cast, ir::CastAttrs{float64}, {x}, tensor({0.25, 3.0}, float64));
  EXPECT_EQ(g[0].dtype(), float32);
  EXPECT_THAT(values_of(g[0]), ElementsAre(0.25, 3.0));
}

TEST(VjpTies, AmaxAndAminShareTheGradientAmongTies) {
  const Tensor x = tensor({{1.0, 3.0, 3.0}, {2.0, 2.0, 0.0}}, float64);
  auto g = grads_of(Op::amax, ir::ReduceAttrs{{1}, false}, {x}, tensor({1.0, 4.0}, float64));
  EXPECT_THAT(values_of(g[0]), ElementsAre(0, 0.5, 0.5, 2, 2, 0));
  g = grads_of(Op::amin, ir::ReduceAttrs{{0}, true}, {x}, tensor({{1.0, 1.0, 6.0}}, float64));
  EXPECT_THAT(values_of(g[0]), ElementsAre(1, 0, 0, 0, 1, 6));
  // Over every dim: the three 3s of the whole tensor share it.
  const Tensor y = tensor({{3.0, 1.0}, {3.0, 3.0}}, float64);
  g = grads_of(Op::amax, ir::ReduceAttrs{{0, 1}, false}, {y}, tensor(6.0, float64));
  EXPECT_THAT(values_of(g[0]), ElementsAre(2, 0, 2, 2));
}

TEST(VjpTies, MaximumAndMinimumSplitTiesInHalf) {
  const Tensor a = tensor({1.0, 2.0, 3.0}, float64), b = tensor({1.0, 0.0, 5.0}, float64);
  auto g = grads_of(Op::maximum, ir::NoAttrs{}, {a, b});
  EXPECT_THAT(values_of(g[0]), ElementsAre(0.5, 1, 0));
  EXPECT_THAT(values_of(g[1]), ElementsAre(0.5, 0, 1));
  g = grads_of(Op::minimum, ir::NoAttrs{}, {a, b});
  EXPECT_THAT(values_of(g[0]), ElementsAre(0.5, 0, 1));
  EXPECT_THAT(values_of(g[1]), ElementsAre(0.5, 1, 0));
}

TEST(VjpKinks, ReluAndAbsAtZero) {
  const Tensor x = tensor({0.0, -1.0, 2.0}, float64);
  EXPECT_THAT(values_of(grads_of(Op::relu, ir::NoAttrs{}, {x})[0]), ElementsAre(0, 0, 1));
  EXPECT_THAT(values_of(grads_of(Op::abs, ir::NoAttrs{}, {x})[0]), ElementsAre(0, -1, 1));
}

TEST(VjpKinks, PowAtZeroBaseAndZeroExponent) {
  // PyTorch: d/da is 0 where b == 0; d/db is 0 where a == 0 and b >= 0.
  const Tensor a = tensor({0.0, 0.0, 2.0, 0.0}, float64);
  const Tensor b = tensor({0.0, 2.0, 0.0, -1.0}, float64);
  auto g = grads_of(Op::pow, ir::NoAttrs{}, {a, b});
  const std::vector<double> da = values_of(g[0]), db = values_of(g[1]);
  EXPECT_THAT(std::vector<double>(da.begin(), da.begin() + 3), ElementsAre(0, 0, 0));
  EXPECT_TRUE(std::isinf(da[3]));  // -1 * 0^-2
  EXPECT_THAT(std::vector<double>(db.begin(), db.begin() + 3), ElementsAre(0, 0, std::log(2.0)));
  EXPECT_TRUE(std::isinf(db[3]));  // 0^-1 * log(0)
}

TEST(VjpKinks, PowOfANegativeBaseToIntegralExponents) {
  const Tensor a = tensor({-1.5, -0.5}, float64), b = tensor({2.0, 3.0}, float64);
  auto g = grads_of(Op::pow, ir::NoAttrs{}, {a, b}, {}, {true, false});
  EXPECT_TRUE(kiln::testing::close_values(values_of(g[0]), {2 * -1.5, 3 * 0.25}, 1e-12));
  EXPECT_FALSE(g[1].defined());
}

TEST(VjpReduce, ProdWithZeros) {
  const ir::ReduceAttrs rows{{1}, false};
  const auto prod_grad = [&](std::initializer_list<double> row) {
    return values_of(grads_of(Op::prod, rows, {tensor({row}, float64)})[0]);
  };
  EXPECT_THAT(prod_grad({2, 4, 3}), ElementsAre(12, 6, 8));
  EXPECT_THAT(prod_grad({2, 0, 3}), ElementsAre(0, 6, 0));
  EXPECT_THAT(prod_grad({0, 0, 3}), ElementsAre(0, 0, 0));
  EXPECT_THAT(prod_grad({0}), ElementsAre(1));
  // Each group counts its own zeros.
  const Tensor x = tensor({{0.0, 5.0}, {2.0, 3.0}}, float64);
  auto g = grads_of(Op::prod, ir::ReduceAttrs{{1}, true}, {x}, tensor({{1.0}, {2.0}}, float64));
  EXPECT_THAT(values_of(g[0]), ElementsAre(5, 0, 6, 4));
}

TEST(VjpMovement, OverlappingAsStridedAccumulates) {
  // Windows [x0 x1], [x1 x2], [x2 x3]: x1 and x2 are read twice.
  const Tensor x = tensor({1.0, 2.0, 3.0, 4.0}, float64);
  auto g = grads_of(Op::as_strided, ir::StridedAttrs{{3, 2}, {1, 1}, 0}, {x},
                    tensor({{1.0, 10.0}, {100.0, 1000.0}, {1e4, 1e5}}, float64));
  EXPECT_THAT(values_of(g[0]), ElementsAre(1, 110, 11000, 1e5));
  // A stride-0 dim reads one element over and over.
  g = grads_of(Op::as_strided, ir::StridedAttrs{{3}, {0}, 2}, {x});
  EXPECT_THAT(values_of(g[0]), ElementsAre(0, 0, 3, 0));
}

TEST(VjpMovement, OverlappingAsStridedScatterSendsTheGradientToTheLastWriter) {
  // Window positions (0,1) and (1,0) both write x1, (1,1) and (2,0) both write x2: the later
  // (row-major) one survives, so only it gets the gradient.
  const Tensor base = tensor({1.0, 2.0, 3.0, 4.0}, float64);
  const Tensor src = tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, float64);
  auto g = grads_of(Op::as_strided_scatter, ir::StridedAttrs{{3, 2}, {1, 1}, 0}, {base, src},
                    tensor({1.0, 2.0, 3.0, 4.0}, float64));
  EXPECT_THAT(values_of(g[0]), ElementsAre(0, 0, 0, 0));
  EXPECT_THAT(values_of(g[1]), ElementsAre(1, 0, 2, 0, 3, 4));
}

TEST(VjpMovement, IndexWithRepeatedIndicesAccumulates) {
  const Tensor x = tensor({1.0, 2.0, 3.0}, float64);
  auto g = grads_of(Op::index, ir::AxisAttrs{0}, {x, tensor({0, 2, 0, -3}, int64)},
                    tensor({1.0, 10.0, 100.0, 1000.0}, float64));
  EXPECT_THAT(values_of(g[0]), ElementsAre(1101, 0, 10));
}

TEST(VjpMovement, IndexPutOverwriteTakesTheWrittenPlacesFromTheBase) {
  const Tensor base = tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, float64);
  const Tensor values = tensor({{7.0, 8.0}}, float64);
  const Tensor grad = tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, float64);
  auto g = grads_of(Op::index_put, ir::IndexPutAttrs{0, false}, {base, values, tensor({1}, int64)},
                    grad);
  EXPECT_THAT(values_of(g[0]), ElementsAre(1, 2, 0, 0, 5, 6));
  EXPECT_THAT(values_of(g[1]), ElementsAre(3, 4));
  g = grads_of(Op::index_put, ir::IndexPutAttrs{0, true}, {base, values, tensor({1}, int64)}, grad);
  EXPECT_THAT(values_of(g[0]), ElementsAreArray(values_of(grad)));
  EXPECT_THAT(values_of(g[1]), ElementsAre(3, 4));
}

TEST(VjpMovement, SliceAndCatPutTheGradientBack) {
  const Tensor x = tensor({1.0, 2.0, 3.0, 4.0, 5.0}, float64);
  auto g = grads_of(Op::slice, ir::SliceAttrs{0, 1, 5, 2}, {x}, tensor({7.0, 9.0}, float64));
  EXPECT_THAT(values_of(g[0]), ElementsAre(0, 7, 0, 9, 0));
  g = grads_of(Op::slice, ir::SliceAttrs{0, 2, 2, 1}, {x}, zeros({0}, float64));
  EXPECT_THAT(values_of(g[0]), ElementsAre(0, 0, 0, 0, 0));
  const Tensor a = tensor({1.0}, float64), b = tensor({2.0, 3.0}, float64);
  g = grads_of(Op::cat, ir::AxisAttrs{0}, {a, b}, tensor({4.0, 5.0, 6.0}, float64));
  EXPECT_THAT(values_of(g[0]), ElementsAre(4));
  EXPECT_THAT(values_of(g[1]), ElementsAre(5, 6));
}

TEST(VjpMovement, EmptyTensors) {
  const Tensor x = zeros({0, 3}, float64);
  auto g = grads_of(Op::sum, ir::ReduceAttrs{{0}, false}, {x});
  EXPECT_EQ(g[0].sizes(), (Shape{0, 3}));
  g = grads_of(Op::prod, ir::ReduceAttrs{{0}, false}, {x});
  EXPECT_EQ(g[0].sizes(), (Shape{0, 3}));
  g = grads_of(Op::expand, ir::ShapeAttrs{{2, 0}}, {zeros({2, 1}, float64)});
  EXPECT_THAT(values_of(g[0]), ElementsAre(0, 0));
  g = grads_of(Op::matmul, ir::NoAttrs{}, {zeros({2, 0}, float64), zeros({0, 3}, float64)});
  EXPECT_EQ(g[0].sizes(), (Shape{2, 0}));
  EXPECT_EQ(g[1].sizes(), (Shape{0, 3}));
}

}  // namespace
}  // namespace kiln
