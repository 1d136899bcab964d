// A compiled training step with Adam/AdamW: the step count is a tensor (PyTorch's capturable
// step), so the program updates it and its replays keep counting. Every step equals the eager
// step bit for bit: losses, parameters and optimizer state.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "frontend_test_util.h"
#include "kiln/kiln.h"

namespace kiln::testing {
namespace {

struct AdamCase {
  std::string name;
  double lr;
  std::pair<double, double> betas;
  double eps;
  double weight_decay;
  bool amsgrad;
  bool decoupled;  // AdamW
  bool maximize = false;
};

// A small MLP classifier and its optimizer.
struct AdamTrainer {
  nn::Linear first{4, 8};
  nn::Linear second{8, 3};
  std::unique_ptr<optim::Optimizer> opt;
  explicit AdamTrainer(const AdamCase& c) {
    std::vector<Tensor> params = first->parameters();
    for (const Tensor& p : second->parameters()) params.push_back(p);
    if (c.decoupled)
      opt = std::make_unique<optim::AdamW>(params, c.lr, c.betas, c.eps, c.weight_decay, c.amsgrad,
                                           c.maximize);
    else
      opt = std::make_unique<optim::Adam>(params, c.lr, c.betas, c.eps, c.weight_decay, c.amsgrad,
                                          c.maximize);
  }
  std::vector<Tensor> params() const {
    std::vector<Tensor> out = first->parameters();
    for (const Tensor& p : second->parameters()) out.push_back(p);
    return out;
  }
  Tensor step(const Tensor& x, const Tensor& y) {
    opt->zero_grad();
    const Tensor loss = nn::cross_entropy(second(first(x).relu()), y);
    loss.backward();
    opt->step();
    return loss;
  }
};

void expect_same_state(const optim::Optimizer& a, const optim::Optimizer& b, int step) {
  const StateDict sa = a.state_dict(), sb = b.state_dict();
  ASSERT_EQ(sa.size(), sb.size());
  for (const auto& [key, value] : sa)
    EXPECT_TRUE(same_values(values(value), values(sb.at(key)))) << key << " after step " << step;
}

void expect_compiled_equals_eager(const AdamCase& c) {
  SCOPED_TRACE(c.name);
  manual_seed(3);
  AdamTrainer eager(c);
  manual_seed(3);
  AdamTrainer compiled(c);
  auto step =
      compile([&](const Tensor& x, const Tensor& y) { return compiled.step(x, y); }, "adam_step");
  const std::vector<Tensor> params = compiled.params();
  constexpr int kSteps = 12;
  for (int i = 0; i < kSteps; ++i) {
    const Tensor x = randn({16, 4});
    const Tensor y = randint(3, {16});
    const Tensor want = eager.step(x, y);
    const Tensor got = step(x, y);
    EXPECT_TRUE(same_values(values(got), values(want))) << "loss of step " << i + 1;
    const std::vector<Tensor> pe = eager.params(), pc = compiled.params();
    for (size_t k = 0; k < pe.size(); ++k)
      EXPECT_TRUE(same_values(values(pc[k]), values(pe[k])))
          << "parameter " << k << " after step " << i + 1;
    expect_same_state(*compiled.opt, *eager.opt, i + 1);
  }
  // The same tensor objects hold the new values.
  const std::vector<Tensor> now = compiled.params();
  for (size_t k = 0; k < now.size(); ++k) EXPECT_EQ(now[k].impl(), params[k].impl());
  // The replays counted: the program read and wrote the step tensor.
  EXPECT_EQ(compiled.opt->state_dict().at("state.0.step").item<double>(), kSteps);
  // The first call created gradients and optimizer state (the step tensors among it), so the
  // second traced again; the rest replayed the second program.
  EXPECT_EQ(step.stats().traces, 2);
  EXPECT_EQ(step.stats().replays, kSteps - 2);
  EXPECT_EQ(step.stats().rerecords, 0);
}

TEST(CompileAdam, AdamStepsEqualEagerBitForBit) {
  expect_compiled_equals_eager({"adam", 0.01, {0.9, 0.999}, 1e-8, 0.0, false, false});
}

TEST(CompileAdam, AdamWithWeightDecayAndAmsgradEqualsEager) {
  expect_compiled_equals_eager({"adam_wd", 0.05, {0.8, 0.99}, 1e-6, 0.1, false, false});
  expect_compiled_equals_eager({"adam_amsgrad", 0.05, {0.8, 0.99}, 1e-6, 0.0, true, false});
  expect_compiled_equals_eager(
      {"adam_wd_amsgrad_maximize", 0.01, {0.9, 0.999}, 1e-8, 0.1, true, false, true});
}

TEST(CompileAdam, AdamWStepsEqualEagerBitForBit) {
  expect_compiled_equals_eager({"adamw", 0.01, {0.9, 0.999}, 1e-8, 0.01, false, true});
  expect_compiled_equals_eager({"adamw_amsgrad", 0.05, {0.9, 0.999}, 1e-8, 0.5, true, true});
}

TEST(CompileAdam, ACheckpointOfACompiledRunResumesEagerly) {
  // The step tensor the program wrote is the state_dict's step; loading it into an eager
  // optimizer continues the same sequence.
  const AdamCase c{"adam", 0.01, {0.9, 0.999}, 1e-8, 0.0, false, false};
  manual_seed(5);
  AdamTrainer straight(c);
  manual_seed(5);
  AdamTrainer compiled(c);
  manual_seed(5);
  AdamTrainer resumed(c);
  auto step = compile([&](const Tensor& x, const Tensor& y) { return compiled.step(x, y); });
  std::vector<std::pair<Tensor, Tensor>> batches;
  for (int i = 0; i < 8; ++i) batches.emplace_back(randn({16, 4}), randint(3, {16}));
  for (int i = 0; i < 4; ++i) {
    straight.step(batches[i].first, batches[i].second);
    step(batches[i].first, batches[i].second);
  }
  {
    NoGradGuard no_grad;
    const std::vector<Tensor> from = compiled.params(), to = resumed.params();
    for (size_t k = 0; k < from.size(); ++k) to[k].copy_(from[k]);
  }
  resumed.opt->load_state_dict(compiled.opt->state_dict());
  EXPECT_EQ(resumed.opt->state_dict().at("state.0.step").dtype(), float32);
  for (int i = 4; i < 8; ++i) {
    straight.step(batches[i].first, batches[i].second);
    resumed.step(batches[i].first, batches[i].second);
  }
  const std::vector<Tensor> a = straight.params(), b = resumed.params();
  for (size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(same_values(values(b[k]), values(a[k]))) << k;
  EXPECT_EQ(resumed.opt->state_dict().at("state.3.step").item<double>(), 8);
}

}  // namespace
}  // namespace kiln::testing
