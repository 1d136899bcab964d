// Softmax over the rows of a 4096 x 4096 float32 matrix. kiln has no softmax op, so it is
// composed the numerically stable way (amax, exp, sum, div), as a user would write it;
// LibTorch runs its fused at::softmax kernel. Also the cross-entropy loss of 4096 x 4096
// logits and its gradient (forward and backward, as a classifier's last layer trains), whose
// row-by-row kernels kiln runs as a row chain (docs/architecture.md, "Row chains").
#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>

#include <cmath>
#include <string>
#include <vector>

#include <kiln/kiln.h>

#include "bench_common.h"

namespace kiln_bench {
namespace {

constexpr int64_t kRows = 4096;
constexpr int64_t kCols = 4096;

kiln::Tensor kiln_softmax(const kiln::Tensor& x) {
  const kiln::Tensor e = (x - x.amax({1}, /*keepdim=*/true)).exp();
  return e / e.sum(1, /*keepdim=*/true);
}

void BM_softmax_kiln(benchmark::State& state) {
  const kiln::Tensor x = kiln::randn({kRows, kCols});
  {
    // Every row of a softmax sums to 1.
    const std::vector<float> sums = kiln_softmax(x).sum(1).tolist<float>();
    for (float s : sums) {
      if (std::abs(s - 1.0f) > 1e-4f) {
        state.SkipWithError(("kiln softmax row sums to " + std::to_string(s)).c_str());
        return;
      }
    }
  }
  timed_loop(state, "softmax.kiln", [&] { kiln::eval(kiln_softmax(x)); });
}

void BM_softmax_torch(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_torch_threads(threads);
  const at::Tensor x = at::randn({kRows, kCols});
  at::softmax(x, 1);
  timed_loop(state, "softmax.torch" + std::to_string(threads),
             [&] { benchmark::DoNotOptimize(at::softmax(x, 1).data_ptr<float>()); });
}

constexpr int64_t kClasses = 4096;

void BM_cross_entropy_kiln(benchmark::State& state) {
  kiln::manual_seed(0);
  const kiln::Tensor logits = kiln::randn({kRows, kClasses}).requires_grad_();
  const kiln::Tensor target = kiln::randint(0, kClasses, {kRows});
  auto step = [&] {
    kiln::nn::cross_entropy(logits, target).backward();
    kiln::eval(logits.grad());
    logits.grad().zero_();
  };
  step();
  // Every row of the gradient of a mean cross-entropy sums to 0 (softmax - one-hot, / rows).
  kiln::nn::cross_entropy(logits, target).backward();
  for (float s : logits.grad().sum(1).tolist<float>())
    if (std::abs(s) > 1e-6f) {
      state.SkipWithError(("kiln cross-entropy gradient row sums to " + std::to_string(s)).c_str());
      return;
    }
  logits.grad().zero_();
  timed_loop(state, "cross_entropy.kiln", step);
}

void BM_cross_entropy_torch(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_torch_threads(threads);
  const at::Tensor logits = at::randn({kRows, kClasses}).requires_grad_();
  const at::Tensor target = at::randint(0, kClasses, {kRows});
  auto step = [&] {
    torch::nn::functional::cross_entropy(logits, target).backward();
    benchmark::DoNotOptimize(logits.grad().data_ptr<float>());
    logits.grad().zero_();
  };
  step();
  timed_loop(state, "cross_entropy.torch" + std::to_string(threads), step);
}

}  // namespace

void register_softmax_benchmarks() {
  add_benchmark("softmax/kiln", BM_softmax_kiln)->Iterations(5);
  add_benchmark("softmax/torch", BM_softmax_torch)
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Iterations(5);
  add_benchmark("cross_entropy/kiln", BM_cross_entropy_kiln)->Iterations(5);
  add_benchmark("cross_entropy/torch", BM_cross_entropy_torch)
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Iterations(5);
}

}  // namespace kiln_bench
