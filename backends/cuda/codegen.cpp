// The CUDA code generator's entry points (codegen.h): kernels and chain kernels emitted through
// the Emitter (codegen_emitter.h), launch parameters and shapes.
#include "kiln/backends/cuda/codegen.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kiln/backends/cpu/codegen.h"
#include "kiln/backends/cuda/codegen_emitter.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/infer.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::cuda {

using detail::Code;
using detail::Emitter;
using detail::kThreads;
using detail::kVector;
using ir::KernelExpr;
using ir::LoopKernel;
using ir::Op;

// Every op of a well-formed kernel has CUDA C (codegen_expr.cpp); nothing else to refuse.
std::string why_not_emittable(const LoopKernel& k) {
  const absl::Status ok = ir::verify_kernel(k);
  return ok.ok() ? "" : std::string(ok.message());
}

bool needs_error_word(const LoopKernel& k) {
  for (const KernelExpr& e : k.exprs)
    if (e.kind == KernelExpr::Kind::kOp && e.op == Op::div && !is_floating_point(e.dtype))
      return true;
  return false;
}

std::string emit_cuda_kernel(const LoopKernel& kernel, std::string_view symbol) {
  const std::string why = why_not_emittable(kernel);
  if (!why.empty()) throw Error(absl::StrCat("cuda codegen: cannot emit kernel: ", why));
  Code code;
  absl::StrAppend(&code.text(), sv(cuda_prelude()), "\n// ", sv(symbol), "\n");
  Emitter emitter(kernel, code);
  if (kernel.is_reduction()) {
    const std::string name(symbol);
    emitter.reduction(name, Emitter::Variant::kFull, "");
    emitter.reduction(name + "_warp", Emitter::Variant::kWarp, name);
    emitter.reduction(name + "_part", Emitter::Variant::kPartial, name);
    emitter.reduction(name + "_comb", Emitter::Variant::kCombine, name);
  } else {
    emitter.elementwise(std::string(symbol));
  }
  return std::move(code.text());
}

std::string emit_cuda_chain_kernel(absl::Span<const LoopKernel* const> steps,
                                   std::string_view symbol, bool warp_per_row) {
  Code code;
  absl::StrAppend(&code.text(), sv(cuda_prelude()), "\n// ", sv(symbol), "\n");
  std::string params, calls;
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string why = why_not_emittable(*steps[i]);
    if (!why.empty()) throw Error(absl::StrCat("cuda codegen: cannot emit chain step: ", why));
    const std::string name = absl::StrCat(sv(symbol), "_s", i);
    Emitter emitter(*steps[i], code);
    if (steps[i]->is_reduction()) {
      emitter.reduction(name, warp_per_row ? Emitter::Variant::kRowWarp : Emitter::Variant::kRow,
                        "");
    } else {
      emitter.elementwise_row(name, warp_per_row);
    }
    absl::StrAppend(&params, "const P_", name, " p", i, ", ");
    // The barrier makes the step's stores visible to every thread that runs the row.
    absl::StrAppend(&calls, "    ", name, "(p", i, ", row);\n    ",
                    warp_per_row ? "__syncwarp();" : "__syncthreads();", "\n");
  }
  // A warp per row: every lane of a warp has the same row, so whole warps run each step.
  const std::string rows_loop =
      warp_per_row ? "for (i64 row = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); "
                     "row < rows; row += (i64)gridDim.x * (blockDim.x >> 5))"
                   : "for (i64 row = blockIdx.x; row < rows; row += gridDim.x)";
  absl::StrAppend(&code.text(), "extern \"C\" __global__ void __launch_bounds__(", kThreads, ") ",
                  sv(symbol), "(", params, "const i64 rows) {\n  ", rows_loop, " {\n", calls,
                  "  }\n}\n");
  return std::move(code.text());
}

std::vector<uint64_t> param_words(const LoopKernel& k, const ir::KernelLaunch& launch,
                                  absl::Span<void* const> data, void* error_word) {
  std::vector<uint64_t> words;
  for (void* p : data) words.push_back(reinterpret_cast<uint64_t>(p));
  for (int64_t s : launch.sizes) words.push_back(static_cast<uint64_t>(s));
  for (const Shape& strides : launch.strides)
    for (int64_t s : strides) words.push_back(static_cast<uint64_t>(s));
  for (int64_t o : launch.offsets) words.push_back(static_cast<uint64_t>(o));
  const std::vector<int64_t> sizes = cpu::kernel_sizes(k, launch);
  for (size_t i = launch.sizes.size(); i < sizes.size(); ++i)
    words.push_back(static_cast<uint64_t>(sizes[i]));
  if (needs_error_word(k)) words.push_back(reinterpret_cast<uint64_t>(error_word));
  if (words.empty()) words.push_back(0);
  return words;
}

size_t split_workspace_bytes(const LoopKernel& k, const SplitPlan& plan) {
  return static_cast<size_t>(plan.points * plan.splits) * (8 * k.stores.size() + 8);
}

SplitPlan split_plan(const LoopKernel& k, const ir::KernelLaunch& launch, int multiprocessors) {
  SplitPlan plan;
  if (!k.is_reduction()) return plan;
  const int32_t kept = k.kept_dims();
  int64_t points = 1, reduced = 1;
  for (int32_t d = 0; d < kept; ++d) points *= launch.sizes[d];
  for (int32_t d = kept; d < k.rank; ++d) reduced *= launch.sizes[d];
  plan.points = points;
  const int64_t sms = std::max(1, multiprocessors);
  // Worth it when the blocks of the plain kernel leave most SMs idle and rows are long.
  if (points == 0 || points >= 2 * sms || reduced < (int64_t{1} << 16)) return plan;
  int64_t splits = std::min<int64_t>((reduced + 16383) / 16384, (4 * sms + points - 1) / points);
  splits = std::clamp<int64_t>(splits, 1, 65535);
  if (splits <= 1) return plan;
  plan.chunk = (reduced + splits - 1) / splits;
  plan.splits = (reduced + plan.chunk - 1) / plan.chunk;
  return plan;
}

unsigned reduction_threads(int64_t reduced) {
  return static_cast<unsigned>(std::clamp<int64_t>((reduced + 31) / 32 * 32, 32, kThreads));
}

LaunchShape launch_shape(const LoopKernel& k, const ir::KernelLaunch& launch, int multiprocessors) {
  const int32_t kept = k.kept_dims();
  int64_t points = 1, reduced = 1;
  for (int32_t d = 0; d < kept; ++d) points *= launch.sizes[d];
  for (int32_t d = kept; d < k.rank; ++d) reduced *= launch.sizes[d];
  const int64_t sms = std::max(1, multiprocessors);
  LaunchShape shape;
  if (points == 0) return shape;
  if (!k.is_reduction()) {
    const int64_t per_block = int64_t{kThreads} * kVector;
    const int64_t blocks = std::min<int64_t>((points + per_block - 1) / per_block, sms * 32);
    shape.blocks = static_cast<unsigned>(std::max<int64_t>(1, blocks));
    shape.threads = kThreads;
    return shape;
  }
  if (reduced <= 32) {
    // SYMBOL_warp: a warp per point, 8 to a block.
    constexpr int64_t warps = kThreads / 32;
    shape.threads = kThreads;
    shape.blocks = static_cast<unsigned>(std::min<int64_t>((points + warps - 1) / warps, sms * 32));
    shape.warp_per_point = true;
    return shape;
  }
  shape.threads = reduction_threads(reduced);
  shape.blocks = static_cast<unsigned>(std::min<int64_t>(points, sms * 256));
  return shape;
}

}  // namespace kiln::backends::cuda
