// Softmax over the rows of a 4096 x 4096 float32 matrix. kiln has no softmax op, so it is
// composed the numerically stable way (amax, exp, sum, div), as a user would write it;
// LibTorch runs its fused at::softmax kernel.
#include <ATen/ATen.h>

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

}  // namespace

void register_softmax_benchmarks() {
  add_benchmark("softmax/kiln", BM_softmax_kiln)->Iterations(5);
  add_benchmark("softmax/torch", BM_softmax_torch)
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Iterations(5);
}

}  // namespace kiln_bench
