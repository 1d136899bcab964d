// kiln::compile: traced programs replay with the values of eager calls, gradients included;
// retraces happen for the reasons KILN_LOG=recompiles names; host reads while tracing throw.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "frontend_test_util.h"
#include "kiln/kiln.h"

namespace kiln::testing {
namespace {

using ::testing::HasSubstr;

Tensor chain(const Tensor& x) { return ((x * 2 + 1).exp() * x).sum(); }

TEST(Compile, AChainReplaysWithEagerValues) {
  manual_seed(1);
  auto f = compile(chain);
  for (int i = 0; i < 4; ++i) {
    const Tensor x = randn({257});
    const Tensor got = f(x);
    EXPECT_TRUE(same_values(values(got), values(chain(x)))) << "call " << i;
  }
  EXPECT_EQ(f.stats().traces, 1);
  EXPECT_EQ(f.stats().replays, 3);
  EXPECT_EQ(f.stats().rerecords, 0);
  const std::string ir = ir::to_string(f.graph());
  EXPECT_THAT(ir, HasSubstr("exp("));
  EXPECT_THAT(ir, HasSubstr("sum("));
}

TEST(Compile, NewSizesAndDtypesTraceAgainAndSayWhy) {
  auto f = compile([](const Tensor& x) { return (x * 3).relu(); }, "scaled_relu");
  setenv("KILN_LOG", "recompiles", 1);
  ::testing::internal::CaptureStderr();
  const Tensor a = f(arange(-4.0, 4.0));
  const Tensor b = f(arange(-2.0, 4.0));
  const Tensor c = f(arange(-2.0, 4.0, 1.0, {.dtype = float64}));
  const Tensor d = f(arange(-2.0, 4.0));  // the float32 program of size 6 again
  const std::string log = ::testing::internal::GetCapturedStderr();
  unsetenv("KILN_LOG");
  EXPECT_THAT(values(a), ::testing::ElementsAre(0, 0, 0, 0, 0, 3, 6, 9));
  EXPECT_THAT(values(b), ::testing::ElementsAre(0, 0, 0, 3, 6, 9));
  EXPECT_EQ(c.dtype(), float64);
  EXPECT_THAT(values(d), ::testing::ElementsAre(0, 0, 0, 3, 6, 9));
  EXPECT_EQ(f.stats().traces, 3);
  EXPECT_EQ(f.stats().replays, 1);
  EXPECT_THAT(log, HasSubstr("compile(scaled_relu): tracing: first call"));
  EXPECT_THAT(log, HasSubstr("argument 0 sizes [8] -> argument 0 sizes [6]"));
  const std::string device = get_default_device().str();
  EXPECT_THAT(
      log, HasSubstr("argument 0: float32, rank 1, " + device + " -> argument 0: float64, rank 1"));
}

TEST(Compile, ReadingValuesWhileTracingIsAnError) {
  auto reads = compile([](const Tensor& x) { return x * x.sum().item<double>(); });
  EXPECT_THAT(error_of([&] { reads(ones({3})); }),
              HasSubstr("compile: the traced function needs a tensor's value"));
  auto draws = compile([](const Tensor& x) { return x + randn({3}); });
  EXPECT_THAT(error_of([&] { draws(ones({3})); }), HasSubstr("random numbers"));
  auto prints = compile([](const Tensor& x) {
    std::ostringstream os;
    os << x;
    return x;
  });
  EXPECT_THAT(error_of([&] { prints(ones({3})); }), HasSubstr("printing"));
  nn::Dropout dropout(0.5);  // training mode: a fresh mask at every call
  auto drops = compile([&](const Tensor& x) { return dropout(x); });
  EXPECT_THAT(error_of([&] { drops(ones({3})); }), HasSubstr("compile: the traced function needs"));
  // A move to a device that is not there fails as it does eagerly (moves that work:
  // tests/cuda/compile_transfers_test.cpp).
  if (!cuda_is_available()) {
    auto moves = compile([&](const Tensor& x) { return x.to(cuda) * 2; });
    EXPECT_THAT(error_of([&] { moves(ones({3})); }), HasSubstr("cannot move a tensor to cuda:0"));
  }
  // Eager work goes on after a failed trace.
  EXPECT_THAT(values(ones({2}) + 1), ::testing::ElementsAre(2, 2));
}

TEST(Compile, SplatTensorsMadeInsideTheFunctionBecomeConstants) {
  auto f = compile([](const Tensor& x) { return x * tensor(2.0f) + tensor({1.0f, 3.0f}); });
  const Tensor x = tensor({1.0f, -1.0f});
  EXPECT_THAT(values(f(x)), ::testing::ElementsAre(3, 1));
  EXPECT_THAT(values(f(x * 3)), ::testing::ElementsAre(7, -3));
  const std::string ir = ir::to_string(f.graph());
  // x and the non-splat [1, 3] stay inputs; 2.0 is a constant.
  EXPECT_THAT(ir, HasSubstr("constant() {value=2.0}"));
  EXPECT_THAT(ir, HasSubstr("input() {index=1}"));
  EXPECT_THAT(ir, ::testing::Not(HasSubstr("input() {index=2}")));
}

TEST(Compile, ReturnedConstantsAreNewTensorsAtEveryCall) {
  // The traced call returns the constant's own buffer; the program keeps a copy, so a write
  // into a returned tensor (data_ptr, as code outside kiln would) changes no later call.
  auto f = compile([](const Tensor& x) {
    return std::vector<Tensor>{x + 1, tensor({1.0f, 2.0f}, {.device = cpu})};
  });
  for (int call = 0; call < 3; ++call) {
    const std::vector<Tensor> got = f(ones({2}, {.device = cpu}));
    EXPECT_THAT(values(got[1]), ::testing::ElementsAre(1, 2)) << "call " << call;
    got[1].data_ptr<float>()[0] = 10;
  }
  EXPECT_EQ(f.stats().replays, 2);
}

TEST(Compile, NonTensorArgumentsArePartOfTheSignature) {
  auto f = compile([](const Tensor& x, double scale, int64_t shift) { return x * scale + shift; });
  const Tensor x = tensor({1.0, 2.0});
  EXPECT_THAT(values(f(x, 2.0, int64_t{1})), ::testing::ElementsAre(3, 5));
  EXPECT_THAT(values(f(x, 3.0, int64_t{1})), ::testing::ElementsAre(4, 7));
  EXPECT_THAT(values(f(x, 2.0, int64_t{1})), ::testing::ElementsAre(3, 5));
  EXPECT_EQ(f.stats().traces, 2);
}

TEST(Compile, TuplesVectorsAndViewsOfResults) {
  auto f = compile([](const Tensor& x) { return std::make_tuple(x + 1, (x * 2).t()); });
  for (int i = 0; i < 2; ++i) {
    const Tensor x = arange(6.0).reshape({2, 3}) + i;
    auto [a, b] = f(x);
    EXPECT_TRUE(same_values(values(a), values(x + 1)));
    EXPECT_EQ(shape_of(b), (std::vector<int64_t>{3, 2}));
    EXPECT_TRUE(same_values(values(b), values((x * 2).t())));
  }
  auto g = compile([](const Tensor& x) { return std::vector<Tensor>{x.sum(), x.max()}; });
  for (int i = 0; i < 2; ++i) {
    const std::vector<Tensor> r = g(tensor({1.0, 5.0, 2.0}) * (i + 1));
    EXPECT_THAT(values(r[0]), ::testing::ElementsAre(8 * (i + 1)));
    EXPECT_THAT(values(r[1]), ::testing::ElementsAre(5 * (i + 1)));
  }
  EXPECT_EQ(g.stats().replays, 1);
}

TEST(Compile, InPlaceWritesToArgumentsAndCapturedTensorsHappenAtEveryCall) {
  const Tensor counter = zeros({2});
  auto f = compile([&](const Tensor& x) {
    x.mul_(2);
    counter.add_(1);
    return x;
  });
  const Tensor a = tensor({1.0, 2.0});
  const Tensor r1 = f(a);
  const Tensor r2 = f(a);
  const Tensor b = tensor({5.0, 6.0});
  f(b);
  EXPECT_THAT(values(a), ::testing::ElementsAre(4, 8));
  EXPECT_THAT(values(r2), ::testing::ElementsAre(4, 8));
  EXPECT_THAT(values(b), ::testing::ElementsAre(10, 12));
  EXPECT_THAT(values(counter), ::testing::ElementsAre(3, 3));
  EXPECT_EQ(f.stats().replays, 2);
  // The returned tensor is the argument itself, as in eager code.
  EXPECT_EQ(r1.impl(), a.impl());
}

TEST(Compile, GradientsFlowThroughACompiledFunction) {
  const Tensor w = tensor({1.0, -2.0, 3.0}, float64).requires_grad_();
  auto f = compile([&](const Tensor& x) { return (x * w).tanh().sum(); });
  for (int i = 0; i < 3; ++i) {
    const Tensor x = (tensor({0.5, 0.25, -1.0}, float64) * (i + 1)).requires_grad_();
    const Tensor x_eager = x.detach().clone().requires_grad_();
    f(x).backward();
    const Tensor eager_w_grad = w.grad().clone();
    (x_eager * w).tanh().sum().backward();
    EXPECT_TRUE(close_values(values(x.grad()), values(x_eager.grad()), 1e-12, 0)) << i;
    // w's gradient accumulated once from each: the compiled half equals the eager half.
    EXPECT_TRUE(close_values(values(w.grad() - eager_w_grad), values(eager_w_grad), 1e-12, 1e-12) ||
                i > 0)
        << i;
    w.grad().zero_();
  }
  EXPECT_EQ(f.stats().traces, 1);
  EXPECT_EQ(f.stats().rerecords, 2);
}

// A linear model trained by SGD with momentum: eagerly, and by a compiled step.
struct Trainer {
  nn::Linear first{4, 8};
  nn::Linear second{8, 3};
  std::unique_ptr<optim::SGD> sgd;
  Trainer() {
    std::vector<Tensor> params = first->parameters();
    for (const Tensor& p : second->parameters()) params.push_back(p);
    sgd = std::make_unique<optim::SGD>(params, 0.1, 0.9);
  }
  Tensor step(const Tensor& x, const Tensor& y) {
    sgd->zero_grad();
    const Tensor loss = nn::cross_entropy(second(first(x).relu()), y);
    loss.backward();
    sgd->step();
    return loss;
  }
};

TEST(Compile, ATrainingStepUpdatesParametersInPlaceAsEagerSteps) {
  manual_seed(3);
  Trainer eager;
  manual_seed(3);
  Trainer compiled;
  auto step = compile([&](const Tensor& x, const Tensor& y) { return compiled.step(x, y); });
  const Tensor weight = compiled.first->parameters()[0];
  for (int i = 0; i < 6; ++i) {
    const Tensor x = randn({16, 4});
    const Tensor y = randint(3, {16});
    const Tensor want = eager.step(x, y);
    const Tensor got = step(x, y);
    EXPECT_TRUE(close_values(values(got), values(want), 1e-6, 0)) << "loss of step " << i;
  }
  std::vector<Tensor> pe = eager.first->parameters();
  std::vector<Tensor> pc = compiled.first->parameters();
  for (size_t i = 0; i < pe.size(); ++i)
    EXPECT_TRUE(close_values(values(pc[i]), values(pe[i]), 1e-6, 1e-7)) << "parameter " << i;
  // The same tensor objects hold the new values.
  EXPECT_EQ(compiled.first->parameters()[0].impl(), weight.impl());
  // The first call created gradients and momentum buffers, so the second traced again; the
  // rest replayed.
  EXPECT_EQ(step.stats().traces, 2);
  EXPECT_EQ(step.stats().replays, 4);
  EXPECT_EQ(step.stats().rerecords, 0);
}

}  // namespace
}  // namespace kiln::testing
