#include "kiln/backends/cuda/chain_kernel.h"

#include <algorithm>
#include <optional>

#include "kiln/backends/cuda/codegen.h"

namespace kiln::backends::cuda {
namespace {

// The words one launch of `step` passes (param_words without its buffers).
size_t param_bytes(const ir::ProgramStep& step) {
  const std::vector<void*> data(step.kernel.args.size(), nullptr);
  return 8 * param_words(step.kernel, step.launch, data, nullptr).size();
}

unsigned warp_multiple(int64_t n) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + 31) / 32 * 32, 32, 256));
}

}  // namespace

std::vector<cpu::RowChain> plan_cuda_row_chains(const ir::Graph& graph, const ir::Program& program,
                                                int multiprocessors) {
  auto step_rows = [&](const ir::ProgramStep& step) -> std::optional<int64_t> {
    const std::optional<int64_t> rows = cpu::leading_kept_rows(step);
    if (!rows || !why_not_emittable(step.kernel).empty()) return std::nullopt;
    if (launch_shape(step.kernel, step.launch, multiprocessors).blocks == 0) return std::nullopt;
    if (split_plan(step.kernel, step.launch, multiprocessors).splits > 1) return std::nullopt;
    return rows;
  };
  std::vector<cpu::RowChain> chains;
  for (cpu::RowChain& chain : cpu::plan_row_chains(graph, program, step_rows)) {
    if (chain.row_bytes > kMaxChainRowBytes) continue;
    size_t bytes = 8;  // the row count
    for (size_t s = chain.first; s <= chain.last; ++s) bytes += param_bytes(program.steps[s]);
    if (bytes > kMaxChainParamBytes) continue;
    chains.push_back(std::move(chain));
  }
  return chains;
}

unsigned chain_threads(const ir::Program& program, const cpu::RowChain& chain) {
  unsigned threads = 32;
  for (size_t s = chain.first; s <= chain.last; ++s) {
    const ir::ProgramStep& step = program.steps[s];
    if (step.kernel.is_reduction()) {
      int64_t reduced = 1;
      for (int32_t d = step.kernel.kept_dims(); d < step.kernel.rank; ++d)
        reduced *= step.launch.sizes[static_cast<size_t>(d)];
      threads = std::max(threads, reduction_threads(reduced));
    } else {
      threads = std::max(threads, warp_multiple(chain.points_per_row[s - chain.first]));
    }
  }
  return threads;
}

bool chain_warp_per_row(const ir::Program& program, const cpu::RowChain& chain) {
  return chain_threads(program, chain) == 32;
}

unsigned chain_launch_threads(const ir::Program& program, const cpu::RowChain& chain) {
  return chain_warp_per_row(program, chain) ? 256 : chain_threads(program, chain);
}

unsigned chain_blocks(const ir::Program& program, const cpu::RowChain& chain, int multiprocessors) {
  const int64_t sms = std::max(1, multiprocessors);
  if (chain_warp_per_row(program, chain))
    return static_cast<unsigned>(std::min<int64_t>((chain.rows + 7) / 8, sms * 32));
  return static_cast<unsigned>(std::min<int64_t>(chain.rows, sms * 256));
}

}  // namespace kiln::backends::cuda
