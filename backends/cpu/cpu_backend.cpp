#include "kiln/backends/cpu/cpu_backend.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "kiln/backends/cpu/codegen.h"
#include "kiln/backends/cpu/kernel_cache.h"
#include "kiln/backends/cpu/row_chains.h"
#include "kiln/backends/cpu/split_reduction.h"
#include "kiln/backends/interp/loop_evaluator.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/passes/lower_program.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/log.h"
#include "kiln/runtime/thread_pool.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"

namespace kiln::backends::cpu {
namespace {

// Bump when the emitted code changes for kernels whose keys stay the same.
constexpr std::string_view kCodegenVersion = "cpu-codegen/3";

// Innermost iterations per thread-pool chunk: below this a kernel runs inline on the caller,
// where waking workers would cost more than the work.
constexpr int64_t kChunkWork = 32 * 1024;

std::atomic<uint64_t> compiled_runs{0};
std::atomic<uint64_t> evaluated_runs{0};
std::atomic<uint64_t> lookups{0};
std::atomic<uint64_t> matmuls{0};
std::atomic<uint64_t> epilogues{0};
std::atomic<uint64_t> chained{0};

}  // namespace

// A kernel's identity in the runner's table: its structure with the values of runtime
// constants left out (they are launch arguments), so that `x * lr` for every lr is one entry.
// Hashing and comparing the kernel directly is much cheaper than printing cpu_kernel_key,
// which only a kernel new to the table needs (for the KernelCache). This lookup runs at every
// kernel launch, so the hash leaves every constant's value out (kernels that differ only in a
// compiled-in constant share a bucket) and the comparison works out which constants are
// runtime ones only when two constants differ.
struct MaskedKernelHash {
  size_t operator()(const ir::LoopKernel& k) const {
    size_t h = absl::HashOf(static_cast<int>(k.kind), k.rank, k.reduced_dims,
                            static_cast<int>(k.reduce_op), k.args.size(), k.exprs.size());
    for (size_t a = 0; a < k.args.size(); ++a)
      h = absl::HashOf(h, static_cast<int>(k.args[a].dtype.kind()), k.args[a].is_output,
                       k.layouts[a].zero_stride_dims, k.layouts[a].inner_unit_stride);
    for (const ir::KernelExpr& e : k.exprs)
      h = absl::HashOf(h, static_cast<int>(e.kind), static_cast<int>(e.dtype.kind()), e.arg,
                       static_cast<int>(e.op), e.operands);
    for (const auto& [arg, expr] : k.stores) h = absl::HashOf(h, arg, expr);
    return h;
  }
};
struct MaskedKernelEq {
  bool operator()(const ir::LoopKernel& a, const ir::LoopKernel& b) const {
    if (a.kind != b.kind || a.rank != b.rank || a.reduced_dims != b.reduced_dims ||
        a.reduce_op != b.reduce_op || a.args != b.args || a.layouts != b.layouts ||
        a.stores != b.stores || a.exprs.size() != b.exprs.size())
      return false;
    std::optional<std::vector<bool>> runtime;  // computed at the first differing constant
    for (size_t i = 0; i < a.exprs.size(); ++i) {
      const ir::KernelExpr &x = a.exprs[i], &y = b.exprs[i];
      if (x.kind != y.kind || x.dtype != y.dtype || x.arg != y.arg || x.op != y.op ||
          x.operands != y.operands)
        return false;
      if (x.kind != ir::KernelExpr::Kind::kConstant || x.constant == y.constant) continue;
      // Same structure so far; runtime_constants depends on the structure only, which the
      // rest of the loop checks, so a's answer stands for b's.
      if (!runtime) runtime = runtime_constants(a);
      if (!(*runtime)[i]) return false;
    }
    return true;
  }
};

struct CpuKernelRunner::Table {
  std::mutex mutex;
  absl::node_hash_map<ir::LoopKernel, Entry, MaskedKernelHash, MaskedKernelEq> entries;
};

namespace {

// The address of the kernel's function or, with `partial`, of its partial reduction.
void* compile(const ir::LoopKernel& kernel, const std::string& kernel_key, bool partial,
              KernelCache& cache) {
  ++lookups;
  const std::string key = partial ? kernel_key + "partial reduction\n" : kernel_key;
  const std::string symbol = kernel_symbol(key);
  return cache.get_or_compile(key, symbol, [&] {
    if (runtime::log_enabled("kernels"))
      runtime::log_line("kernels",
                        absl::StrCat("loop IR of ", symbol, "\n", ir::to_string(kernel)));
    return partial ? emit_partial_reduction(kernel, symbol) : emit_kernel(kernel, symbol);
  });
}

// The compiled code trusts the kernel's layouts (a unit stride is not even read), so a launch
// must match them; lowering guarantees it (canonicalize_launch computes them from the launch).
void check_launch(const ir::LoopKernel& k, const ir::KernelLaunch& launch, size_t n_data) {
  bool ok = launch.sizes.size() == static_cast<size_t>(k.rank) &&
            launch.strides.size() == k.args.size() && launch.offsets.size() == k.args.size() &&
            n_data == k.args.size() && k.layouts.size() == k.args.size();
  for (size_t a = 0; ok && a < k.args.size(); ++a) {
    const Shape& s = launch.strides[a];
    ok = s.size() == static_cast<size_t>(k.rank);
    for (int32_t d = 0; ok && d < k.rank; ++d)
      ok = ((k.layouts[a].zero_stride_dims >> d) & 1u) == (s[d] == 0 ? 1u : 0u);
    ok = ok && k.layouts[a].inner_unit_stride == (k.rank > 0 && s[k.rank - 1] == 1);
  }
  if (!ok)
    throw Error("internal error: cpu backend: a kernel launch does not match its layouts:\n" +
                ir::to_string(k));
}

}  // namespace

CpuBackendStats cpu_backend_stats() {
  return CpuBackendStats{compiled_runs.load(), evaluated_runs.load(), lookups.load(),
                         matmuls.load(),       epilogues.load(),      chained.load()};
}

void count_library_run(bool with_epilogue) {
  ++matmuls;
  if (with_epilogue) ++epilogues;
}

std::string cpu_kernel_key(const ir::LoopKernel& kernel) {
  // Runtime constants are launch arguments: their values are no part of the code.
  ir::LoopKernel masked = kernel;
  const std::vector<bool> runtime = runtime_constants(kernel);
  for (size_t i = 0; i < masked.exprs.size(); ++i)
    if (runtime[i]) masked.exprs[i].constant = Scalar(0);
  std::string key = absl::StrCat(sv(kCodegenVersion), "\n", ir::structural_key(masked));
  // structural_key prints floating constants to 6 significant digits: add the exact bits of
  // the compiled-in ones.
  for (size_t i = 0; i < masked.exprs.size(); ++i) {
    const ir::KernelExpr& e = masked.exprs[i];
    if (e.kind != ir::KernelExpr::Kind::kConstant || !e.constant.is_floating_point()) continue;
    const double value = e.constant.to_double();
    uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    absl::StrAppend(&key, "  %", i, " bits ", absl::Hex(bits), "\n");
  }
  return key;
}

CpuKernelRunner::CpuKernelRunner(KernelCache* cache)
    : cache_(cache), table_(std::make_unique<Table>()) {}

CpuKernelRunner::~CpuKernelRunner() = default;

CpuKernelRunner::Entry& CpuKernelRunner::entry(const ir::LoopKernel& kernel) {
  {
    std::lock_guard<std::mutex> lock(table_->mutex);
    auto it = table_->entries.find(kernel);
    if (it != table_->entries.end()) return it->second;
  }
  std::string key = cpu_kernel_key(kernel);
  const bool native = can_emit(kernel);
  std::vector<int32_t> runtime_exprs;
  const std::vector<bool> runtime = runtime_constants(kernel);
  for (size_t i = 0; i < runtime.size(); ++i)
    if (runtime[i]) runtime_exprs.push_back(static_cast<int32_t>(i));
  std::lock_guard<std::mutex> lock(table_->mutex);
  // Another thread may have added it meanwhile: then this one is dropped.
  auto [it, added] = table_->entries.try_emplace(kernel);
  if (added) {
    it->second.key = std::move(key);
    it->second.native = native;
    it->second.runtime_exprs = std::move(runtime_exprs);
  }
  return it->second;
}

void* CpuKernelRunner::function(const ir::LoopKernel& kernel, Entry& entry, bool partial) {
  std::atomic<void*>& slot = partial ? entry.partial : entry.function;
  if (void* f = slot.load(std::memory_order_acquire)) return f;
  KernelCache& cache = cache_ != nullptr ? *cache_ : KernelCache::instance();
  // Two threads may both compile at the first call: the cache gives both the same address.
  void* address = compile(kernel, entry.key, partial, cache);
  slot.store(address, std::memory_order_release);
  return address;
}

// Everything a launch needs besides its data pointers, worked out once per launch of a
// program (run_memoized) or at each call (run).
struct CpuKernelRunner::Prepared final : PreparedLaunch {
  size_t args = 0;
  bool native = false;
  int64_t extent = 0;
  int64_t ranges = 1;        // split_count: > 1 runs the partial function over ranges of each point
  void* function = nullptr;  // KernelFunction, or PartialFunction when ranges > 1
  absl::InlinedVector<int64_t, 24> strides;  // every argument's launch strides, in a row
  absl::InlinedVector<int64_t, 8> sizes;     // kernel_sizes(): launch sizes, runtime constants
  int64_t grain = 1;                         // points per thread-pool chunk
  int64_t block = 1;                         // points_per_block
};

namespace {

void check_buffer_count(size_t args, absl::Span<void* const> data) {
  if (data.size() != args)
    throw Error(absl::StrCat("internal error: cpu backend: a kernel of ", args,
                             " arguments launched with ", data.size(), " buffers"));
}

}  // namespace

void CpuKernelRunner::prepare(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                              Prepared& p) {
  check_launch(kernel, launch, kernel.args.size());
  p.args = kernel.args.size();
  p.extent = parallel_extent(kernel, launch);
  if (p.extent == 0) return;  // nothing to compute or store
  Entry& entry = this->entry(kernel);
  p.native = entry.native;
  if (!p.native) return;
  p.strides.reserve(kernel.args.size() * static_cast<size_t>(kernel.rank));
  for (const Shape& s : launch.strides) p.strides.insert(p.strides.end(), s.begin(), s.end());
  p.sizes.assign(launch.sizes.begin(), launch.sizes.end());
  for (const int32_t i : entry.runtime_exprs) {
    const ir::KernelExpr& e = kernel.exprs[static_cast<size_t>(i)];
    p.sizes.push_back(static_cast<int64_t>(constant_bits(e.dtype, e.constant)));
  }
  p.ranges = split_count(kernel, launch);
  p.function = function(kernel, entry, p.ranges > 1);
  const int64_t work = std::max<int64_t>(1, work_per_point(kernel, launch));
  p.grain = std::max<int64_t>(1, kChunkWork / work);
  p.block = points_per_block(kernel);
}

void CpuKernelRunner::launch(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                             absl::Span<void* const> data, const Prepared& p) {
  check_buffer_count(p.args, data);
  if (p.extent == 0) return;
  if (!p.native) {
    ++evaluated_runs;
    interp::LoopEvaluator evaluator;
    evaluator.run(kernel, launch, data);
    return;
  }
  ++compiled_runs;
  if (p.ranges > 1) {
    run_split_reduction(kernel, launch, data, p.sizes.data(), p.strides.data(),
                        reinterpret_cast<PartialFunction>(p.function), p.ranges);
    return;
  }
  const auto kernel_function = reinterpret_cast<KernelFunction>(p.function);
  const int64_t* offsets = launch.offsets.data();
  auto chunk = [&](int64_t begin, int64_t end) {
    kernel_function(data.data(), p.sizes.data(), p.strides.data(), offsets, begin, end);
  };
  // Blocked reductions want whole blocks per chunk, unless that leaves threads idle.
  int64_t grain = p.grain;
  if (p.block > grain && p.extent >= p.block * runtime::num_threads()) grain = p.block;
  if (p.extent <= grain) {
    chunk(0, p.extent);
  } else {
    runtime::parallel_for(0, p.extent, grain, chunk);
  }
}

void CpuKernelRunner::run(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                          absl::Span<void* const> data) {
  Prepared p;
  prepare(kernel, launch, p);
  this->launch(kernel, launch, data, p);
}

const CpuKernelRunner::Prepared& CpuKernelRunner::prepared(const ir::LoopKernel& kernel,
                                                           const ir::KernelLaunch& launch,
                                                           KernelMemo& memo) {
  if (auto* p = static_cast<const Prepared*>(memo.get())) return *p;
  auto fresh = std::make_unique<Prepared>();
  prepare(kernel, launch, *fresh);
  return *static_cast<const Prepared*>(memo.publish(std::move(fresh)));
}

void CpuKernelRunner::run_memoized(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                                   absl::Span<void* const> data, KernelMemo& memo) {
  this->launch(kernel, launch, data, prepared(kernel, launch, memo));
}

std::vector<StepChain> CpuKernelRunner::plan_chains(const ir::Graph& graph,
                                                    const ir::Program& program) {
  std::vector<StepChain> chains;
  for (RowChain& chain : plan_row_chains(graph, program))
    chains.push_back({chain.first, chain.last, std::make_shared<RowChain>(std::move(chain))});
  return chains;
}

void CpuKernelRunner::run_chain(const ir::Program& program, const StepChain& chain,
                                absl::Span<const absl::Span<void* const>> data,
                                absl::Span<KernelMemo> memos) {
  const auto& rows = *static_cast<const RowChain*>(chain.plan.get());
  absl::InlinedVector<const Prepared*, 4> steps;
  bool runs_alone = false;
  for (size_t i = 0; i < data.size(); ++i) {
    const ir::ProgramStep& step = program.steps[chain.first + i];
    const Prepared& p = prepared(step.kernel, step.launch, memos[i]);
    check_buffer_count(p.args, data[i]);
    // The plan excludes what the preparation may still decide (it saw the same launch), but
    // the chain must not run a step any other way than its own launch would.
    runs_alone = runs_alone || !p.native || p.ranges > 1 || p.extent == 0;
    steps.push_back(&p);
  }
  const int64_t blocks = (rows.rows + rows.rows_per_block - 1) / rows.rows_per_block;
  // Fewer blocks than threads would leave threads idle that the steps' own launches use.
  if (runs_alone || blocks < runtime::num_threads()) {
    KernelRunner::run_chain(program, chain, data, memos);
    return;
  }
  compiled_runs += data.size();
  chained += data.size();
  runtime::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t first_row = b * rows.rows_per_block;
      const int64_t end_row = std::min(rows.rows, first_row + rows.rows_per_block);
      for (size_t i = 0; i < steps.size(); ++i) {
        const Prepared& p = *steps[i];
        const int64_t per_row = rows.points_per_row[i];
        reinterpret_cast<KernelFunction>(p.function)(
            data[i].data(), p.sizes.data(), p.strides.data(),
            program.steps[chain.first + i].launch.offsets.data(), first_row * per_row,
            end_row * per_row);
      }
    }
  });
}

std::vector<BufferPtr> CpuBackend::run(const ir::Graph& graph, absl::Span<const BufferPtr> inputs) {
  const ir::Program program = passes::lower_program(graph);
  return run_program(graph, program, inputs, runner_);
}

std::unique_ptr<Executable> CpuBackend::compile(ir::Graph graph) {
  return compile_program(std::move(graph), runner_);
}

}  // namespace kiln::backends::cpu
