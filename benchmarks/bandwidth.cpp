// The memory-bandwidth yardstick: the STREAM triad a[i] = b[i] + s * c[i] over 16M floats in a
// plain loop, on 1 thread and on 2 (std::thread, each over half the range). Its bytes follow
// STREAM's convention: 3 arrays x 4 bytes x n (the write-allocate read of `a` is not counted).
// The summary sets kiln's chain without sum (read 16M floats, write 16M floats) against the
// best triad rate.
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"

namespace kiln_bench {
namespace {

void triad(float* __restrict a, const float* __restrict b, const float* __restrict c, float s,
           int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) a[i] = b[i] + s * c[i];
}

void BM_triad(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  // Written once here so that every page is mapped before the timing.
  std::vector<float> a(kBigNumel, 0.0f), b(kBigNumel, 1.0f), c(kBigNumel, 2.0f);
  auto run = [&] {
    std::vector<std::thread> workers;
    const int64_t chunk = (kBigNumel + threads - 1) / threads;
    for (int t = 1; t < threads; ++t) {
      const int64_t begin = t * chunk;
      const int64_t end = std::min<int64_t>(kBigNumel, begin + chunk);
      workers.emplace_back(
          [&, begin, end] { triad(a.data(), b.data(), c.data(), 3.0f, begin, end); });
    }
    triad(a.data(), b.data(), c.data(), 3.0f, 0, std::min<int64_t>(kBigNumel, chunk));
    for (std::thread& w : workers) w.join();
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  };
  run();
  timed_loop(state, "triad" + std::to_string(threads), run);
  state.counters["GB/s"] = benchmark::Counter(
      3.0 * 4.0 * static_cast<double>(kBigNumel) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

}  // namespace

void register_bandwidth_benchmarks() {
  add_benchmark("triad", BM_triad)->ArgName("threads")->Arg(1)->Arg(2)->Iterations(10);
}

}  // namespace kiln_bench
