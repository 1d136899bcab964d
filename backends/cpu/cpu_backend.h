// The CPU backend: fusion, lowering to loop IR, and each kernel compiled to native code by
// LLVM (codegen.h, through the kernel cache) and run over its parallel index space on the
// runtime thread pool. Kernels that code generation does not cover (integer div and pow) run
// on the loop-IR evaluator, and library steps (matmul, index, cat, ...) on the interpreter,
// both through run_program.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/backends/program_runner.h"

namespace kiln::backends::cpu {

// Process-wide counters (all CpuBackend instances together), for tests and benchmarks.
struct CpuBackendStats {
  uint64_t kernels_compiled_run = 0;  // launches of compiled kernels (empty launches excluded)
  uint64_t kernels_evaluated = 0;     // launches handed to the loop-IR evaluator
  uint64_t kernel_lookups = 0;        // launches whose kernel was not yet in their runner's
                                      // table and was asked of the KernelCache
  uint64_t matmuls_run = 0;           // matmul steps run by the blocked matmul (matmul.h)
  uint64_t epilogues_run = 0;         // of those, steps that ran an epilogue on their tiles
  uint64_t kernels_chained = 0;       // compiled launches run block by block in a row chain
};
CpuBackendStats cpu_backend_stats();
// Counts one matmul step in the stats (matmul_step.cpp).
void count_library_run(bool with_epilogue);

// The key under which a kernel's code is cached: ir::structural_key of the kernel with its
// runtime constants (codegen.h) masked, since their values are launch arguments; the exact
// bits of the compiled-in floating constants (structural_key prints 6 digits); and the code
// generator's version (bumped when the emitted code changes for an unchanged key, so that
// objects in a disk cache written by an older kiln are not reused).
std::string cpu_kernel_key(const ir::LoopKernel& kernel);

class KernelCache;

// Runs kernels compiled for the host, taken from `cache` (KernelCache::instance() when none is
// given, looked up at the first kernel, so that constructing a runner starts no JIT). A small
// table from kernel key to function sits in front of the cache. Thread-safe.
class CpuKernelRunner final : public KernelRunner {
 public:
  explicit CpuKernelRunner(KernelCache* cache = nullptr);
  ~CpuKernelRunner() override;
  CpuKernelRunner(const CpuKernelRunner&) = delete;
  CpuKernelRunner& operator=(const CpuKernelRunner&) = delete;

  void run(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
           absl::Span<void* const> data) override;
  // The memo holds the launch prepared at the first call (Prepared).
  void run_memoized(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                    absl::Span<void* const> data, KernelMemo& memo) override;
  // Row chains (row_chains.h): runs of steps that pass values row by row, run a block of rows
  // at a time.
  std::vector<StepChain> plan_chains(const ir::Graph& graph, const ir::Program& program) override;
  void run_chain(const ir::Program& program, const StepChain& chain,
                 absl::Span<const absl::Span<void* const>> data,
                 absl::Span<KernelMemo> memos) override;
  // matmul on the blocked matmul of matmul.h, its epilogue tile by tile (matmul_step.cpp);
  // other library steps on the reference interpreter.
  BufferPtr run_library(const ir::Graph& graph, const ir::ProgramStep& step,
                        absl::Span<const BufferPtr> operands,
                        absl::Span<void*> epilogue_data) override;

 private:
  // What the runner knows of a kernel, in front of the KernelCache (whose look-up takes a
  // lock, a promise and a shared future per call); filled lazily, never moved.
  struct Entry {
    std::string key;                       // cpu_kernel_key
    bool native = false;                   // compiles natively (else the loop-IR evaluator)
    std::vector<int32_t> runtime_exprs;    // the exprs that are runtime constants (codegen.h)
    std::atomic<void*> function{nullptr};  // KernelFunction
    std::atomic<void*> partial{nullptr};   // PartialFunction (split_reduction.h)
  };
  struct Table;
  struct Prepared;
  // Checks a launch against its kernel and works out its arguments, compiling the kernel at
  // the first call.
  void prepare(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch, Prepared& p);
  void launch(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
              absl::Span<void* const> data, const Prepared& p);
  // The launch prepared in `memo`, prepared and published there at the first call.
  const Prepared& prepared(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                           KernelMemo& memo);
  // The kernel's entry in the table, added at the first call.
  Entry& entry(const ir::LoopKernel& kernel);
  // The kernel's function (or partial reduction), compiled or loaded at the first call.
  void* function(const ir::LoopKernel& kernel, Entry& entry, bool partial);

  KernelCache* cache_;
  std::unique_ptr<Table> table_;
};

class CpuBackend final : public Backend {
 public:
  CpuBackend() = default;
  // Compiles through `cache` instead of the process-wide one (tests; it must outlive this).
  explicit CpuBackend(KernelCache& cache) : runner_(&cache) {}

  std::string_view name() const override { return "cpu"; }
  std::vector<BufferPtr> run(const ir::Graph& graph, absl::Span<const BufferPtr> inputs) override;
  std::unique_ptr<Executable> compile(ir::Graph graph) override;

 private:
  CpuKernelRunner runner_;
};

}  // namespace kiln::backends::cpu
