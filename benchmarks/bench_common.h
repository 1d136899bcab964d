// Shared pieces of kiln_bench: the table of best (minimum) times that the summary turns into
// ratios, per-iteration timing, and thread settings for LibTorch.
//
// Every benchmark times each of its iterations itself and records the time under a key such
// as "chain_sum.kiln" or "chain_sum.torch2" (LibTorch with 2 threads); the table keeps the
// minimum per key (best of N), which is what the summary compares.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln_bench {

// 16M float32 elements: the size of the elementwise workloads and of the triad.
inline constexpr int64_t kBigNumel = int64_t{1} << 24;

// Records one measured time in seconds under `key`; the table keeps the minimum.
void record(const std::string& key, double seconds);
// The best time recorded under `key`, if any.
std::optional<double> best(const std::string& key);
// The better of `prefix`1 and `prefix`2 (LibTorch or OpenBLAS with 1 and 2 threads), with
// the thread count that gave it.
struct BestOf {
  double seconds = 0;
  int threads = 0;
};
std::optional<BestOf> best_of_threads(const std::string& prefix);

// Free-form lines printed under the ratio table (e.g. "OpenBLAS: absent").
void note(const std::string& text);
const std::vector<std::string>& notes();

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs fn() once per benchmark iteration, timing each call and recording it under `key`.
template <class Fn>
void timed_loop(benchmark::State& state, const std::string& key, Fn&& fn) {
  for (auto _ : state) {
    const double start = now_seconds();
    fn();
    const double seconds = now_seconds() - start;
    record(key, seconds);
  }
}

// LibTorch's intra-op thread count (at::set_num_threads).
void set_torch_threads(int n);
// The version, CPU capability and BLAS of the LibTorch build (from at::show_config()).
std::string torch_build_summary();

// Registers a benchmark timed in wall-clock time (the work runs on several threads) and
// shown in milliseconds.
inline benchmark::internal::Benchmark* add_benchmark(const std::string& name,
                                                     void (*fn)(benchmark::State&)) {
  return benchmark::RegisterBenchmark(name.c_str(), fn)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

// Each workload file registers its benchmarks; main() calls these in this order.
void register_elementwise_benchmarks();
void register_matmul_benchmarks();
void register_softmax_benchmarks();
void register_overhead_benchmarks();
void register_compile_benchmarks();
void register_bandwidth_benchmarks();

// The child process of the compile-time benchmark (compile_time.cpp), run as
// `kiln_bench --kiln-compile-child=MODE DIR`: `mode` is "cold" or "warm"; prints its
// measurements on stdout and returns the exit status.
inline constexpr const char* kCompileChildFlag = "--kiln-compile-child=";
int run_compile_child(const std::string& mode, const std::string& cache_dir);

// Prints the ratio table of everything recorded so far (summary.cpp).
void print_summary();

}  // namespace kiln_bench
