// compile() of functions that move tensors between devices (to(device) inside the function):
// the program is a graph per side of each move (frontend/compile/trace.h, TracedStage), and
// every call must give what the same function gives eagerly. Each test compares a compiled
// function, over several calls with new values, against the function run eagerly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "cuda/gpu_skip.h"
#include "frontend/frontend_test_util.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::values;

// Both lists of tensors hold the same devices, shapes and values (NaN equal to NaN).
void expect_same(const std::vector<Tensor>& got, const std::vector<Tensor>& want, int call) {
  ASSERT_EQ(got.size(), want.size()) << "call " << call;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].device(), want[i].device()) << "call " << call << ", tensor " << i;
    EXPECT_EQ(got[i].sizes(), want[i].sizes()) << "call " << call << ", tensor " << i;
    EXPECT_TRUE(testing::same_values(values(got[i].cpu()), values(want[i].cpu())))
        << "call " << call << ", tensor " << i;
  }
}

TEST(CudaCompileTransfers, ValuesMovedInAndOutGiveTheEagerResults) {
  GPU_OR_SKIP();
  // An argument moved as it is (a stage that computes nothing), a computed value moved back,
  // and a value used on its own device after it was moved (computed again there).
  auto fn = [](const Tensor& x) {
    const Tensor y = x.to(cuda) * 2 + 1;
    const Tensor back = (y.exp() * 3).to(cpu) - 1;
    return std::vector<Tensor>{y, back, y.sum()};
  };
  auto f = compile(fn, "moves");
  for (int call = 0; call < 3; ++call) {
    const Tensor x = arange(6, {.dtype = float32}).reshape({2, 3}) * (call + 1) - 4;
    expect_same(f(x), fn(x), call);
  }
  EXPECT_EQ(f.stats().traces, 1);
  EXPECT_EQ(f.stats().replays, 2);
  // y is computed once, by the graph whose value moves to the host: the main graph (on the
  // device) reads it from there rather than computing it again.
  const std::string main_graph = ir::to_string(f.graph());
  EXPECT_THAT(main_graph, ::testing::Not(::testing::HasSubstr("exp(")));
  EXPECT_THAT(main_graph, ::testing::Not(::testing::HasSubstr("mul(")));
  EXPECT_THAT(main_graph, ::testing::HasSubstr("sum("));
  // A computed value moved to the device, from a strided view of the argument.
  auto g = compile([](const Tensor& x) { return (x.t() * 3).to(cuda).relu(); }, "computed");
  for (int call = 0; call < 2; ++call) {
    const Tensor x = arange(6, {.dtype = float64}).reshape({2, 3}) - call * 2;
    const Tensor got = g(x);
    EXPECT_EQ(got.device(), cuda);
    EXPECT_EQ(got.sizes(), Shape({3, 2}));
    EXPECT_EQ(values(got.cpu()), values((x.t() * 3).relu()));
  }
  EXPECT_EQ(g.stats().replays, 1);
}

TEST(CudaCompileTransfers, ResultsAndWritesOnTwoDevices) {
  GPU_OR_SKIP();
  // A result on each device and a CPU counter the function updates: one graph per device.
  Tensor steps = zeros({1}, {.dtype = int64});
  auto f = compile([&](const Tensor& x) {
    steps.add_(1);
    return std::vector<Tensor>{x * 2, ones({2}, {.device = cpu}) * 3 + steps};
  });
  for (int call = 1; call <= 3; ++call) {
    const Tensor x = full({2}, static_cast<double>(call), {.device = cuda});
    const std::vector<Tensor> got = f(x);
    EXPECT_EQ(got[0].device(), cuda);
    EXPECT_EQ(got[1].device(), cpu);
    EXPECT_EQ(values(got[0].cpu()), std::vector<double>(2, 2.0 * call));
    EXPECT_EQ(values(got[1]), std::vector<double>(2, 3.0 + call));
    EXPECT_EQ(steps.item<int64_t>(), call);
  }
  EXPECT_EQ(f.stats().replays, 2);
  // A constant returned on the second device: every call returns a buffer of its own, which
  // the caller may change in place (through data_ptr, as code outside kiln would).
  auto g = compile([](const Tensor& x) {
    return std::vector<Tensor>{x + 1, tensor({1.0f, 2.0f}, {.device = cpu})};
  });
  for (int call = 0; call < 3; ++call) {
    const std::vector<Tensor> got = g(ones({2}, {.device = cuda}));
    EXPECT_EQ(got[1].device(), cpu);
    EXPECT_EQ(values(got[1]), std::vector<double>({1, 2})) << "call " << call;
    got[1].data_ptr<float>()[0] = 10;
  }
  EXPECT_EQ(g.stats().replays, 2);
}

TEST(CudaCompileTransfers, ATrainingStepThatMovesItsBatchAndAHostParameter) {
  GPU_OR_SKIP();
  // The model lives on the device, the batch and one parameter (a scale) on the host: the
  // batch moves in, the scale moves in and its gradient moves back out inside backward().
  struct Model {
    nn::Linear layer{4, 3};
    Tensor scale = tensor({1.5f}).requires_grad_();
    std::unique_ptr<optim::SGD> sgd;
    Model() {
      layer->to(cuda);
      std::vector<Tensor> params = layer->parameters();
      params.push_back(scale);
      sgd = std::make_unique<optim::SGD>(params, 0.05, 0.9);
    }
    Tensor step(const Tensor& x, const Tensor& y) {
      sgd->zero_grad();
      const Tensor logits = layer(x.to(cuda)) * scale.to(cuda);
      const Tensor loss = nn::cross_entropy(logits, y.to(cuda));
      loss.backward();
      sgd->step();
      return loss.to(cpu);
    }
  };
  manual_seed(3);
  Model eager, compiled;
  {
    NoGradGuard no_grad;
    for (size_t i = 0; i < eager.layer->parameters().size(); ++i)
      compiled.layer->parameters()[i].copy_(eager.layer->parameters()[i]);
  }
  auto step = compile([&](const Tensor& x, const Tensor& y) { return compiled.step(x, y); });
  for (int call = 0; call < 4; ++call) {
    manual_seed(10 + call);
    const Tensor x = randn({8, 4});
    const Tensor y = randint(0, 3, {8});
    const Tensor want = eager.step(x, y);
    const Tensor got = step(x, y);
    EXPECT_EQ(got.device(), cpu);
    EXPECT_TRUE(allclose(got, want, 1e-5, 1e-6)) << "call " << call;
    EXPECT_TRUE(allclose(compiled.scale, eager.scale, 1e-5, 1e-6)) << "call " << call;
    EXPECT_TRUE(allclose(compiled.scale.grad(), eager.scale.grad(), 1e-5, 1e-6)) << call;
    EXPECT_EQ(compiled.scale.grad().device(), cpu);
    for (size_t i = 0; i < eager.layer->parameters().size(); ++i)
      EXPECT_TRUE(allclose(compiled.layer->parameters()[i].cpu(),
                           eager.layer->parameters()[i].cpu(), 1e-5, 1e-6))
          << "call " << call << ", parameter " << i;
  }
  // The first call created gradients and momentum, so the second traced again.
  EXPECT_EQ(step.stats().traces, 2);
  EXPECT_EQ(step.stats().replays, 2);
}

TEST(CudaCompileTransfers, GradientsMoveBackThroughAReplayedProgram) {
  GPU_OR_SKIP();
  // Inputs that require grad: each replay records the program again so that backward()
  // outside the function reaches them, through the move.
  auto fn = [](const Tensor& w) { return ((w.to(cuda) * 3).exp().sum()).to(cpu); };
  auto f = compile(fn, "grad");
  for (int call = 0; call < 3; ++call) {
    const Tensor w = (arange(4, {.dtype = float64}) * 0.25 - call).requires_grad_();
    const Tensor w_eager = w.detach().clone().requires_grad_();
    const Tensor got = f(w);
    fn(w_eager).backward();
    got.backward();
    ASSERT_TRUE(w.grad().defined()) << "call " << call;
    EXPECT_EQ(w.grad().device(), cpu);
    EXPECT_TRUE(allclose(w.grad(), w_eager.grad(), 1e-12, 1e-12)) << "call " << call;
    EXPECT_TRUE(allclose(got, fn(w_eager.detach()), 1e-12, 1e-12)) << "call " << call;
  }
  EXPECT_EQ(f.stats().rerecords, 2);
}

TEST(CudaCompileTransfers, JitTraceRefusesAModuleThatMovesTensors) {
  GPU_OR_SKIP();
  struct Mover : nn::Module {
    Mover() : nn::Module("Mover") {}
    Tensor forward(const Tensor& x) override { return x.to(cuda) * 2; }
  };
  Mover mover;
  EXPECT_THAT(error_of([&] { jit::trace(mover, {ones({2})}); }),
              ::testing::HasSubstr("moves tensors between devices"));
}

}  // namespace
}  // namespace kiln
