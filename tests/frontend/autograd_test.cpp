// Autograd through the public API: PyTorch's semantics for leaves, grad accumulation, grad
// mode, views and in-place ops, kiln::grad and higher order, memory, and fusion of the
// backward pass (kernel counts on the CPU backend). The per-op rules are checked against
// finite differences in vjp_gradcheck_test.cpp.
#include <cmath>
#include <sstream>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kiln/backends/backend.h"
#include "kiln/backends/cpu/cpu_backend.h"
#include "kiln/frontend/lazy.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<double> values(const Tensor& t) { return t.tolist<double>(); }

template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Autograd, LeavesAndRequiresGrad) {
  Tensor x = tensor({1.0, 2.0}, float64);
  EXPECT_FALSE(x.requires_grad());
  EXPECT_TRUE(x.is_leaf());
  x.requires_grad_();
  EXPECT_TRUE(x.requires_grad());
  EXPECT_TRUE(x.is_leaf());
  EXPECT_FALSE(x.grad().defined());
  Tensor y = x * 2;
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(y.is_leaf());
  EXPECT_THAT(error_of([] {
                tensor({1, 2}).requires_grad_();
              }),
              HasSubstr("only Tensors of floating point dtype can require gradients"));
  Tensor z = zeros({2}, Options{.dtype = float32, .requires_grad = true});
  EXPECT_TRUE(z.requires_grad());
  // Comparisons and integer results never require grad.
  EXPECT_FALSE((x > 1).requires_grad());
  EXPECT_FALSE(x.argmax().requires_grad());
}

TEST(Autograd, PrintingShowsRequiresGradOnLeaves) {
  std::ostringstream os;
  os << tensor({1.0, 2.0}).requires_grad_();
  EXPECT_EQ(os.str(), "tensor([1., 2.], requires_grad=True)");
}

TEST(Autograd, BackwardNeedsAScalarOrAGradient) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  EXPECT_THAT(error_of([&] { (x * 2).backward(); }),
              HasSubstr("grad can be implicitly created only for scalar outputs"));
  (x * x).backward(tensor({1.0, 10.0}));
  EXPECT_THAT(values(x.grad()), ElementsAre(2.0, 40.0));
  EXPECT_THAT(error_of([] { tensor({1.0}).backward(); }), HasSubstr("does not require grad"));
}

TEST(Autograd, GradientsAccumulateAndZero) {
  Tensor x = tensor({1.0, 2.0, 3.0}, float64).requires_grad_();
  (x * x).sum().backward();
  (x * 3).sum().backward();
  EXPECT_THAT(values(x.grad()), ElementsAre(5.0, 7.0, 9.0));
  Tensor g = x.grad();
  x.grad().zero_();
  EXPECT_THAT(values(g), ElementsAre(0.0, 0.0, 0.0)) << "zero_ acts on the grad tensor itself";
  (x * 3).sum().backward();
  EXPECT_THAT(values(g), ElementsAre(3.0, 3.0, 3.0)) << "later gradients add into it in place";
}

TEST(Autograd, BroadcastGradientsSumBackToTheInputShape) {
  Tensor a = tensor({1.0, 2.0, 3.0}, float64).requires_grad_();
  Tensor b = tensor({{1.0}, {10.0}}, float64).requires_grad_();
  ((a + b) * (a * b)).sum().backward();
  // d/da sum_ij (a_j + b_i) a_j b_i = sum_i (2 a_j b_i + b_i^2); d/db_i = sum_j (a_j^2 + 2 a_j b_i)
  EXPECT_THAT(values(a.grad()), ElementsAre(2 * 11.0 + 101, 4 * 11.0 + 101, 6 * 11.0 + 101));
  EXPECT_THAT(values(b.grad()), ElementsAre(14 + 2 * 6 * 1.0, 14 + 2 * 6 * 10.0));
}

TEST(Autograd, NoGradGuardAndSetGradEnabled) {
  Tensor x = tensor({1.0}).requires_grad_();
  {
    NoGradGuard guard;
    EXPECT_FALSE(is_grad_enabled());
    EXPECT_FALSE((x * 2).requires_grad());
  }
  EXPECT_TRUE(is_grad_enabled());
  set_grad_enabled(false);
  EXPECT_FALSE((x * 2).requires_grad());
  set_grad_enabled(true);
  EXPECT_TRUE((x * 2).requires_grad());
}

TEST(Autograd, GradientsFlowThroughViews) {
  Tensor x = arange(6, float64).reshape({2, 3}).requires_grad_();
  Tensor w = tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, float64);
  (x.t() * w).sum().backward();  // transposed view
  EXPECT_THAT(values(x.grad()), ElementsAre(1.0, 3.0, 5.0, 2.0, 4.0, 6.0));
  x.grad().zero_();
  Tensor s = x.index({Slice(), Slice(0, None, 2)});  // [:, ::2]
  (s * s).sum().backward();
  EXPECT_THAT(values(x.grad()), ElementsAre(0.0, 0.0, 4.0, 6.0, 0.0, 10.0));
  x.grad().zero_();
  x.unsqueeze(0).expand({4, 2, 3}).sum().backward();
  EXPECT_THAT(values(x.grad()), ElementsAre(4.0, 4.0, 4.0, 4.0, 4.0, 4.0));
}

TEST(Autograd, InPlaceOpsOnLeavesThrowUnlessGradIsOff) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  EXPECT_THAT(error_of([&] { x.add_(1); }),
              HasSubstr("a leaf Variable that requires grad is being used in an in-place"));
  EXPECT_THAT(error_of([&] { x.index({0}).mul_(2); }),
              HasSubstr("a view of a leaf Variable that requires grad"));
  {
    NoGradGuard guard;
    x.add_(1);
  }
  EXPECT_THAT(values(x), ElementsAre(2.0, 3.0));
  EXPECT_TRUE(x.is_leaf());
}

TEST(Autograd, InPlaceOpsOnNonLeavesAndTheirViews) {
  Tensor x = tensor({1.0, 2.0, 3.0}, float64).requires_grad_();
  Tensor y = x * 2;
  y.add_(1);
  y.mul_(x);  // y = (2x + 1) * x
  y.sum().backward();
  EXPECT_THAT(values(x.grad()), ElementsAre(5.0, 9.0, 13.0));  // 4x + 1

  Tensor a = tensor({1.0, 2.0, 3.0}, float64).requires_grad_();
  Tensor b = a * 1;
  Tensor first = b.index({Slice(0, 2)});
  first.mul_(a.index({Slice(1, 3)}));  // b = [a0 a1, a1 a2, a2]
  b.sum().backward();
  EXPECT_THAT(values(a.grad()), ElementsAre(2.0, 1.0 + 3.0, 2.0 + 1.0));
  // The written view's own history follows: d(first)/da.
  Tensor a2 = tensor({1.0, 2.0, 3.0}, float64).requires_grad_();
  Tensor b2 = a2 * 1;
  Tensor v = b2.index({Slice(0, 2)});
  b2.mul_(10);  // through the base: v sees it
  v.sum().backward();
  EXPECT_THAT(values(a2.grad()), ElementsAre(10.0, 10.0, 0.0));
}

TEST(Autograd, ChangingASavedValueInPlaceIsAnError) {
  Tensor x = tensor({1.0, 2.0}, float64).requires_grad_();
  Tensor y = x * 2;
  eval(y);  // y now lives in a buffer; z saves it
  Tensor z = y * y;
  {
    NoGradGuard guard;
    y.add_(1);  // an eager write into the saved buffer
  }
  EXPECT_THAT(error_of([&] { z.sum().backward(); }), HasSubstr("modified by an inplace operation"));
}

TEST(Autograd, DetachDataAndSetData) {
  Tensor x = tensor({1.0, 2.0}, float64).requires_grad_();
  Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  d.add_(1);  // shares storage: x sees it
  EXPECT_THAT(values(x), ElementsAre(2.0, 3.0));
  x.set_data(tensor({5.0, 6.0}, float64));
  EXPECT_THAT(values(d), ElementsAre(2.0, 3.0)) << "other aliases keep the old elements";
  EXPECT_TRUE(x.requires_grad());
  (x * x).sum().backward();
  EXPECT_THAT(values(x.grad()), ElementsAre(10.0, 12.0));
}

TEST(Autograd, RetainGrad) {
  Tensor x = tensor({1.0, 2.0}, float64).requires_grad_();
  Tensor y = x * 3;
  y.retain_grad();
  Tensor z = y * y;
  z.sum().backward();
  EXPECT_THAT(values(y.grad()), ElementsAre(6.0, 12.0));
  EXPECT_THAT(values(x.grad()), ElementsAre(18.0, 36.0));
}

TEST(Autograd, GradLeavesDotGradAloneAndGoesToSecondOrder) {
  Tensor x = tensor({1.0, 2.0, -3.0}, float64).requires_grad_();
  Tensor y = (x * x * x).sum();
  std::vector<Tensor> g = grad({y}, {x}, {}, true);
  EXPECT_FALSE(x.grad().defined());
  EXPECT_THAT(values(g[0]), ElementsAre(3.0, 12.0, 27.0));
  EXPECT_TRUE(g[0].requires_grad());
  std::vector<Tensor> g2 = grad({g[0].sum()}, {x});
  EXPECT_THAT(values(g2[0]), ElementsAre(6.0, 12.0, -18.0));  // d2/dx2 x^3 = 6x
  // The same through backward(create_graph): then .grad() itself has history.
  Tensor x2 = tensor({2.0}, float64).requires_grad_();
  (x2 * x2 * x2).sum().backward(Tensor(), true);
  Tensor first = x2.grad();
  EXPECT_THAT(values(first), ElementsAre(12.0));
  std::vector<Tensor> second = grad({first.sum()}, {x2});
  EXPECT_THAT(values(second[0]), ElementsAre(12.0));
}

TEST(Autograd, HessianVectorProductOfASmallMlp) {
  // L = sum(tanh(W x)) with x fixed; H v for the Hessian with respect to W, against the
  // analytic value: d2L/dW_ij dW_kl = delta_ik * -2 tanh(u_i)(1 - tanh(u_i)^2) x_j x_l.
  Tensor w = tensor({{0.5, -0.25}, {0.125, 0.75}}, float64).requires_grad_();
  Tensor x = tensor({{1.5}, {-2.0}}, float64);
  Tensor v = tensor({{1.0, 2.0}, {-1.0, 0.5}}, float64);
  Tensor loss = w.matmul(x).tanh().sum();
  Tensor g = grad({loss}, {w}, {}, true)[0];
  Tensor hv = grad({(g * v).sum()}, {w})[0];
  const std::vector<double> W = {0.5, -0.25, 0.125, 0.75}, X = {1.5, -2.0}, V = values(v);
  std::vector<double> want(4);
  for (int i = 0; i < 2; ++i) {
    const double t = std::tanh(W[2 * i] * X[0] + W[2 * i + 1] * X[1]);
    const double s = -2 * t * (1 - t * t);
    const double vx = V[2 * i] * X[0] + V[2 * i + 1] * X[1];
    for (int j = 0; j < 2; ++j) want[2 * i + j] = s * X[j] * vx;
  }
  const std::vector<double> got = values(hv);
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(got[k], want[k], 1e-12) << k;
}

TEST(Autograd, ASecondBackwardThroughTheSameGraphThrows) {
  Tensor x = tensor({1.0}).requires_grad_();
  Tensor y = (x * 2).sum();
  y.backward();
  EXPECT_THAT(error_of([&] { y.backward(); }),
              HasSubstr("Trying to backward through the graph a second time"));
}

TEST(Autograd, ATrainingLoopRunsInConstantMemory) {
  Tensor w = full({64}, 0.5, float32).requires_grad_();
  Tensor target = arange(64, float32) / 64;
  auto step = [&] {
    Tensor loss = ((w - target) * (w - target)).mean();
    if (w.grad().defined()) w.grad().zero_();
    loss.backward();
    NoGradGuard guard;
    w.sub_(w.grad() * 0.1f);
  };
  for (int i = 0; i < 100; ++i) step();
  eval(w);
  const int64_t after_warmup = memory_stats().bytes_in_use;
  for (int i = 0; i < 10000; ++i) step();
  eval(w);
  EXPECT_LE(memory_stats().bytes_in_use, after_warmup + 4096);
  EXPECT_NEAR(w.tolist<float>()[10], 10.0f / 64, 1e-5);
}

TEST(Autograd, ForwardAndBackwardOfAnElementwiseChainFuse) {
  if (backends::backend_for(cpu).name() != "cpu") GTEST_SKIP() << "counts CPU kernels";
  Tensor x = rand({1000}, float32).requires_grad_();
  eval(x);
  const auto before = backends::cpu::cpu_backend_stats();
  Tensor y = ((x * 2 + 1).exp() * x - x).relu().sum();
  y.backward();
  eval(x.grad());
  const auto after = backends::cpu::cpu_backend_stats();
  EXPECT_LE(after.kernels_compiled_run - before.kernels_compiled_run, 2u);
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

TEST(Autograd, TheBackwardPassReusesTheForwardMatmul) {
  if (backends::backend_for(cpu).name() != "cpu") GTEST_SKIP() << "counts CPU matmuls";
  Tensor x = rand({8, 5}, float32);
  Tensor w = rand({5, 3}, float32).requires_grad_();
  eval(x, w);
  Tensor loss = (x.matmul(w) - 0.5f).relu().sum();
  const auto before_forward = backends::cpu::cpu_backend_stats();
  const float value = loss.item<float>();  // realizes the forward on its own
  const auto after_forward = backends::cpu::cpu_backend_stats();
  EXPECT_EQ(after_forward.matmuls_run - before_forward.matmuls_run, 1u);
  loss.backward();
  eval(w.grad());
  const auto after_backward = backends::cpu::cpu_backend_stats();
  // Only x^T @ g: relu's rule reads x @ w, which the forward kept in a buffer.
  EXPECT_EQ(after_backward.matmuls_run - after_forward.matmuls_run, 1u);
  EXPECT_GT(value, 0.0f);
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

TEST(Autograd, ALongHistoryIsDifferentiatedAndFreedWithoutRecursion) {
  Tensor x = tensor({1.0, 2.0}, float64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y + x;
  y.sum().backward();
  EXPECT_EQ(x.grad().tolist<double>(), (std::vector<double>{100001.0, 100001.0}));
  Tensor z = x;
  for (int i = 0; i < 100000; ++i) z = z * 1.0;
  z = Tensor();  // destroys 100,000 GradFns without a backward pass
}

// Autograd's read markers live as long as the graph that recorded them: once a training step's
// tensors are gone, none is left, and ops recorded afterwards skip autograd's capture (a
// registry that still listed dead markers made every later op walk its fragment: 0.3 us an op).
TEST(Autograd, ReadMarkersDieWithTheirGraph) {
  const int64_t before = frontend::live_read_markers();
  Tensor w = tensor({1.0, 2.0, 3.0}).requires_grad_();
  {
    Tensor loss = ((w * 2).exp() * w).sum();
    EXPECT_GT(frontend::live_read_markers(), before);
    loss.backward();
  }
  // d/dw exp(2w) w = exp(2w) (2w + 1), in float32.
  const std::vector<double> first = {std::exp(2.0) * 3, std::exp(4.0) * 5, std::exp(6.0) * 7};
  auto near = [](const std::vector<double>& want) {
    return ::testing::Pointwise(::testing::DoubleNear(1e-5 * want.back()), want);
  };
  EXPECT_THAT(values(w.grad()), near(first));
  EXPECT_EQ(frontend::live_read_markers(), before);
  // Ops without grad record no history, and ops on w still do.
  const Tensor x = tensor({1.0, 2.0, 3.0});
  EXPECT_FALSE((x * 2 + x).requires_grad());
  Tensor again = (w * w).sum();
  EXPECT_TRUE(again.requires_grad());
  again.backward();
  EXPECT_THAT(values(w.grad()), near({first[0] + 2, first[1] + 4, first[2] + 6}));
}

}  // namespace
}  // namespace kiln
