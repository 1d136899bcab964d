// Kernel compile time, cold and warm, measured in child processes because kiln's kernel caches
// live for the whole process:
//
//   cold: a fresh, empty KILN_CACHE_DIR, so LLVM compiles every kernel (and stores it on disk);
//   warm: the same directory again in a new process: the disk cache is full, memory is empty,
//         so every kernel is loaded from disk and linked.
//
// The child (`kiln_bench --kiln-compile-child=cold|warm DIR`) first realizes one warm-up kernel
// (starting the JIT: reported apart as "first kernel"), then realizes kKernels fused chains of
// distinct structure twice each: the first realization pays the compile (or disk load), the
// second only the rest of a realization; their difference is the compile cost of the kernel.
// Kernel cache counters confirm that every kernel was compiled (cold) or read from disk (warm).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <kiln/backends/cpu/kernel_cache.h>
#include <kiln/kiln.h>

#include "bench_common.h"

namespace kiln_bench {
namespace {

// Fused chains of distinct structure (constants are launch arguments in kiln, so only the
// ops tell kernels apart): each is one kernel never seen before in the process.
const std::vector<std::function<kiln::Tensor(const kiln::Tensor&)>>& kernels() {
  static const std::vector<std::function<kiln::Tensor(const kiln::Tensor&)>> list = {
      [](const kiln::Tensor& x) { return (x * 2 + 1).exp() * x; },
      [](const kiln::Tensor& x) { return (x * 2 + 1).sin() * x; },
      [](const kiln::Tensor& x) { return (x * 2 + 1).cos() * x; },
      [](const kiln::Tensor& x) { return (x * 2 + 1).tanh() * x; },
      [](const kiln::Tensor& x) { return (x * 2 + 1).sigmoid() * x; },
      [](const kiln::Tensor& x) { return (x * 2 + 1).sqrt() * x; },
      [](const kiln::Tensor& x) { return (x * 2 + 1).log() * x; },
      [](const kiln::Tensor& x) { return (x * 2 + 1).erf() * x; },
  };
  return list;
}

double time_eval(const kiln::Tensor& t) {
  const double start = now_seconds();
  kiln::eval(t);
  return now_seconds() - start;
}

struct ChildResult {
  double first_kernel_s = -1;  // the warm-up kernel: JIT start-up included
  double per_kernel_s = -1;    // mean compile (cold) or disk load (warm) per kernel
  uint64_t kernels = 0, compiles = 0, disk_hits = 0;
  std::string output;  // everything the child printed, for error messages
};

// Runs this binary as a compile child and parses what it prints.
ChildResult run_child(const std::string& mode, const std::filesystem::path& dir) {
  ChildResult r;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    r.output = "cannot find this executable: " + ec.message();
    return r;
  }
  const std::string command =
      "'" + self.string() + "' " + kCompileChildFlag + mode + " '" + dir.string() + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    r.output = "popen failed";
    return r;
  }
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) r.output += buffer;
  const int status = pclose(pipe);
  if (status != 0) return r;
  std::istringstream lines(r.output);
  std::string word;
  while (lines >> word) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = word.substr(0, eq), value = word.substr(eq + 1);
    if (name == "first_kernel_s") r.first_kernel_s = std::stod(value);
    if (name == "per_kernel_s") r.per_kernel_s = std::stod(value);
    if (name == "kernels") r.kernels = std::stoull(value);
    if (name == "compiles") r.compiles = std::stoull(value);
    if (name == "disk_hits") r.disk_hits = std::stoull(value);
  }
  return r;
}

void BM_compile(benchmark::State& state) {
  const int repetitions = static_cast<int>(state.range(0));
  for (auto _ : state) {
    for (int rep = 0; rep < repetitions; ++rep) {
      std::string pattern =
          (std::filesystem::temp_directory_path() / "kiln-bench-cache-XXXXXX").string();
      if (mkdtemp(pattern.data()) == nullptr) {
        state.SkipWithError("mkdtemp failed");
        return;
      }
      const std::filesystem::path dir = pattern;
      const ChildResult cold = run_child("cold", dir);
      const ChildResult warm = run_child("warm", dir);
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      for (const ChildResult* r : {&cold, &warm}) {
        if (r->per_kernel_s < 0) {
          state.SkipWithError(("compile child failed: " + r->output).c_str());
          return;
        }
      }
      if (cold.compiles != cold.kernels || warm.disk_hits != warm.kernels || warm.compiles != 0) {
        note("compile: unexpected cache counters: cold compiled " + std::to_string(cold.compiles) +
             " of " + std::to_string(cold.kernels) + " kernels; warm read " +
             std::to_string(warm.disk_hits) + " from disk and compiled " +
             std::to_string(warm.compiles));
      }
      record("compile.cold", cold.per_kernel_s);
      record("compile.warm", warm.per_kernel_s);
      record("compile.first_cold", cold.first_kernel_s);
      record("compile.first_warm", warm.first_kernel_s);
    }
  }
  state.counters["cold_ms"] = best("compile.cold").value_or(0) * 1e3;
  state.counters["warm_ms"] = best("compile.warm").value_or(0) * 1e3;
}

}  // namespace

int run_compile_child(const std::string& mode, const std::string& cache_dir) {
  if (mode != "cold" && mode != "warm") {
    std::fprintf(stderr, "kiln_bench: %s expects cold or warm, not '%s'\n", kCompileChildFlag,
                 mode.c_str());
    return 2;
  }
  // Before the first kiln call: the backend and the kernel cache read these once.
  setenv("KILN_CACHE_DIR", cache_dir.c_str(), 1);
  setenv("KILN_BACKEND", "cpu", 1);
  try {
    namespace cpu = kiln::backends::cpu;
    const kiln::Tensor x = kiln::rand({4096});
    const double first = time_eval(x + 1);
    const cpu::KernelCacheStats before = cpu::KernelCache::instance().stats();
    double total = 0;
    for (const auto& kernel : kernels()) {
      const double with_compile = time_eval(kernel(x));
      const double without = time_eval(kernel(x));
      total += with_compile - without;
    }
    const cpu::KernelCacheStats after = cpu::KernelCache::instance().stats();
    std::printf("first_kernel_s=%.9f per_kernel_s=%.9f kernels=%zu compiles=%llu disk_hits=%llu\n",
                first, total / static_cast<double>(kernels().size()), kernels().size(),
                static_cast<unsigned long long>(after.compiles - before.compiles),
                static_cast<unsigned long long>(after.disk_hits - before.disk_hits));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_bench compile child: %s\n", e.what());
    return 1;
  }
}

void register_compile_benchmarks() {
  add_benchmark("compile/cold_warm", BM_compile)->ArgName("repetitions")->Arg(3)->Iterations(1);
}

}  // namespace kiln_bench
