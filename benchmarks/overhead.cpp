// Per-op overhead: 10,000 dependent adds on a 2 x 3 float32 tensor (y = y + x), where the
// arithmetic is nothing and the cost is recording, realizing and dispatching. kiln runs it
// twice: realized once at the end (ops stay lazy and fuse; past 4,096 pending nodes kiln
// realizes on its own), and realized after every add (the eager worst case). LibTorch runs
// every add eagerly in both cases, so both kiln variants share its time as denominator.
#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <vector>

#include <kiln/kiln.h>

#include "bench_common.h"

namespace kiln_bench {
namespace {

constexpr int kAdds = 10000;

kiln::Tensor kiln_adds(const kiln::Tensor& x, bool realize_each_step) {
  kiln::Tensor y = x;
  for (int i = 0; i < kAdds; ++i) {
    y = y + x;
    if (realize_each_step) kiln::eval(y);
  }
  kiln::eval(y);
  return y;
}

bool check(benchmark::State& state, const kiln::Tensor& x, const kiln::Tensor& y) {
  const std::vector<float> xs = x.tolist<float>();
  const std::vector<float> ys = y.tolist<float>();
  for (size_t i = 0; i < xs.size(); ++i) {
    // Every partial sum (k * x for small integers k and x) is exact in float32.
    if (ys[i] != xs[i] * (kAdds + 1)) {
      state.SkipWithError(("kiln adds: element " + std::to_string(i) + " is " +
                           std::to_string(ys[i]) + ", expected " +
                           std::to_string(xs[i] * (kAdds + 1)))
                              .c_str());
      return false;
    }
  }
  return true;
}

void BM_adds_kiln(benchmark::State& state) {
  const bool each_step = state.range(0) != 0;
  const kiln::Tensor x = kiln::tensor({{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 6.0f}});
  if (!check(state, x, kiln_adds(x, each_step))) return;
  timed_loop(state, each_step ? "adds_each.kiln" : "adds.kiln", [&] { kiln_adds(x, each_step); });
  state.counters["sec/op"] =
      benchmark::Counter(static_cast<double>(kAdds) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_adds_torch(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_torch_threads(threads);
  const at::Tensor x = at::tensor({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}).reshape({2, 3});
  auto run = [&] {
    at::Tensor y = x;
    for (int i = 0; i < kAdds; ++i) y = y + x;
    return y;
  };
  run();
  timed_loop(state, "adds.torch" + std::to_string(threads),
             [&] { benchmark::DoNotOptimize(run().data_ptr<float>()); });
  state.counters["sec/op"] =
      benchmark::Counter(static_cast<double>(kAdds) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// The cost of one compiled call on tiny inputs: signature check, binding buffers, running the
// program's one kernel, wrapping the result. Timed over kReplays calls.
constexpr int kReplays = 10000;

void BM_replay_kiln(benchmark::State& state) {
  const kiln::Tensor x = kiln::tensor({{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 6.0f}});
  auto f = kiln::compile([](const kiln::Tensor& t) { return (t * 2 + 1).relu(); }, "tiny");
  f(x);  // trace and compile
  const std::vector<float> got = f(x).tolist<float>();
  const std::vector<float> xs = x.tolist<float>();
  for (size_t i = 0; i < xs.size(); ++i)
    if (got[i] != xs[i] * 2 + 1) {
      state.SkipWithError("compiled tiny function gave a wrong value");
      return;
    }
  timed_loop(state, "replay.kiln", [&] {
    for (int i = 0; i < kReplays; ++i) benchmark::DoNotOptimize(f(x));
  });
  state.counters["sec/call"] =
      benchmark::Counter(static_cast<double>(kReplays) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

void register_overhead_benchmarks() {
  add_benchmark("replay/kiln", BM_replay_kiln)->Iterations(10);
  add_benchmark("adds10k/kiln", BM_adds_kiln)->ArgName("realize_each_step")->Arg(0)->Iterations(10);
  add_benchmark("adds10k/kiln", BM_adds_kiln)->ArgName("realize_each_step")->Arg(1)->Iterations(3);
  add_benchmark("adds10k/torch", BM_adds_torch)->ArgName("threads")->Arg(1)->Arg(2)->Iterations(10);
}

}  // namespace kiln_bench
