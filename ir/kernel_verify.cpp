// verify_kernel: the well-formedness rules of loop IR kernels that code generators trust.
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/infer.h"
#include "kiln/ir/kernel.h"

namespace kiln::ir {
namespace {

std::string why_not_expr(const LoopKernel& k, size_t i) {
  const KernelExpr& e = k.exprs[i];
  switch (e.kind) {
    case KernelExpr::Kind::kConstant:
      return "";
    case KernelExpr::Kind::kLoad:
      if (e.arg < 0 || static_cast<size_t>(e.arg) >= k.args.size()) return "load of a missing arg";
      // Outputs are never read: that is what makes noalias on every pointer sound.
      if (k.args[e.arg].is_output) return "load of an output arg";
      if (k.args[e.arg].dtype != e.dtype) return "load dtype differs from its arg's";
      return "";
    case KernelExpr::Kind::kOp:
      break;
  }
  if (!has_trait(e.op, kElementwise))
    return absl::StrCat(sv(op_name(e.op)), " is not an elementwise kernel expression");
  const int arity = op_arity(e.op);
  if (arity != kVariadic && static_cast<size_t>(arity) != e.operands.size())
    return absl::StrCat(sv(op_name(e.op)), " with ", e.operands.size(), " operands");
  std::vector<TensorType> operands;
  for (int32_t o : e.operands) {
    if (o < 0 || static_cast<size_t>(o) >= i) return "operand not defined before use";
    operands.push_back(TensorType{k.exprs[o].dtype, {}});
  }
  // The scalar code trusts the IR's typing rules; a kernel breaking them is not compiled.
  const Attrs attrs = e.op == Op::cast ? Attrs(CastAttrs{e.dtype}) : Attrs{};
  const absl::StatusOr<TensorType> inferred = infer_type(e.op, attrs, operands);
  if (!inferred.ok()) return std::string(inferred.status().message());
  if (inferred->dtype != e.dtype) return "result dtype differs from the op's rule";
  return "";
}

std::string why_not_reduction(const LoopKernel& k) {
  if (k.reduced_dims < 1 || k.reduced_dims > k.rank) return "bad reduced_dims";
  const DType in = k.exprs[k.stores[0].second].dtype;
  const DType out = k.args[k.stores[0].first].dtype;
  // Several stores (passes/group_kernels.h): one accumulator each, all of one dtype, which
  // the code generators' sum and product loops rely on.
  if (k.stores.size() > 1) {
    if (k.reduce_op != Op::sum && k.reduce_op != Op::prod)
      return absl::StrCat("several stores of ", sv(op_name(k.reduce_op)));
    for (const auto& [arg, expr] : k.stores)
      if (k.exprs[expr].dtype != in || k.args[arg].dtype != out)
        return "reduction stores of different dtypes";
  }
  switch (k.reduce_op) {
    case Op::sum:
    case Op::prod:
    case Op::amax:
    case Op::amin:
      return out == in ? "" : "reduction result dtype differs from its input's";
    case Op::argmax:
    case Op::argmin:
      return out == int64 ? "" : "argmax/argmin must store int64";
    default:
      return absl::StrCat(sv(op_name(k.reduce_op)), " is not a reduction");
  }
}

std::string why_not_well_formed(const LoopKernel& k) {
  if (k.rank < 0 || k.rank > 32) return absl::StrCat("rank ", k.rank, " (layouts cover 32 dims)");
  if (k.layouts.size() != k.args.size()) return "layouts missing";
  if (k.stores.empty()) return "no stores";
  for (size_t i = 0; i < k.exprs.size(); ++i) {
    std::string why = why_not_expr(k, i);
    if (!why.empty()) return absl::StrCat("%", i, ": ", why);
  }
  for (const auto& [arg, expr] : k.stores) {
    if (arg < 0 || static_cast<size_t>(arg) >= k.args.size() || !k.args[arg].is_output)
      return "store into a missing or input arg";
    if (expr < 0 || static_cast<size_t>(expr) >= k.exprs.size()) return "store of a missing expr";
  }
  if (k.kind == LoopKernel::Kind::kReduction) return why_not_reduction(k);
  for (const auto& [arg, expr] : k.stores)
    if (k.args[arg].dtype != k.exprs[expr].dtype) return "store dtype differs from its arg's";
  return "";
}

}  // namespace

absl::Status verify_kernel(const LoopKernel& kernel) {
  const std::string why = why_not_well_formed(kernel);
  return why.empty() ? absl::OkStatus() : absl::InvalidArgumentError(why);
}

}  // namespace kiln::ir
