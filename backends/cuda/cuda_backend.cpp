#include "kiln/backends/cuda/cuda_backend.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "kiln/backends/cpu/cpu_backend.h"
#include "kiln/backends/cpu/kernel_cache.h"
#include "kiln/backends/cuda/chain_kernel.h"
#include "kiln/backends/cuda/codegen.h"
#include "kiln/backends/cuda/host_kernels.h"
#include "kiln/backends/cuda/matmul.h"
#include "kiln/backends/cuda/matmul_wgmma_launch.h"
#include "kiln/backends/cuda/module_cache.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/passes/lower_program.h"
#include "kiln/runtime/cuda/copy.h"
#include "kiln/runtime/cuda/cuda_allocator.h"
#include "kiln/runtime/cuda/driver.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::cuda {
namespace {

namespace rc = runtime::cuda;

std::atomic<uint64_t> launched{0};
std::atomic<uint64_t> matmuls{0};
std::atomic<uint64_t> mma_matmuls{0};
std::atomic<uint64_t> wgmma_matmuls{0};
std::atomic<uint64_t> host_runs{0};
std::atomic<uint64_t> copy_steps{0};
std::atomic<uint64_t> index_steps{0};
std::atomic<uint64_t> chain_launches{0};
std::atomic<uint64_t> chained_steps{0};
std::atomic<uint64_t> warp_reductions{0};

// Bump when the emitted code changes for kernels whose keys stay the same.
constexpr std::string_view kCodegenVersion = "cuda-codegen/2\n";

bool sync_after_launch() {
  static const bool sync = [] {
    const char* env = std::getenv("KILN_SYNC");
    return env != nullptr && std::string(env) == "1";
  }();
  return sync;
}

// `params` points at the kernel's parameters (kernelParams of cuLaunchKernel).
void launch_with(int index, rc::CUfunction f, unsigned blocks_x, unsigned blocks_y,
                 unsigned blocks_z, unsigned threads, void** params) {
  const rc::Driver& d = rc::require_driver();
  rc::check(
      d.cuLaunchKernel(f, blocks_x, blocks_y, blocks_z, threads, 1, 1, 0, nullptr, params, nullptr),
      "cuLaunchKernel");
  ++launched;
  if (sync_after_launch()) rc::synchronize(index);
}

void launch(int index, rc::CUfunction f, unsigned blocks_x, unsigned blocks_y, unsigned blocks_z,
            unsigned threads, void* params) {
  const rc::Driver& d = rc::require_driver();
  void* args[] = {params};
  rc::check(
      d.cuLaunchKernel(f, blocks_x, blocks_y, blocks_z, threads, 1, 1, 0, nullptr, args, nullptr),
      "cuLaunchKernel");
  ++launched;
  if (sync_after_launch()) rc::synchronize(index);
}

// A 4-byte device word per device for integer division by zero (never freed).
void* error_word(int index) {
  static std::mutex m;
  static std::map<int, void*> words;
  std::lock_guard<std::mutex> lock(m);
  void*& w = words[index];
  if (w == nullptr) w = rc::cuda_allocate(4, index);
  return w;
}

// The error word cleared for a launch of kernels with integer division (null when none has
// one), and after it the ZeroDivisionError that a kernel raised in it.
void* armed_error_word(int index, bool checked) {
  if (!checked) return nullptr;
  void* err = error_word(index);
  rc::check(rc::require_driver().cuMemsetD8(reinterpret_cast<rc::CUdeviceptr>(err), 0, 4),
            "cuMemsetD8");
  return err;
}
void throw_if_division_by_zero(int index, void* err) {
  if (err == nullptr) return;
  int flag = 0;
  rc::copy_device_to_host(&flag, err, sizeof flag, index);
  if (flag != 0) throw Error("ZeroDivisionError: integer division by zero");
}

}  // namespace

CudaBackendStats cuda_backend_stats() {
  CudaBackendStats stats;
  stats.kernels_launched = launched.load();
  stats.matmuls = matmuls.load();
  stats.mma_matmuls = mma_matmuls.load();
  stats.wgmma_matmuls = wgmma_matmuls.load();
  stats.host_library_runs = host_runs.load();
  stats.copy_steps = copy_steps.load();
  stats.index_steps = index_steps.load();
  stats.chain_launches = chain_launches.load();
  stats.chained_steps = chained_steps.load();
  stats.warp_reductions = warp_reductions.load();
  return stats;
}

void launch_kernel(int index, rc::CUfunction f, unsigned blocks_x, unsigned blocks_y,
                   unsigned blocks_z, void** params) {
  launch_with(index, f, blocks_x, blocks_y, blocks_z, 256, params);
}

BufferPtr upload(const BufferPtr& host, Device device) {
  BufferPtr out = runtime::Buffer::allocate(host->nbytes(), device);
  rc::copy_host_to_device(out->data(), host->data(), host->nbytes(), device.index());
  return out;
}

BufferPtr download(const BufferPtr& device_buffer) {
  BufferPtr out = runtime::Buffer::allocate(device_buffer->nbytes());
  rc::copy_device_to_host(out->data(), device_buffer->data(), device_buffer->nbytes(),
                          device_buffer->device().index());
  return out;
}

void CudaKernelRunner::run(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch_args,
                           absl::Span<void* const> data) {
  const LaunchShape shape =
      launch_shape(kernel, launch_args, rc::device_properties(index_).multiprocessors);
  if (shape.blocks == 0) return;
  const std::string key = absl::StrCat(sv(kCodegenVersion), cpu::cpu_kernel_key(kernel));
  const std::string symbol = cpu::kernel_symbol(key);
  rc::CUfunction f =
      cuda_function(index_, key, symbol, [&] { return emit_cuda_kernel(kernel, symbol); });
  void* err = armed_error_word(index_, needs_error_word(kernel));
  std::vector<uint64_t> words = param_words(kernel, launch_args, data, err);
  const int sms = rc::device_properties(index_).multiprocessors;
  const SplitPlan plan = split_plan(kernel, launch_args, sms);
  if (plan.splits > 1) {
    // Few long rows: partial states per (point, split) in a workspace, then one combine.
    BufferPtr workspace = runtime::Buffer::allocate(split_workspace_bytes(kernel, plan), device());
    void* work = workspace->data();
    rc::CUfunction part = cuda_function(index_, key, symbol + "_part",
                                        [&] { return emit_cuda_kernel(kernel, symbol); });
    rc::CUfunction comb = cuda_function(index_, key, symbol + "_comb",
                                        [&] { return emit_cuda_kernel(kernel, symbol); });
    int64_t chunk = plan.chunk, splits = plan.splits;
    void* part_args[] = {words.data(), &chunk, &work};
    launch_with(index_, part, static_cast<unsigned>(plan.points),
                static_cast<unsigned>(plan.splits), 1, 256, part_args);
    void* comb_args[] = {words.data(), &splits, &work};
    launch_with(index_, comb, static_cast<unsigned>((plan.points + 255) / 256), 1, 1, 256,
                comb_args);
  } else if (shape.warp_per_point) {
    rc::CUfunction warp = cuda_function(index_, key, symbol + "_warp",
                                        [&] { return emit_cuda_kernel(kernel, symbol); });
    launch(index_, warp, shape.blocks, 1, 1, shape.threads, words.data());
    ++warp_reductions;
  } else {
    launch(index_, f, shape.blocks, 1, 1, shape.threads, words.data());
  }
  throw_if_division_by_zero(index_, err);
}

namespace {

// What a chain's launches need, worked out once when the executable is planned.
struct CudaChainPlan {
  int64_t rows = 0;
  bool warp_per_row = false;
  bool checked = false;  // a step divides integers (the error word)
  unsigned threads = 0, blocks = 0;
  std::string key, symbol;
};

}  // namespace

std::vector<StepChain> CudaKernelRunner::plan_chains(const ir::Graph& graph,
                                                     const ir::Program& program) {
  const int sms = rc::device_properties(index_).multiprocessors;
  std::vector<StepChain> chains;
  for (const cpu::RowChain& chain : plan_cuda_row_chains(graph, program, sms)) {
    auto plan = std::make_shared<CudaChainPlan>();
    plan->rows = chain.rows;
    plan->warp_per_row = chain_warp_per_row(program, chain);
    plan->threads = chain_launch_threads(program, chain);
    plan->blocks = chain_blocks(program, chain, sms);
    plan->key =
        absl::StrCat(sv(kCodegenVersion), "row-chain/1", plan->warp_per_row ? " warp" : "", "\n");
    for (size_t s = chain.first; s <= chain.last; ++s) {
      absl::StrAppend(&plan->key, cpu::cpu_kernel_key(program.steps[s].kernel), "\n;\n");
      plan->checked = plan->checked || needs_error_word(program.steps[s].kernel);
    }
    plan->symbol = cpu::kernel_symbol(plan->key);
    chains.push_back({chain.first, chain.last, std::move(plan)});
  }
  return chains;
}

void CudaKernelRunner::run_chain(const ir::Program& program, const StepChain& chain,
                                 absl::Span<const absl::Span<void* const>> data,
                                 absl::Span<KernelMemo> memos) {
  (void)memos;
  const auto& plan = *static_cast<const CudaChainPlan*>(chain.plan.get());
  rc::CUfunction f = cuda_function(index_, plan.key, plan.symbol, [&] {
    absl::InlinedVector<const ir::LoopKernel*, 4> kernels;
    for (size_t s = chain.first; s <= chain.last; ++s) kernels.push_back(&program.steps[s].kernel);
    return emit_cuda_chain_kernel(kernels, plan.symbol, plan.warp_per_row);
  });
  void* err = armed_error_word(index_, plan.checked);
  std::vector<std::vector<uint64_t>> words;
  std::vector<void*> args;
  for (size_t i = 0; i < data.size(); ++i) {
    const ir::ProgramStep& step = program.steps[chain.first + i];
    words.push_back(param_words(step.kernel, step.launch, data[i], err));
  }
  for (std::vector<uint64_t>& w : words) args.push_back(w.data());
  int64_t row_count = plan.rows;
  args.push_back(&row_count);
  launch_with(index_, f, plan.blocks, 1, 1, plan.threads, args.data());
  ++chain_launches;
  chained_steps += data.size();
  throw_if_division_by_zero(index_, err);
}

BufferPtr CudaKernelRunner::copy_buffer(const BufferPtr& buffer) {
  BufferPtr out = runtime::Buffer::allocate(buffer->nbytes(), device());
  rc::copy_device_to_device(out->data(), buffer->data(), buffer->nbytes(), index_);
  return out;
}

BufferPtr CudaKernelRunner::to_device(BufferPtr host) { return upload(host, device()); }

BufferPtr CudaKernelRunner::run_matmul(const ir::Graph& graph, const ir::ProgramStep& step,
                                       absl::Span<const BufferPtr> operands) {
  const ir::Node& node = graph.node(step.node);
  const DType dtype = node.type.dtype;
  const Shape& out = node.type.shape;
  const size_t rank = out.size();
  const bool integer = matmul_int_supported(dtype);
  if (!(integer || matmul_supported(dtype)) || rank < 2 ||
      rank - 2 > static_cast<size_t>(kMaxBatchDims))
    return nullptr;
  MatmulParams p;
  p.m = out[rank - 2];
  p.n = out[rank - 1];
  p.k = graph.node(node.inputs[0]).type.shape[rank - 1];
  int64_t batch = 1;
  for (size_t d = 0; d + 2 < rank; ++d) batch *= out[d];
  if (batch > 65535) return nullptr;
  if (integer && (p.m + 15) / 16 > 65535) return nullptr;  // the grid's y limit
  const ir::OperandView &a = step.operands[0], &b = step.operands[1];
  p.a = reinterpret_cast<uint64_t>(operands[0]->data());
  p.b = reinterpret_cast<uint64_t>(operands[1]->data());
  p.a_offset = a.offset;
  p.a_stride_m = a.strides[rank - 2];
  p.a_stride_k = a.strides[rank - 1];
  p.b_offset = b.offset;
  p.b_stride_k = b.strides[rank - 2];
  p.b_stride_n = b.strides[rank - 1];
  p.batch_dims = static_cast<int64_t>(rank - 2);
  for (size_t d = 0; d + 2 < rank; ++d) {
    p.batch_sizes[d] = out[d];
    p.a_batch_strides[d] = a.strides[d];
    p.b_batch_strides[d] = b.strides[d];
  }
  BufferPtr result =
      runtime::Buffer::allocate(static_cast<size_t>(numel(out)) * itemsize(dtype), device());
  p.c = reinterpret_cast<uint64_t>(result->data());
  if (numel(out) == 0) return result;
  if (integer) {
    const std::string symbol = matmul_int_symbol(dtype);
    rc::CUfunction f = cuda_function(index_, absl::StrCat("matmul/1\n", symbol), symbol,
                                     [&] { return matmul_int_source(dtype); });
    launch(index_, f, static_cast<unsigned>((p.n + 15) / 16),
           static_cast<unsigned>((p.m + 15) / 16), static_cast<unsigned>(batch), 256, &p);
    ++matmuls;
    return result;
  }
  // Host modules (the emulated device) cannot run the tensor-core kernels' inline PTX.
  const MmaMode mode = kernels_run_on_host() ? MmaMode::kOff : mma_mode();
  if (mode == MmaMode::kAuto && wgmma_device(index_)) {
    // Hopper: TMA + wgmma where the operands' layout allows (else the kernels below).
    if (const std::optional<WgmmaPlan> plan = matmul_wgmma_plan(dtype, p);
        plan && launch_matmul_wgmma(index_, dtype, p, *plan, batch)) {
      ++launched;
      if (sync_after_launch()) rc::synchronize(index_);
      ++matmuls;
      ++wgmma_matmuls;
      return result;
    }
  }
  const bool mma = mode != MmaMode::kOff && matmul_mma_fits(dtype, p);
  const std::string symbol = mma ? matmul_mma_symbol(dtype) : matmul_symbol(dtype);
  rc::CUfunction f = cuda_function(index_, absl::StrCat("matmul/1\n", symbol), symbol, [&] {
    return mma ? matmul_mma_source(dtype) : matmul_source(dtype);
  });
  const int64_t bm = mma ? 128 : matmul_tile_m(dtype), bn = mma ? 128 : matmul_tile_n(dtype);
  launch(index_, f, static_cast<unsigned>((p.n + bn - 1) / bn),
         static_cast<unsigned>((p.m + bm - 1) / bm), static_cast<unsigned>(batch), 256, &p);
  ++matmuls;
  if (mma) ++mma_matmuls;
  return result;
}

BufferPtr CudaKernelRunner::run_library(const ir::Graph& graph, const ir::ProgramStep& step,
                                        absl::Span<const BufferPtr> operands,
                                        absl::Span<void*> epilogue_data) {
  const ir::Node& node = graph.node(step.node);
  BufferPtr result;
  if (node.op == ir::Op::matmul) result = run_matmul(graph, step, operands);
  if (node.op == ir::Op::cat || node.op == ir::Op::as_strided_scatter) {
    result = run_copy_step(graph, step, operands);
    if (result) ++copy_steps;
  }
  if (node.op == ir::Op::index || node.op == ir::Op::index_put) {
    result = run_index_step(graph, step, operands);
    if (result) ++index_steps;
  }
  if (!result) {
    // The host path: download, run on the reference interpreter, upload.
    ++host_runs;
    std::vector<BufferPtr> dense;
    for (size_t i = 0; i < step.operands.size(); ++i)
      dense.push_back(
          dense_operand(step.operands[i], download(operands[i]), graph.node(node.inputs[i]).type));
    result = upload(run_node_on_interpreter(graph, step.node, dense), device());
  }
  run_epilogue(step, result, epilogue_data);
  return result;
}

std::vector<BufferPtr> CudaBackend::run(const ir::Graph& graph,
                                        absl::Span<const BufferPtr> inputs) {
  const ir::Program program = passes::lower_program(graph);
  return run_program(graph, program, inputs, runner_);
}

std::unique_ptr<Executable> CudaBackend::compile(ir::Graph graph) {
  return compile_program(std::move(graph), runner_);
}

CudaBackend& cuda_backend(int index) {
  static std::mutex m;
  static auto* backends = new std::map<int, std::unique_ptr<CudaBackend>>();
  std::lock_guard<std::mutex> lock(m);
  auto& slot = (*backends)[index];
  if (!slot) {
    if (!cuda_is_available())
      throw Error("CUDA is not available: " +
                  (rc::driver() == nullptr ? rc::why_unavailable() : "no CUDA device found"));
    slot = std::make_unique<CudaBackend>(index);
  }
  return *slot;
}

}  // namespace kiln::backends::cuda
