// The CPU code generator's entry points: which kernels it covers, their parallel extent, and
// the modules it builds (loop nests: codegen_loops.cpp; scalar code: codegen_expr.cpp).
#include "kiln/backends/cpu/codegen.h"

#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/backends/cpu/codegen_expr.h"
#include "kiln/backends/cpu/codegen_loops.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/infer.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::backends::cpu {
namespace {

using ir::KernelExpr;
using ir::LoopKernel;
using ir::Op;

// The CPU code generator's own limits on an expr of a well-formed kernel (codegen_expr.h).
std::string why_not_native(const LoopKernel& k, const KernelExpr& e) {
  if (e.kind != KernelExpr::Kind::kOp) return "";
  std::vector<DType> types;
  for (int32_t o : e.operands) types.push_back(k.exprs[o].dtype);
  return codegen::why_not_op(e.op, types, e.dtype);
}

}  // namespace

std::string why_not_emittable(const LoopKernel& k) {
  if (const absl::Status ok = ir::verify_kernel(k); !ok.ok()) return std::string(ok.message());
  for (size_t i = 0; i < k.exprs.size(); ++i) {
    std::string why = why_not_native(k, k.exprs[i]);
    if (!why.empty()) return absl::StrCat("%", i, ": ", why);
  }
  return "";
}

bool is_runtime_constant(const LoopKernel& kernel, size_t expr) {
  if (kernel.exprs[expr].kind != KernelExpr::Kind::kConstant) return false;
  for (const KernelExpr& e : kernel.exprs)
    if (e.kind == KernelExpr::Kind::kOp && e.op == Op::pow && e.operands.size() == 2 &&
        e.operands[1] == static_cast<int32_t>(expr))
      return false;
  return true;
}

std::vector<bool> runtime_constants(const LoopKernel& kernel) {
  std::vector<bool> runtime(kernel.exprs.size(), false);
  for (size_t i = 0; i < kernel.exprs.size(); ++i)
    runtime[i] = kernel.exprs[i].kind == KernelExpr::Kind::kConstant;
  for (const KernelExpr& e : kernel.exprs)
    if (e.kind == KernelExpr::Kind::kOp && e.op == Op::pow && e.operands.size() == 2)
      runtime[static_cast<size_t>(e.operands[1])] = false;
  return runtime;
}

uint64_t constant_bits(DType t, const Scalar& value) {
  // As the interpreter's eval_constant: float64 -> float rounds once, float -> float16 again.
  const bool from_float = value.is_floating_point();
  const double d = value.to_double();
  const int64_t i = value.to_int64();  // saturating truncation, NaN -> 0, for float scalars
  const float f = from_float ? static_cast<float>(d) : static_cast<float>(i);
  switch (t.kind()) {
    case DType::Kind::kFloat32:
      return float_bits(f);
    case DType::Kind::kFloat64: {
      const double v = from_float ? d : static_cast<double>(i);
      uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      return bits;
    }
    case DType::Kind::kFloat16:
      return Half::from_float(f);
    case DType::Kind::kBFloat16:
      return BFloat16::from_float(f);
    case DType::Kind::kBool:
      return value.to_bool() ? 1 : 0;
    case DType::Kind::kInt8:
    case DType::Kind::kInt16:
    case DType::Kind::kInt32:
    case DType::Kind::kInt64:
    case DType::Kind::kUInt8:
      return static_cast<uint64_t>(i);  // the kernel keeps the low bits: two's complement
  }
  throw Error("cpu codegen: unknown dtype");
}

std::vector<int64_t> kernel_sizes(const LoopKernel& kernel, const ir::KernelLaunch& launch) {
  std::vector<int64_t> sizes(launch.sizes.begin(), launch.sizes.end());
  const std::vector<bool> runtime = runtime_constants(kernel);
  for (size_t i = 0; i < kernel.exprs.size(); ++i)
    if (runtime[i])
      sizes.push_back(
          static_cast<int64_t>(constant_bits(kernel.exprs[i].dtype, kernel.exprs[i].constant)));
  return sizes;
}

int64_t points_per_block(const LoopKernel& kernel) {
  if (!kernel.is_reduction() || kernel.kept_dims() == 0) return 1;
  // Per point, the innermost reduced dim is the inner loop: right when the loads walk it
  // contiguously (a row sum). Otherwise (a column sum) the inner loop had better run across
  // neighbouring kept points, whose elements are adjacent in memory, each point still
  // accumulating its own elements in order.
  bool any_load = false;
  for (const KernelExpr& e : kernel.exprs) {
    if (e.kind != KernelExpr::Kind::kLoad) continue;
    any_load = true;
    if (kernel.layouts[static_cast<size_t>(e.arg)].inner_unit_stride) return 1;
  }
  return any_load ? 64 : 1;
}

int64_t parallel_extent(const LoopKernel& k, const ir::KernelLaunch& launch) {
  int64_t n = 1;
  for (int32_t d = 0; d < k.kept_dims(); ++d) n *= launch.sizes[d];
  return n;
}

int64_t work_per_point(const LoopKernel& k, const ir::KernelLaunch& launch) {
  int64_t n = 1;
  for (int32_t d = k.kept_dims(); d < k.rank; ++d) n *= launch.sizes[d];
  return n;
}

namespace {

std::pair<std::unique_ptr<llvm::LLVMContext>, std::unique_ptr<llvm::Module>> build(
    const LoopKernel& kernel, std::string_view symbol, codegen::Variant variant) {
  std::string why = why_not_emittable(kernel);
  if (why.empty() && variant == codegen::Variant::kPartial && !can_split(kernel))
    why = "not a reduction that splits";
  if (!why.empty()) throw Error(absl::StrCat("cpu codegen: cannot emit kernel: ", why));
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module =
      std::make_unique<llvm::Module>(llvm::StringRef(symbol.data(), symbol.size()), *context);
  codegen::emit_loops(kernel, *module, symbol, variant);
  return {std::move(context), std::move(module)};
}

}  // namespace

bool can_split(const LoopKernel& kernel) {
  if (!kernel.is_reduction() || !can_emit(kernel)) return false;
  // A floating product is sequential in double: multiplying partial products rounds
  // differently. Everything else combines exactly (integers wrap associatively, extremes keep
  // the first) or, for floating sums, deterministically per split.
  return !(kernel.reduce_op == Op::prod &&
           is_floating_point(kernel.exprs[kernel.stores[0].second].dtype));
}

llvm::orc::ThreadSafeModule emit_kernel(const LoopKernel& kernel, std::string_view symbol) {
  auto [context, module] = build(kernel, symbol, codegen::Variant::kKernel);
  return llvm::orc::ThreadSafeModule(std::move(module), std::move(context));
}

llvm::orc::ThreadSafeModule emit_partial_reduction(const LoopKernel& kernel,
                                                   std::string_view symbol) {
  auto [context, module] = build(kernel, symbol, codegen::Variant::kPartial);
  return llvm::orc::ThreadSafeModule(std::move(module), std::move(context));
}

std::string emit_kernel_ir(const LoopKernel& kernel, std::string_view symbol) {
  auto [context, module] = build(kernel, symbol, codegen::Variant::kKernel);
  std::string text;
  llvm::raw_string_ostream stream(text);
  module->print(stream, nullptr);
  stream.flush();
  return text;
}

}  // namespace kiln::backends::cpu
