// The fused elementwise chain ((x * 2 + 1).exp() * x) on 16M float32 elements, with and
// without the final sum, in kiln (one fused kernel per realization) and in LibTorch (one pass
// over memory per op).
#include <ATen/ATen.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <kiln/backends/cpu/cpu_backend.h>
#include <kiln/kiln.h>

#include "bench_common.h"

namespace kiln_bench {
namespace {

kiln::Tensor kiln_chain(const kiln::Tensor& x) { return (x * 2 + 1).exp() * x; }
at::Tensor torch_chain(const at::Tensor& x) { return (x * 2 + 1).exp() * x; }

double host_chain(float x) {
  return std::exp(2.0 * static_cast<double>(x) + 1.0) * static_cast<double>(x);
}

// Checks kiln's results against a double-precision host loop once, outside the timing; a
// wrong result makes the benchmark fail instead of producing a meaningless ratio.
bool check_chain_sum(benchmark::State& state, const kiln::Tensor& x, float got) {
  std::vector<float> values = x.tolist<float>();
  double want = 0;
  for (float v : values) want += host_chain(v);
  const double error = std::abs(got - want) / std::abs(want);
  if (error > 1e-3) {
    state.SkipWithError(
        ("kiln chain sum is wrong: " + std::to_string(got) + ", expected " + std::to_string(want))
            .c_str());
    return false;
  }
  return true;
}

bool check_chain(benchmark::State& state, const kiln::Tensor& x, const kiln::Tensor& y) {
  std::vector<float> xs = x.tolist<float>();
  std::vector<float> ys = y.tolist<float>();
  for (size_t i = 0; i < xs.size(); i += 4099) {
    const double want = host_chain(xs[i]);
    if (std::abs(ys[i] - want) > 1e-5 * std::abs(want) + 1e-6) {
      state.SkipWithError(("kiln chain is wrong at element " + std::to_string(i)).c_str());
      return false;
    }
  }
  return true;
}

// Kernel launches per realization (1 when the chain fuses into a single kernel).
double launches_of(const std::function<void()>& fn) {
  const auto before = kiln::backends::cpu::cpu_backend_stats();
  fn();
  const auto after = kiln::backends::cpu::cpu_backend_stats();
  return static_cast<double>(after.kernels_compiled_run - before.kernels_compiled_run +
                             after.kernels_evaluated - before.kernels_evaluated);
}

void BM_chain_sum_kiln(benchmark::State& state) {
  const kiln::Tensor x = kiln::rand({kBigNumel});
  if (!check_chain_sum(state, x, kiln_chain(x).sum().item<float>())) return;
  state.counters["kernels"] = launches_of([&] { kiln_chain(x).sum().item<float>(); });
  timed_loop(state, "chain_sum.kiln",
             [&] { benchmark::DoNotOptimize(kiln_chain(x).sum().item<float>()); });
}

// The same through kiln::compile: traced once, then each call replays the compiled program.
void BM_chain_sum_kiln_compiled(benchmark::State& state) {
  const kiln::Tensor x = kiln::rand({kBigNumel});
  auto f = kiln::compile([](const kiln::Tensor& t) { return kiln_chain(t).sum(); }, "chain_sum");
  f(x);  // trace and compile
  if (!check_chain_sum(state, x, f(x).item<float>())) return;
  state.counters["kernels"] = launches_of([&] { f(x).item<float>(); });
  timed_loop(state, "chain_sum.kiln_compiled",
             [&] { benchmark::DoNotOptimize(f(x).item<float>()); });
}

void BM_chain_sum_torch(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_torch_threads(threads);
  const at::Tensor x = at::rand({kBigNumel});
  torch_chain(x).sum().item<float>();
  timed_loop(state, "chain_sum.torch" + std::to_string(threads),
             [&] { benchmark::DoNotOptimize(torch_chain(x).sum().item<float>()); });
}

// Without the sum the 16M results must reach memory: eval() realizes them into a fresh
// buffer (no copy to the host), which the next iteration's allocation reuses.
void BM_chain_kiln(benchmark::State& state) {
  const kiln::Tensor x = kiln::rand({kBigNumel});
  {
    const kiln::Tensor y = kiln_chain(x);
    kiln::eval(y);
    if (!check_chain(state, x, y)) return;
  }
  state.counters["kernels"] = launches_of([&] { kiln::eval(kiln_chain(x)); });
  timed_loop(state, "chain.kiln", [&] { kiln::eval(kiln_chain(x)); });
}

void BM_chain_torch(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_torch_threads(threads);
  const at::Tensor x = at::rand({kBigNumel});
  torch_chain(x);
  timed_loop(state, "chain.torch" + std::to_string(threads),
             [&] { benchmark::DoNotOptimize(torch_chain(x).data_ptr<float>()); });
}

}  // namespace

void register_elementwise_benchmarks() {
  add_benchmark("chain_sum/kiln", BM_chain_sum_kiln)->Iterations(10);
  add_benchmark("chain_sum/kiln_compiled", BM_chain_sum_kiln_compiled)->Iterations(10);
  add_benchmark("chain_sum/torch", BM_chain_sum_torch)
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Iterations(5);
  add_benchmark("chain/kiln", BM_chain_kiln)->Iterations(10);
  add_benchmark("chain/torch", BM_chain_torch)->ArgName("threads")->Arg(1)->Arg(2)->Iterations(5);
}

}  // namespace kiln_bench
