#include "kiln/ir/kernel.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::ir {
namespace {

void erase_dim(LoopKernel& kernel, KernelLaunch& launch, int32_t d) {
  launch.sizes.erase(launch.sizes.begin() + d);
  for (Shape& s : launch.strides) s.erase(s.begin() + d);
  --kernel.rank;
  if (d >= kernel.rank - kernel.reduced_dims + 1 && kernel.kind == LoopKernel::Kind::kReduction)
    --kernel.reduced_dims;
}

}  // namespace

void canonicalize_launch(LoopKernel& kernel, KernelLaunch& launch) {
  const bool reduction = kernel.kind == LoopKernel::Kind::kReduction;
  // Size-1 dims carry no iteration; a reduction keeps one reduced dim so its shape stays valid.
  for (int32_t d = kernel.rank - 1; d >= 0; --d) {
    if (launch.sizes[d] != 1) continue;
    const bool is_reduced = d >= kernel.rank - kernel.reduced_dims;
    if (reduction && is_reduced && kernel.reduced_dims == 1) continue;
    erase_dim(kernel, launch, d);
  }
  // Merge d with d + 1 when every argument steps over d exactly one whole d + 1 row further.
  for (int32_t d = kernel.rank - 2; d >= 0; --d) {
    const int32_t first_reduced = kernel.rank - kernel.reduced_dims;
    if (reduction && d + 1 == first_reduced) continue;  // never across kept/reduced
    bool mergeable = true;
    for (const Shape& s : launch.strides) mergeable &= s[d] == s[d + 1] * launch.sizes[d + 1];
    if (!mergeable) continue;
    launch.sizes[d] *= launch.sizes[d + 1];
    for (Shape& s : launch.strides) s[d] = s[d + 1];
    erase_dim(kernel, launch, d + 1);
  }
  compute_layouts(kernel, launch);
}

void compute_layouts(LoopKernel& kernel, const KernelLaunch& launch) {
  kernel.layouts.assign(kernel.args.size(), ArgLayout{});
  for (size_t a = 0; a < kernel.args.size(); ++a) {
    ArgLayout& layout = kernel.layouts[a];
    for (int32_t d = 0; d < kernel.rank && d < 32; ++d)
      if (launch.strides[a][d] == 0) layout.zero_stride_dims |= 1u << d;
    layout.inner_unit_stride = kernel.rank > 0 && launch.strides[a][kernel.rank - 1] == 1;
  }
}

namespace {

std::string layout_string(const ArgLayout& l, int32_t rank) {
  std::string s;
  // The mask tracks the first 32 dims ('?' past them; a shift by 32 or more is undefined).
  for (int32_t d = 0; d < rank; ++d)
    s += d >= 32 ? '?' : (l.zero_stride_dims >> d) & 1u ? '0' : 's';
  if (l.inner_unit_stride) s += "+unit";
  return s;
}

// Exact, because the printed kernel is its cache key: constants that differ in any bit (0.1 and
// 0.1000001, 0.0 and -0.0, NaN payloads) must give different keys. Floats print as the
// shortest text that reads back to the same double, always with a '.' or exponent.
std::string constant_string(const Scalar& c) {
  if (c.is_bool()) return c.to_bool() ? "true" : "false";
  if (c.is_integral()) return absl::StrCat(c.to_int64());
  const double d = c.to_double();
  if (std::isnan(d)) {
    uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    return absl::StrCat("nan(0x", absl::Hex(bits, absl::kZeroPad16), ")");
  }
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string expr_string(const KernelExpr& e) {
  switch (e.kind) {
    case KernelExpr::Kind::kLoad:
      return absl::StrCat("load arg", e.arg);
    case KernelExpr::Kind::kConstant:
      return absl::StrCat("constant ", constant_string(e.constant));
    case KernelExpr::Kind::kOp:
      break;
  }
  std::string s = absl::StrCat(sv(op_name(e.op)), "(");
  for (size_t i = 0; i < e.operands.size(); ++i)
    absl::StrAppend(&s, i ? ", %" : "%", e.operands[i]);
  return s + ")";
}

}  // namespace

std::string to_string(const LoopKernel& k) {
  const bool reduction = k.kind == LoopKernel::Kind::kReduction;
  std::string s = reduction ? absl::StrCat("kernel reduction(", sv(op_name(k.reduce_op)), ")")
                            : std::string("kernel elementwise");
  absl::StrAppend(&s, " rank=", k.rank);
  if (reduction) absl::StrAppend(&s, " reduced=", k.reduced_dims);
  s += "\n";
  for (size_t a = 0; a < k.args.size(); ++a) {
    absl::StrAppend(&s, "  arg", a, ": ", sv(short_name(k.args[a].dtype)),
                    k.args[a].is_output ? " out" : " in");
    if (a < k.layouts.size()) absl::StrAppend(&s, " [", layout_string(k.layouts[a], k.rank), "]");
    s += "\n";
  }
  for (size_t i = 0; i < k.exprs.size(); ++i)
    absl::StrAppend(&s, "  %", i, " = ", expr_string(k.exprs[i]), " : ",
                    sv(short_name(k.exprs[i].dtype)), "\n");
  for (const auto& [arg, expr] : k.stores)
    absl::StrAppend(&s, "  store arg", arg, " <- ", reduction ? "reduce(" : "", "%", expr,
                    reduction ? ")" : "", "\n");
  return s;
}

std::string structural_key(const LoopKernel& k) {
  // The printed form names every op, dtype, constant and layout, so it identifies the kernel.
  return to_string(k);
}

}  // namespace kiln::ir
