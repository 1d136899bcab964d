// Gradients of the public ops, through the engine, against central differences in float64.
//
// Each case is a function f of some op inputs; L = sum(f(inputs) * W) for a fixed random W.
// backward() (or kiln::grad) gives dL/d(leaf) for every leaf, and each leaf element is checked
// against (L(leaf + h e_i) - L(leaf - h e_i)) / 2h, h = 1e-6, relative error below 1e-6
// scaled by max(1, |g|). Every case runs in three layouts of its inputs:
//   contiguous: each input is its own leaf;
//   strided:    each input is a transposed and step-sliced view of a larger leaf, so the
//               gradient must land in the right elements of that leaf (and nowhere else);
//   broadcast:  the inputs have shapes that broadcast against each other, or are expanded
//               views of smaller leaves, so gradients are summed back.
// Second order: a case whose f is itself a gradient (kiln::grad with create_graph) checks
// the gradient of the gradient the same way. Ties and kinks, where differences cannot decide,
// are checked against PyTorch's choices. The views, indexing, cat/stack and in-place cases are
// in autograd_gradcheck_views_test.cpp, which runs them through check_all_layouts below.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "frontend_test_util.h"

namespace kiln::gradcheck {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// The entry point of autograd_gradcheck_views_test.cpp (declared there again): the case of
// `f` with inputs of `shapes` (values in [-1.5, 1.5)) in every layout.
void check_all_layouts(const std::string& name, const std::vector<Shape>& shapes, const Fn& f,
                       const std::vector<Shape>& broadcast, bool strided);

namespace {

constexpr double kStep = 1e-6;

// One op input: its shape and the range its values are drawn from. Values stay at least 0.1
// away from each kink (where the op is not differentiable). Given `values` are used instead
// (repeated to the leaf's size).
struct Arg {
  Shape shape;
  double lo = -1.5, hi = 1.5;
  std::vector<double> kinks = {};
  std::vector<double> values = {};
};

struct Spec {
  std::string name;
  std::vector<Arg> args;
  Fn f;
  // The inputs' shapes in the broadcast layout; empty: expanded views of smaller leaves.
  std::vector<Shape> broadcast = {};
  // The function whose differences are taken (default f): f's float64 twin when f computes
  // partly in float32, whose rounding would swamp a difference of step 1e-6.
  Fn reference = nullptr;
  double tolerance = 1e-6;
  bool strided = true;        // false: the op refuses non-contiguous inputs (view())
  bool second_order = false;  // f takes gradients itself: the leaves need history in f
};

enum class Layout { kContiguous, kStrided, kBroadcast };

struct Case {
  Spec spec;
  Layout layout;
};

// A deterministic stream (FNV-1a of the case name seeds it).
class Rng {
 public:
  explicit Rng(const std::string& key) {
    uint64_t h = 1469598103934665603ull;
    for (char c : key) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
    gen_.seed(h);
  }
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(gen_() >> 11) * 0x1p-53;
  }

 private:
  std::mt19937_64 gen_;
};

std::vector<double> draw(const Arg& a, int64_t n, Rng& rng) {
  std::vector<double> v(static_cast<size_t>(n));
  if (!a.values.empty()) {
    for (size_t k = 0; k < v.size(); ++k) v[k] = a.values[k % a.values.size()];
    return v;
  }
  for (double& x : v) {
    x = rng.uniform(a.lo, a.hi);
    // Pushed outwards (not onto k + 0.1, which would make ties).
    for (double k : a.kinks)
      if (std::abs(x - k) < 0.1) x += std::copysign(0.1, x - k);
  }
  return v;
}

// How an op input is made from its leaf.
struct Input {
  Shape leaf;
  std::function<Tensor(const Tensor&)> view;  // null: the leaf itself
};

// A non-contiguous view of a larger leaf: >= 2-D: transposed, then every other row of the
// second-to-last dim; 1-D: every other element; 0-d: an element in the middle of a vector.
Input strided(const Shape& s) {
  const size_t n = s.size();
  if (n == 0) return {{3}, [](const Tensor& l) { return l[1]; }};
  if (n == 1) return {{2 * s[0] + 1}, [](const Tensor& l) { return l.index({Slice(1, None, 2)}); }};
  Shape leaf = s;
  leaf[n - 2] = s[n - 1];
  leaf[n - 1] = 2 * s[n - 2];
  return {leaf, [](const Tensor& l) {
            return l.transpose(-1, -2).index({Ellipsis, Slice(1, None, 2), Slice()});
          }};
}

// An expanded view of a smaller leaf: the first dim of size > 1 is broadcast (the leaf lacks
// it when it is the leading dim).
Input expanded(const Shape& s) {
  for (size_t d = 0; d < s.size(); ++d) {
    if (s[d] <= 1) continue;
    Shape leaf = s;
    if (d == 0)
      leaf.erase(leaf.begin());
    else
      leaf[d] = 1;
    return {leaf, [s](const Tensor& l) { return l.expand(s); }};
  }
  return {s, nullptr};
}

struct Problem {
  std::vector<Input> inputs;
  std::vector<std::vector<double>> values;  // per leaf
};

Problem problem_of(const Case& c, Rng& rng) {
  Problem p;
  const Spec& s = c.spec;
  for (size_t i = 0; i < s.args.size(); ++i) {
    const Shape& shape = s.args[i].shape;
    switch (c.layout) {
      case Layout::kContiguous:
        p.inputs.push_back({shape, nullptr});
        break;
      case Layout::kStrided:
        p.inputs.push_back(strided(shape));
        break;
      case Layout::kBroadcast:
        p.inputs.push_back(s.broadcast.empty() ? expanded(shape) : Input{s.broadcast[i], nullptr});
        break;
    }
    p.values.push_back(draw(s.args[i], numel(p.inputs.back().leaf), rng));
  }
  return p;
}

std::vector<Tensor> make_leaves(const Problem& p, const std::vector<std::vector<double>>& values,
                                bool requires_grad) {
  std::vector<Tensor> leaves;
  for (size_t i = 0; i < p.inputs.size(); ++i) {
    Tensor leaf = tensor(values[i], float64).reshape(p.inputs[i].leaf);
    if (requires_grad) leaf.requires_grad_();
    leaves.push_back(leaf);
  }
  return leaves;
}

std::vector<Tensor> op_inputs(const Problem& p, const std::vector<Tensor>& leaves) {
  std::vector<Tensor> args;
  for (size_t i = 0; i < leaves.size(); ++i)
    args.push_back(p.inputs[i].view ? p.inputs[i].view(leaves[i]) : leaves[i]);
  return args;
}

// L at the given leaf values, not yet computed.
Tensor loss_at(const Fn& f, const Problem& p, const std::vector<std::vector<double>>& values,
               const Tensor& w, bool with_grad) {
  // Second-order cases take gradients inside f: their leaves need history.
  std::vector<Tensor> leaves = make_leaves(p, values, with_grad);
  return (f(op_inputs(p, leaves)) * w).sum();
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  static const char* const kLayouts[] = {"contiguous", "strided", "broadcast"};
  return info.param.spec.name + "_" + kLayouts[static_cast<int>(info.param.layout)];
}
void PrintTo(const Case& c, std::ostream* os) { *os << case_name({c, 0}); }

// f compiled (kiln::compile) gives the eager result and, through its traced call and a
// replay, the same gradients.
void check_compiled_gradients(const Spec& s, const Problem& p, const Tensor& out, const Tensor& w,
                              const std::vector<Tensor>& eager_grads) {
  auto compiled = compile([&](const std::vector<Tensor>& in) { return s.f(in); });
  for (const char* call : {"traced call", "replay"}) {
    SCOPED_TRACE(std::string("compiled, ") + call);
    const std::vector<Tensor> leaves = make_leaves(p, p.values, true);
    Tensor got;
    try {
      got = compiled(op_inputs(p, leaves));
    } catch (const Error& e) {
      // Boolean masks and the like read values on the host: compile refuses them.
      EXPECT_THAT(e.what(), ::testing::HasSubstr("compile: the traced function needs"));
      return;
    }
    EXPECT_TRUE(testing::same_values(got.tolist<double>(), out.tolist<double>()));
    (got * w).sum().backward();
    for (size_t i = 0; i < leaves.size(); ++i) {
      if (!eager_grads[i].defined()) continue;
      ASSERT_TRUE(leaves[i].grad().defined()) << "leaf " << i;
      EXPECT_TRUE(testing::close_values(leaves[i].grad().tolist<double>(),
                                        eager_grads[i].tolist<double>(), 1e-12, 1e-12))
          << "leaf " << i;
    }
  }
  EXPECT_EQ(compiled.stats().traces, 1);
  EXPECT_EQ(compiled.stats().replays, 1);
}

void run_gradcheck(const Case& c) {
  const Spec& s = c.spec;
  Rng rng(case_name({c, 0}));
  const Problem p = problem_of(c, rng);
  const std::vector<Tensor> leaves = make_leaves(p, p.values, true);
  const Tensor out = s.f(op_inputs(p, leaves));
  ASSERT_TRUE(out.requires_grad()) << "the result has no history";
  std::vector<double> weights(static_cast<size_t>(out.numel()));
  for (double& x : weights) x = rng.uniform(-1, 1);
  const Tensor w = tensor(weights, float64).reshape(out.sizes());
  // dL/d(leaf) three ways, one per layout: backward() of L, backward(W) of f's result, and
  // kiln::grad with W as the output's gradient.
  std::vector<Tensor> grads;
  if (c.layout == Layout::kBroadcast) {
    grads = grad({out}, leaves, {w});
  } else {
    if (c.layout == Layout::kContiguous)
      (out * w).sum().backward();
    else
      out.backward(w);
    for (const Tensor& leaf : leaves) grads.push_back(leaf.grad());
  }
  if (!s.second_order && c.layout != Layout::kBroadcast)
    check_compiled_gradients(s, p, out, w, grads);
  // L moved up and down at every leaf element, all computed in one realization (one each would
  // make this suite slow).
  const Fn& reference = s.reference ? s.reference : s.f;
  std::vector<Tensor> moved_losses;
  {
    std::optional<NoGradGuard> no_grad;
    if (!s.second_order) no_grad.emplace();
    std::vector<std::vector<double>> moved = p.values;
    for (size_t i = 0; i < leaves.size(); ++i) {
      for (size_t e = 0; e < moved[i].size(); ++e) {
        for (double step : {kStep, -kStep}) {
          moved[i][e] = p.values[i][e] + step;
          moved_losses.push_back(loss_at(reference, p, moved, w, s.second_order));
        }
        moved[i][e] = p.values[i][e];
      }
    }
    eval(moved_losses);
  }
  size_t next = 0;
  for (size_t i = 0; i < leaves.size(); ++i) {
    SCOPED_TRACE("leaf " + std::to_string(i) + " of shape " + shape_to_string(p.inputs[i].leaf));
    std::vector<double> analytic(p.values[i].size(), 0.0);
    if (grads[i].defined()) {
      ASSERT_EQ(grads[i].sizes(), leaves[i].sizes());
      ASSERT_EQ(grads[i].dtype(), float64);
      analytic = grads[i].tolist<double>();
    }
    for (size_t e = 0; e < analytic.size(); ++e, next += 2) {
      const double up = moved_losses[next].item<double>();
      const double down = moved_losses[next + 1].item<double>();
      const double numeric = (up - down) / (2 * kStep);
      const double error = std::abs(numeric - analytic[e]) / std::max(1.0, std::abs(analytic[e]));
      EXPECT_LT(error, s.tolerance)
          << "element " << e << ": gradient " << analytic[e] << ", central difference " << numeric;
    }
  }
}

std::vector<Case> cases_of(const std::vector<Spec>& specs) {
  std::vector<Case> cases;
  for (const Spec& s : specs) {
    cases.push_back({s, Layout::kContiguous});
    if (s.strided) cases.push_back({s, Layout::kStrided});
    cases.push_back({s, Layout::kBroadcast});
  }
  return cases;
}

// The gradient of sum(f(x) * V) with respect to every input, with history (create_graph), as
// one flat vector: a case of this checks second order. V is fixed (not random) so that every
// evaluation uses the same one.
Fn second_order(Fn f) {
  return [f](const std::vector<Tensor>& args) {
    // Differentiated with respect to copies of the inputs, not the inputs: kiln::grad with
    // respect to a view that is used through a view of it fails (an engine bug, see
    // AutogradGradcheckEngine.GradWithRespectToAViewUsedThroughAViewOfIt).
    std::vector<Tensor> own;
    for (const Tensor& a : args) own.push_back(a.clone());
    const Tensor out = f(own);
    std::vector<double> v(static_cast<size_t>(out.numel()));
    for (size_t k = 0; k < v.size(); ++k) v[k] = 0.25 + std::sin(1.7 * static_cast<double>(k));
    const Tensor inner = (out * tensor(v, float64).reshape(out.sizes())).sum();
    std::vector<Tensor> parts;
    for (const Tensor& g : grad({inner}, own, {}, /*create_graph=*/true))
      parts.push_back(g.reshape({-1}));
    return cat(parts, 0);
  };
}

using V = const std::vector<Tensor>&;

Arg in(Shape s, double lo = -1.5, double hi = 1.5) { return {std::move(s), lo, hi}; }
Arg positive(Shape s) { return {std::move(s), 0.5, 2.0}; }
Arg kinked(Shape s, std::vector<double> kinks = {0.0}) {
  return {std::move(s), -1.5, 1.5, std::move(kinks)};
}

// Products along dim 1 of [2, 3, 2] with one zero, two zeros and none (prod is a polynomial,
// so central differences are exact at zeros too).
const Arg kWithZeros{{2, 3, 2}, 0, 0, {}, {0, 0, 1.5, 0, -0.7, 1.2, 0.8, -1.1, 1.3, 0.6, -0.9, 0}};

const Shape k34{3, 4};
const Shape k232{2, 3, 2};

Spec unary(std::string name, Arg arg, Tensor (Tensor::*method)() const) {
  return {std::move(name), {std::move(arg)}, [method](V x) { return (x[0].*method)(); }};
}

// A fixed boolean condition of shape [3, 4] (broadcasts against both [3, 1] and [4]).
Tensor condition() {
  return tensor({1.0, -1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, 1.0, -1.0, 1.0}).reshape(k34) >
         0;
}

std::vector<Spec> elementwise_specs() {
  using T = Tensor;
  std::vector<Spec> s = {
      unary("neg", in(k34), &T::neg),
      unary("abs", kinked(k34), &T::abs),
      unary("sqrt", positive(k34), &T::sqrt),
      unary("rsqrt", positive(k34), &T::rsqrt),
      unary("reciprocal", kinked(k34), &T::reciprocal),
      unary("exp", in(k34), &T::exp),
      unary("expm1", in(k34), &T::expm1),
      unary("log", positive(k34), &T::log),
      unary("log2", positive(k34), &T::log2),
      unary("log10", positive(k34), &T::log10),
      unary("log1p", in(k34, -0.5, 1.5), &T::log1p),
      unary("sin", in(k34), &T::sin),
      unary("cos", in(k34), &T::cos),
      unary("tan", in(k34, -1.2, 1.2), &T::tan),
      unary("tanh", in(k34), &T::tanh),
      unary("sigmoid", in(k34), &T::sigmoid),
      unary("relu", kinked(k34), &T::relu),
      unary("erf", in(k34), &T::erf),
      unary("square", in(k34), &T::square),
      {"neg_operator", {in(k34)}, [](V x) { return -x[0]; }},
      {"clamp", {kinked(k34, {-0.5, 0.7})}, [](V x) { return x[0].clamp(-0.5, 0.7); }},
      {"clamp_min", {kinked(k34, {-0.3})}, [](V x) { return x[0].clamp(-0.3); }},
      {"clamp_max", {kinked(k34, {0.4})}, [](V x) { return x[0].clamp(std::nullopt, 0.4); }},
      {"pow_0", {in(k34)}, [](V x) { return x[0].pow(0) + x[0]; }},
      {"pow_1", {in(k34)}, [](V x) { return x[0].pow(1); }},
      {"pow_2", {in(k34)}, [](V x) { return x[0].pow(2); }},
      {"pow_3_float", {in(k34)}, [](V x) { return x[0].pow(3.0); }},
      {"pow_half", {positive(k34)}, [](V x) { return x[0].pow(0.5); }},
      {"pow_minus_1_5", {positive(k34)}, [](V x) { return x[0].pow(-1.5); }},
      {"pow_scalar_base", {in(k34)}, [](V x) { return pow(2.5, x[0]); }},
      {"add_scalar", {in(k34)}, [](V x) { return x[0] + 2.5; }},
      {"scalar_add", {in(k34)}, [](V x) { return 2.5 + x[0]; }},
      {"sub_scalar", {in(k34)}, [](V x) { return x[0].sub(1.25); }},
      {"scalar_sub", {in(k34)}, [](V x) { return 1.25 - x[0]; }},
      {"mul_scalar", {in(k34)}, [](V x) { return x[0].mul(-1.5); }},
      {"mul_int_scalar", {in(k34)}, [](V x) { return 3 * x[0]; }},
      {"div_scalar", {in(k34)}, [](V x) { return x[0] / 3.0; }},
      {"scalar_div", {kinked(k34)}, [](V x) { return 3.0 / x[0]; }},
      {"add", {in(k34), in(k34)}, [](V x) { return x[0] + x[1]; }, {{3, 1}, {4}}},
      {"add_method", {in(k34), in(k34)}, [](V x) { return x[0].add(x[1]); }, {{4}, {3, 1}}},
      {"sub", {in(k34), in(k34)}, [](V x) { return kiln::sub(x[0], x[1]); }, {{3, 1}, {1, 4}}},
      {"mul", {in(k34), in(k34)}, [](V x) { return x[0] * x[1]; }, {{3, 4}, {4}}},
      {"mul_3d", {in(k232), in(k232)}, [](V x) { return x[0].mul(x[1]); }, {{2, 1, 3}, {4, 1}}},
      {"mul_same_tensor", {in(k34)}, [](V x) { return x[0] * x[0]; }},
      {"mul_0d", {in({}), in(k34)}, [](V x) { return x[1] * x[0]; }},
      {"div", {in(k34), kinked(k34)}, [](V x) { return x[0] / x[1]; }, {{3, 1}, {4}}},
      {"div_same_tensor", {kinked(k34)}, [](V x) { return (x[0] + 1) / x[0]; }},
      {"pow_tensor",
       {positive(k34), in(k34, -2, 2)},
       [](V x) { return x[0].pow(x[1]); },
       {{4}, {3, 1}}},
      {"maximum", {in(k34), in(k34)}, [](V x) { return maximum(x[0], x[1]); }, {{3, 1}, {4}}},
      {"minimum", {in(k34), in(k34)}, [](V x) { return x[0].minimum(x[1]); }, {{1, 4}, {3, 1}}},
      {"where",
       {in(k34), in(k34)},
       [](V x) { return where(condition(), x[0], x[1]); },
       {{3, 1}, {4}}},
      {"where_scalar_other", {in(k34)}, [](V x) { return where(condition(), x[0], 0.5); }},
      {"where_scalar_self", {in(k34)}, [](V x) { return where(condition(), -2.0, x[0]); }},
      {"where_on_the_input",
       {kinked(k34)},
       [](V x) { return where(x[0] > 0, x[0].exp(), x[0] * x[0]); }},
      {"mul_float32_constant",
       {in(k34)},
       [](V x) {
         return x[0] * tensor({0.5f, -1.25f, 2.0f, 3.0f});
       }},
      // Casts: float32 inside a float64 computation (the gradient is checked against the
      // float64 twin, with float32's precision), and a cast to the same dtype.
      {"to_float32_inside",
       {in(k34)},
       [](V x) { return (x[0].to(float32) * 2).exp().to(float64) * x[0]; },
       {},
       [](V x) { return (x[0] * 2).exp() * x[0]; },
       1e-5},
      {"to_float32_result",
       {in(k34)},
       [](V x) { return x[0].to(float32).sin() + x[0]; },
       {},
       [](V x) { return x[0].sin() + x[0]; },
       1e-5},
      {"to_float64_noop", {in(k34)}, [](V x) { return x[0].to(float64) * x[0]; }},
      {"chain",
       {in(k34), kinked(k34)},
       [](V x) { return ((x[0] * x[1]).tanh() + x[0].sigmoid() / x[1]).relu(); },
       {{3, 1}, {4}}},
  };
  return s;
}

Spec reduce(std::string name, Fn f, Arg arg = in(k232)) {
  return {std::move(name), {std::move(arg)}, std::move(f)};
}

std::vector<Spec> reduction_specs() {
  return {
      reduce("sum_all", [](V x) { return x[0].sum(); }),
      reduce(
          "sum_0d", [](V x) { return x[0].sum() + x[0].mean(0, true); }, in({})),
      reduce("sum_dim1", [](V x) { return x[0].sum(1); }),
      reduce("sum_dim1_keepdim", [](V x) { return x[0].sum(1, true); }),
      reduce("sum_dims02",
             [](V x) {
               return x[0].sum({0, 2});
             }),
      reduce("sum_dim_neg_keepdim", [](V x) { return x[0].sum({-1}, true); }),
      reduce("mean_all", [](V x) { return x[0].mean(); }),
      reduce("mean_dim1", [](V x) { return x[0].mean(1); }),
      reduce("mean_dims02_keepdim",
             [](V x) {
               return x[0].mean({0, 2}, true);
             }),
      reduce("prod_all", [](V x) { return x[0].prod(); }),
      reduce("prod_dim1", [](V x) { return x[0].prod(1); }),
      reduce("prod_dim2_keepdim", [](V x) { return x[0].prod(2, true); }),
      reduce(
          "prod_dim1_zeros", [](V x) { return x[0].prod(1); }, kWithZeros),
      reduce("prod_all_one_zero", [](V x) { return x[0].prod(); },
             {{2, 3}, 0, 0, {}, {1.5, -0.5, 0, 1.25, 0.8, -1.1}}),
      reduce("amax_dim1", [](V x) { return x[0].amax({1}); }),
      reduce("amax_dims02_keepdim",
             [](V x) {
               return x[0].amax({0, 2}, true);
             }),
      reduce("amin_all", [](V x) { return x[0].amin({}); }),
      reduce("amin_dim0_keepdim", [](V x) { return x[0].amin({0}, true); }),
      reduce("max_all", [](V x) { return x[0].max(); }),
      reduce("min_all", [](V x) { return x[0].min(); }),
      reduce("max_dim1", [](V x) { return std::get<0>(x[0].max(1)); }),
      reduce("max_dim0_keepdim", [](V x) { return std::get<0>(x[0].max(0, true)); }),
      reduce("min_dim2", [](V x) { return std::get<0>(x[0].min(2)); }),
      reduce("min_dim_neg_keepdim", [](V x) { return std::get<0>(x[0].min(-2, true)); }),
      reduce("var_all", [](V x) { return x[0].var(); }),
      reduce("var_dim1", [](V x) { return x[0].var(1); }),
      reduce("var_dim2_keepdim_correction0", [](V x) { return x[0].var(2, true, 0); }),
      reduce("std_all", [](V x) { return x[0].std(); }),
      reduce("std_dim1_keepdim", [](V x) { return x[0].std(1, true); }),
      // softmax, log_softmax, logsumexp and the 2-norm as users compose them.
      reduce("softmax",
             [](V x) {
               const Tensor e = (x[0] - x[0].amax({1}, true)).exp();
               return e / e.sum(1, true);
             }),
      reduce("log_softmax",
             [](V x) {
               const Tensor shifted = x[0] - std::get<0>(x[0].max(-1, true));
               return shifted - shifted.exp().sum(-1, true).log();
             }),
      reduce("logsumexp",
             [](V x) {
               const Tensor m = x[0].amax({0, 1}, true);
               return (x[0] - m).exp().sum({0, 1}).log() + m.reshape({2});
             }),
      reduce("norm", [](V x) { return x[0].square().sum().sqrt(); }),
  };
}

Spec binary(std::string name, Shape a, Shape b, Fn f) {
  return {std::move(name), {in(std::move(a)), in(std::move(b))}, std::move(f)};
}

std::vector<Spec> matmul_specs() {
  const Fn matmul = [](V x) { return kiln::matmul(x[0], x[1]); };
  return {
      binary("mm", {2, 3}, {3, 4}, [](V x) { return mm(x[0], x[1]); }),
      binary("mm_method", {3, 2}, {2, 3}, [](V x) { return x[0].mm(x[1]); }),
      binary("bmm", {2, 2, 3}, {2, 3, 2}, [](V x) { return bmm(x[0], x[1]); }),
      binary("matmul_2d", {2, 3}, {3, 2}, [](V x) { return x[0].matmul(x[1]); }),
      binary("matmul_dot", {4}, {4}, matmul),
      binary("matmul_mv", {2, 3}, {3}, matmul),
      binary("matmul_vm", {3}, {3, 2}, matmul),
      binary("matmul_3d_1d", {2, 2, 3}, {3}, matmul),
      binary("matmul_1d_3d", {3}, {2, 3, 2}, matmul),
      binary("matmul_3d_2d", {2, 2, 3}, {3, 2}, matmul),
      binary("matmul_2d_3d", {2, 3}, {2, 3, 2}, matmul),
      binary("matmul_batch_broadcast", {2, 1, 2, 3}, {2, 3, 2}, matmul),
      {"matmul_same_tensor", {in({3, 3})}, [](V x) { return kiln::matmul(x[0], x[0].t()); }},
  };
}

std::vector<Spec> second_order_specs() {
  auto spec = [](std::string name, std::vector<Arg> args, Fn f) {
    Spec out{"grad2_" + std::move(name), std::move(args), second_order(std::move(f))};
    out.second_order = true;
    return out;
  };
  const Shape s{2, 3};
  return {
      spec("tanh", {in(s)}, [](V x) { return x[0].tanh(); }),
      spec("sigmoid_exp", {in(s)}, [](V x) { return x[0].sigmoid() * x[0].exp(); }),
      spec("log_sqrt", {positive(s)}, [](V x) { return x[0].log() * x[0].sqrt(); }),
      spec("rsqrt_reciprocal", {positive(s)}, [](V x) { return x[0].rsqrt() + x[0].reciprocal(); }),
      spec("erf_sin", {in(s)}, [](V x) { return x[0].erf() * x[0].sin(); }),
      spec("div", {in(s), kinked(s)}, [](V x) { return x[0] / x[1]; }),
      spec("pow", {positive(s), in(s, -2, 2)}, [](V x) { return x[0].pow(x[1]); }),
      spec("prod", {in(s)}, [](V x) { return x[0].prod(1); }),
      spec("prod_zeros", {kWithZeros}, [](V x) { return x[0].prod(1); }),
      spec("var", {in(s)}, [](V x) { return x[0].var(); }),
      spec("matmul", {in({2, 3}), in({3, 2})}, [](V x) { return x[0].matmul(x[1]).tanh(); }),
      spec("softmax", {in(s)},
           [](V x) {
             const Tensor e = (x[0] - x[0].amax({1}, true)).exp();
             return e / e.sum(1, true);
           }),
      spec("max_dim", {in(s)}, [](V x) { return std::get<0>(x[0].max(1)).square(); }),
      spec("views", {in(s)}, [](V x) { return x[0].t().reshape({-1}).exp() * x[0].reshape({-1}); }),
      spec("index", {in(s)},
           [](V x) {
             return x[0].index({tensor({1, 0, 1})}).square();
           }),
      spec("index_put", {in(s), in({3})},
           [](V x) {
             const Tensor y = x[0] * x[0];
             y.index_put_({1}, x[1].exp());
             return y * x[0];
           }),
      spec("cat_stack", {in(s), in(s)},
           [](V x) {
             return cat({x[0] * x[1], stack({x[0], x[1]}).reshape({4, 3})}).square();
           }),
      spec("where_maximum_clamp", {kinked(s, {-0.5, 0.5}), in(s)},
           [](V x) {
             return where(condition().index({Slice(0, 2), Slice(0, 3)}), x[0] * x[1],
                          maximum(x[0], x[1]).square()) *
                    x[0].clamp(-0.5, 0.5);
           }),
      spec("broadcast", {in({2, 1}), in({3})}, [](V x) { return (x[0] * x[1]).sin(); }),
  };
}

class AutogradGradcheck : public ::testing::TestWithParam<Case> {};
TEST_P(AutogradGradcheck, MatchesCentralDifferences) { run_gradcheck(GetParam()); }

}  // namespace

void check_all_layouts(const std::string& name, const std::vector<Shape>& shapes, const Fn& f,
                       const std::vector<Shape>& broadcast, bool strided) {
  Spec spec{name, {}, f, broadcast};
  spec.strided = strided;
  for (const Shape& s : shapes) spec.args.push_back(in(s));
  for (const Case& c : cases_of({spec})) {
    SCOPED_TRACE(case_name({c, 0}));
    run_gradcheck(c);
  }
}

namespace {

INSTANTIATE_TEST_SUITE_P(Elementwise, AutogradGradcheck,
                         ::testing::ValuesIn(cases_of(elementwise_specs())), case_name);
INSTANTIATE_TEST_SUITE_P(Reduction, AutogradGradcheck,
                         ::testing::ValuesIn(cases_of(reduction_specs())), case_name);
INSTANTIATE_TEST_SUITE_P(Matmul, AutogradGradcheck, ::testing::ValuesIn(cases_of(matmul_specs())),
                         case_name);
INSTANTIATE_TEST_SUITE_P(SecondOrder, AutogradGradcheck,
                         ::testing::ValuesIn(cases_of(second_order_specs())), case_name);

}  // namespace
}  // namespace kiln::gradcheck
