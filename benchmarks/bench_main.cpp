// kiln_bench: kiln against LibTorch on the same workloads in one run, then a ratio table
// (README.md). Google Benchmark flags work as usual (--benchmark_filter=matmul ...).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench_common.h"

namespace kiln_bench {
// mlp.cpp: a training step of a 784-256-10 MLP and 20 epochs on the digits data.
void register_mlp_benchmarks();
// tutorial.cpp: PyTorch's polynomial-fit tutorial (tensors and autograd), 2,000 steps.
void register_tutorial_benchmarks();
}  // namespace kiln_bench

int main(int argc, char** argv) {
  // The compile-time benchmark re-executes this binary to get processes with empty memory
  // caches (compile_time.cpp).
  const size_t flag_length = std::strlen(kiln_bench::kCompileChildFlag);
  if (argc >= 2 && std::strncmp(argv[1], kiln_bench::kCompileChildFlag, flag_length) == 0) {
    if (argc != 3) {
      std::fprintf(stderr, "usage: %s %scold|warm CACHE_DIR\n", argv[0],
                   kiln_bench::kCompileChildFlag);
      return 2;
    }
    return kiln_bench::run_compile_child(argv[1] + flag_length, argv[2]);
  }
  // The LLVM backend unless the user chose another (read at kiln's first realization).
  setenv("KILN_BACKEND", "cpu", /*overwrite=*/0);

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  kiln_bench::register_elementwise_benchmarks();
  kiln_bench::register_matmul_benchmarks();
  kiln_bench::register_softmax_benchmarks();
  kiln_bench::register_overhead_benchmarks();
  kiln_bench::register_compile_benchmarks();
  kiln_bench::register_bandwidth_benchmarks();
  kiln_bench::register_mlp_benchmarks();
  kiln_bench::register_tutorial_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  kiln_bench::print_summary();
  benchmark::Shutdown();
  return 0;
}
