// PyTorch's own tutorial "Learning PyTorch with Examples", section "PyTorch: Tensors and
// autograd", in kiln and in LibTorch: a third-order polynomial fitted to sin(x) on 2,000 points
// in [-pi, pi] by 2,000 steps of gradient descent (lr 1e-6), with `x.pow(2)` and `x.pow(3)`,
// the loss read with item() every 100 steps, gradients applied and zeroed under no_grad. Both
// start from the same four coefficients (kiln's randn from a fixed seed). Small tensors and
// many steps: this measures per-op and realization overhead, not arithmetic.
//
// The fitted coefficients of kiln and LibTorch are checked against each other (relative 1e-5:
// they agree to about 7 digits; the order of sum's additions differs) before timing.
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include <kiln/kiln.h>

#include "bench_common.h"

namespace kiln_bench {
namespace {

constexpr int kPoints = 2000, kSteps = 2000, kReportEvery = 100;
constexpr double kLr = 1e-6;

std::vector<float> initial_coefficients() {
  kiln::manual_seed(0);
  return kiln::randn({4}).tolist<float>();
}

// The fitted a, b, c, d; `losses` gets the loss read every kReportEvery steps.
std::vector<float> fit_kiln(std::vector<float>* losses) {
  using kiln::Tensor;
  const Tensor x = kiln::linspace(-M_PI, M_PI, kPoints);
  const Tensor y = x.sin();
  const std::vector<float> init = initial_coefficients();
  std::vector<Tensor> w;
  for (float v : init) w.push_back(kiln::tensor(v).requires_grad_());
  Tensor &a = w[0], &b = w[1], &c = w[2], &d = w[3];
  for (int t = 0; t < kSteps; ++t) {
    const Tensor y_pred = a + b * x + c * x.pow(2) + d * x.pow(3);
    const Tensor loss = (y_pred - y).pow(2).sum();
    if (t % kReportEvery == kReportEvery - 1) losses->push_back(loss.item<float>());
    loss.backward();
    kiln::NoGradGuard no_grad;
    for (Tensor& p : w) {
      p -= kLr * p.grad();
      p.grad().zero_();
    }
  }
  std::vector<float> out;
  for (const Tensor& p : w) out.push_back(p.item<float>());
  return out;
}

std::vector<float> fit_torch(std::vector<float>* losses) {
  const at::Tensor x = torch::linspace(-M_PI, M_PI, kPoints);
  const at::Tensor y = x.sin();
  const std::vector<float> init = initial_coefficients();
  std::vector<at::Tensor> w;
  for (float v : init) w.push_back(torch::tensor(v).requires_grad_());
  at::Tensor &a = w[0], &b = w[1], &c = w[2], &d = w[3];
  for (int t = 0; t < kSteps; ++t) {
    const at::Tensor y_pred = a + b * x + c * x.pow(2) + d * x.pow(3);
    const at::Tensor loss = (y_pred - y).pow(2).sum();
    if (t % kReportEvery == kReportEvery - 1) losses->push_back(loss.item<float>());
    loss.backward();
    torch::NoGradGuard no_grad;
    for (at::Tensor& p : w) {
      p -= kLr * p.grad();
      p.grad().zero_();
    }
  }
  std::vector<float> out;
  for (const at::Tensor& p : w) out.push_back(p.item<float>());
  return out;
}

// Empty when kiln and LibTorch fitted the same polynomial and the loss went down.
std::string compare_fits() {
  std::vector<float> kiln_losses, torch_losses;
  const std::vector<float> k = fit_kiln(&kiln_losses);
  const std::vector<float> t = fit_torch(&torch_losses);
  for (size_t i = 0; i < k.size(); ++i) {
    if (!(std::abs(k[i] - t[i]) <= 1e-5 * std::abs(t[i]) + 1e-7))
      return "coefficient " + std::to_string(i) + ": kiln " + std::to_string(k[i]) + ", LibTorch " +
             std::to_string(t[i]);
  }
  if (!(kiln_losses.back() < kiln_losses.front()))
    return "the loss did not decrease: " + std::to_string(kiln_losses.front()) + " -> " +
           std::to_string(kiln_losses.back());
  return "";
}

void BM_polyfit_kiln(benchmark::State& state) {
  static const std::string mismatch = compare_fits();
  if (!mismatch.empty()) {
    state.SkipWithError(("polyfit: " + mismatch).c_str());
    return;
  }
  std::vector<float> losses;
  fit_kiln(&losses);  // warm: kernels compiled and cached
  timed_loop(state, "polyfit.kiln", [&] {
    losses.clear();
    benchmark::DoNotOptimize(fit_kiln(&losses));
  });
}

void BM_polyfit_torch(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_torch_threads(threads);
  std::vector<float> losses;
  fit_torch(&losses);
  timed_loop(state, "polyfit.torch" + std::to_string(threads), [&] {
    losses.clear();
    benchmark::DoNotOptimize(fit_torch(&losses));
  });
}

}  // namespace

void register_tutorial_benchmarks() {
  add_benchmark("polyfit/kiln", BM_polyfit_kiln)->Iterations(5);
  add_benchmark("polyfit/torch", BM_polyfit_torch)
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Iterations(5);
}

}  // namespace kiln_bench
