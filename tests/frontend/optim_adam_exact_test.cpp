// Adam/AdamW keep their step count in a tensor and compute the bias corrections with float64
// tensor math (so that a compiled step can count). That must not change a single bit of the
// eager update: these tests run the optimizer next to the update as it was when the step
// count lived on the host (double math, the results used as scalars), over 200 steps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "frontend_test_util.h"
#include "kiln/kiln.h"

namespace kiln::testing {
namespace {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  bool maximize = false;
  bool decoupled = false;  // AdamW
};

// The eager update before the step count became a tensor, verbatim but for the grad argument.
struct HostStepAdam {
  AdamOptions o;
  Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;
  double step = 0;

  void update(const Tensor& param, const Tensor& raw_grad) {
    NoGradGuard no_grad;
    if (step == 0) {
      exp_avg = zeros_like(param);
      exp_avg_sq = zeros_like(param);
      max_exp_avg_sq = zeros_like(param);
    }
    step += 1;
    Tensor grad = o.maximize ? -raw_grad : raw_grad;
    Tensor base = param;
    if (o.decoupled) {
      base = param * (1 - o.lr * o.weight_decay);
    } else if (o.weight_decay != 0) {
      grad = grad + param * o.weight_decay;
    }
    exp_avg.copy_(exp_avg * o.beta1 + grad * (1 - o.beta1));
    exp_avg_sq.copy_(exp_avg_sq * o.beta2 + grad * (1 - o.beta2) * grad);
    const double bias_correction1 = 1 - std::pow(o.beta1, step);
    const double bias_correction2 = 1 - std::pow(o.beta2, step);
    const double step_size = o.lr / bias_correction1;
    const double bias_correction2_sqrt = std::sqrt(bias_correction2);
    Tensor second = exp_avg_sq;
    if (o.amsgrad) {
      max_exp_avg_sq.copy_(maximum(max_exp_avg_sq, exp_avg_sq));
      second = max_exp_avg_sq;
    }
    const Tensor denom = second.sqrt() / bias_correction2_sqrt + o.eps;
    param.copy_(base + exp_avg / denom * -step_size);
  }
};

std::unique_ptr<optim::Optimizer> make(const AdamOptions& o, const Tensor& p) {
  if (o.decoupled)
    return std::make_unique<optim::AdamW>(std::vector<Tensor>{p}, o.lr, std::pair{o.beta1, o.beta2},
                                          o.eps, o.weight_decay, o.amsgrad, o.maximize);
  return std::make_unique<optim::Adam>(std::vector<Tensor>{p}, o.lr, std::pair{o.beta1, o.beta2},
                                       o.eps, o.weight_decay, o.amsgrad, o.maximize);
}

// `steps` updates of a parameter of `dtype` by the optimizer and by the host-step update, with
// the same gradients; the parameters must agree bit for bit after every step.
void expect_same_steps(const AdamOptions& o, DType dtype, int steps) {
  manual_seed(7);
  // 1031 elements: vector loops with a remainder in the compiled backends.
  const Tensor start = randn({1031}).to(dtype);
  const Tensor p = start.clone().requires_grad_();
  const Tensor q = start.clone();
  auto opt = make(o, p);
  HostStepAdam ref{o};
  for (int i = 0; i < steps; ++i) {
    // Gradients of changing sign and scale, some of them zero.
    const Tensor g = (randn({1031}) * (1.0 + i % 7)).to(dtype) * (randn({1031}) > -1.5).to(dtype);
    opt->zero_grad();
    (p * g).sum().backward();  // p.grad == g exactly
    opt->step();
    ref.update(q, g);
    ASSERT_TRUE(same_values(values(p), values(q))) << "step " << i + 1;
  }
  EXPECT_EQ(opt->state_dict().at("state.0.step").item<double>(), steps);
}

std::vector<AdamOptions> option_sets() {
  std::vector<AdamOptions> sets;
  sets.push_back({});
  sets.push_back({.lr = 0.1});
  sets.push_back(
      {.lr = 0.05, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1, .amsgrad = true});
  sets.push_back({.lr = 3e-4, .beta1 = 0.5, .beta2 = 0.9, .eps = 1e-3, .maximize = true});
  sets.push_back({.lr = 0.01, .beta1 = 0.0, .beta2 = 0.0, .eps = 1e-12});
  sets.push_back({.lr = 0.1, .weight_decay = 0.01, .decoupled = true});
  sets.push_back({.lr = 0.05,
                  .beta1 = 0.95,
                  .beta2 = 0.9999,
                  .eps = 1e-7,
                  .weight_decay = 0.5,
                  .amsgrad = true,
                  .maximize = true,
                  .decoupled = true});
  return sets;
}

TEST(OptimAdamExact, TensorStepCountGivesTheHostStepBitsFloat32And64) {
  for (DType dtype : {float32, float64}) {
    int n = 0;
    for (const AdamOptions& o : option_sets()) {
      SCOPED_TRACE(::testing::Message() << dtype << " options " << n++);
      expect_same_steps(o, dtype, 200);
    }
  }
}

TEST(OptimAdamExact, TensorStepCountGivesTheHostStepBitsHalfPrecision) {
  for (DType dtype : {float16, bfloat16}) {
    int n = 0;
    for (const AdamOptions& o : option_sets()) {
      SCOPED_TRACE(::testing::Message() << dtype << " options " << n++);
      expect_same_steps(o, dtype, 60);
    }
  }
}

TEST(OptimAdamExact, StateDictStepsOfEveryFormLoad) {
  // kiln wrote steps as float32 0-d tensors before they were tensors in the state too; other
  // writers may use float64, an integer or a 1-element shape. All load as a float32 0-d count.
  const Tensor p = tensor({1.0, -2.0, 3.0}).requires_grad_();
  optim::Adam adam({p}, 0.1);
  for (int i = 0; i < 3; ++i) {
    adam.zero_grad();
    (p * p).sum().backward();
    adam.step();
  }
  const StateDict saved = adam.state_dict();
  EXPECT_EQ(saved.at("state.0.step").dtype(), float32);
  EXPECT_EQ(saved.at("state.0.step").dim(), 0);
  EXPECT_EQ(saved.at("state.0.step").item<double>(), 3);
  for (const Tensor& step :
       {tensor(3.0, float32), tensor(3.0, float64), tensor(3, int64), tensor({3.0}, float32)}) {
    StateDict sd = saved;
    sd["state.0.step"] = step;
    const Tensor q = tensor({1.0, -2.0, 3.0}).requires_grad_();
    optim::Adam other({q}, 0.1);
    other.load_state_dict(sd);
    const Tensor loaded = other.state_dict().at("state.0.step");
    EXPECT_EQ(loaded.dtype(), float32);
    EXPECT_EQ(loaded.dim(), 0);
    EXPECT_EQ(loaded.item<double>(), 3);
  }
  StateDict bad = saved;
  bad["state.0.step"] = tensor({1.0, 2.0});
  EXPECT_THAT(error_of([&] { adam.load_state_dict(bad); }), ::testing::HasSubstr("step"));
}

}  // namespace
}  // namespace kiln::testing
