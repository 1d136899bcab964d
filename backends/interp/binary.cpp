// Binary elementwise ops (arithmetic, comparisons, logical) and where.
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/backends/interp/element.h"
#include "kiln/backends/interp/kernels.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::backends::interp {
namespace {

using ir::Op;

int64_t int_div(int64_t a, int64_t b) {
  if (b == 0) throw Error("ZeroDivisionError: integer division by zero");
  // The one overflowing quotient: wrap it instead of trapping.
  if (b == -1) return wrap_sub(0, a);
  return a / b;  // C++ truncates toward zero
}

// Exponentiation by squaring in wrapping arithmetic. Negative exponents follow PyTorch:
// 1 for base 1, +-1 for base -1 by the exponent's parity, 0 for everything else.
int64_t int_pow(int64_t base, int64_t exponent) {
  if (exponent < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exponent & 1) != 0 ? -1 : 1;
    return 0;
  }
  uint64_t result = 1;
  uint64_t factor = static_cast<uint64_t>(base);
  for (uint64_t e = static_cast<uint64_t>(exponent); e != 0; e >>= 1) {
    if ((e & 1) != 0) result *= factor;
    factor *= factor;
  }
  return static_cast<int64_t>(result);
}

// Element functions over a compute type C (float, double or int64): integers wrap.
template <class C>
C add_of(C a, C b) {
  if constexpr (std::is_integral_v<C>)
    return wrap_add(a, b);
  else
    return a + b;
}
template <class C>
C sub_of(C a, C b) {
  if constexpr (std::is_integral_v<C>)
    return wrap_sub(a, b);
  else
    return a - b;
}
template <class C>
C mul_of(C a, C b) {
  if constexpr (std::is_integral_v<C>)
    return wrap_mul(a, b);
  else
    return a * b;
}
template <class C>
C div_of(C a, C b) {
  if constexpr (std::is_integral_v<C>)
    return int_div(a, b);
  else
    return a / b;  // true division: x/0 is +-inf, 0/0 NaN
}
template <class C>
C pow_of(C a, C b) {
  if constexpr (std::is_integral_v<C>)
    return int_pow(a, b);
  else
    return std::pow(a, b);
}

// NaN wins (either operand), like torch.maximum / torch.minimum.
template <class C>
C maximum_of(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (std::isnan(a)) return a;
    if (std::isnan(b)) return b;
  }
  return a < b ? b : a;
}
template <class C>
C minimum_of(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (std::isnan(a)) return a;
    if (std::isnan(b)) return b;
  }
  return b < a ? b : a;
}

// out[i] = f(a[i], b[i]) with operands of storage S and a result of storage R.
template <class S, class R, class F>
void map_binary(const Operand& a, const Operand& b, std::byte* out, F f) {
  const int64_t n = a.numel();
  for (int64_t i = 0; i < n; ++i) store<R>(out, i, f(load<S>(a.data, i), load<S>(b.data, i)));
}

template <class S>
void arithmetic(Op op, const Operand& a, const Operand& b, std::byte* out) {
  using C = compute_t<S>;
  switch (op) {
    case Op::add:
      return map_binary<S, S>(a, b, out, add_of<C>);
    case Op::sub:
      return map_binary<S, S>(a, b, out, sub_of<C>);
    case Op::mul:
      return map_binary<S, S>(a, b, out, mul_of<C>);
    case Op::div:
      return map_binary<S, S>(a, b, out, div_of<C>);
    case Op::pow:
      return map_binary<S, S>(a, b, out, pow_of<C>);
    case Op::maximum:
      return map_binary<S, S>(a, b, out, maximum_of<C>);
    case Op::minimum:
      return map_binary<S, S>(a, b, out, minimum_of<C>);
    // Comparisons of compute values are exact: float16/bfloat16 widen to float losslessly.
    case Op::eq:
      return map_binary<S, Bool8>(a, b, out, [](C x, C y) -> int64_t { return x == y; });
    case Op::ne:
      return map_binary<S, Bool8>(a, b, out, [](C x, C y) -> int64_t { return x != y; });
    case Op::lt:
      return map_binary<S, Bool8>(a, b, out, [](C x, C y) -> int64_t { return x < y; });
    case Op::le:
      return map_binary<S, Bool8>(a, b, out, [](C x, C y) -> int64_t { return x <= y; });
    case Op::gt:
      return map_binary<S, Bool8>(a, b, out, [](C x, C y) -> int64_t { return x > y; });
    case Op::ge:
      return map_binary<S, Bool8>(a, b, out, [](C x, C y) -> int64_t { return x >= y; });
    default:
      throw Error(absl::StrCat("interp: ", sv(ir::op_name(op)), " is not a binary arithmetic op"));
  }
}

// Each element's truth value (x != 0; NaN is true). The operands of logical ops may have
// different dtypes, so each is read into truth values on its own.
std::vector<bool> truth_values(const Operand& operand) {
  std::vector<bool> truth(static_cast<size_t>(operand.numel()));
  visit_dtype(operand.type->dtype, [&]<class S>(std::type_identity<S>) {
    for (size_t i = 0; i < truth.size(); ++i)
      truth[i] = load<S>(operand.data, static_cast<int64_t>(i)) != compute_t<S>(0);
  });
  return truth;
}

void logical(Op op, const Operand& a, const Operand& b, std::byte* out) {
  const std::vector<bool> x = truth_values(a);
  const std::vector<bool> y = truth_values(b);
  const bool is_and = op == Op::logical_and;
  for (size_t i = 0; i < x.size(); ++i)
    store<Bool8>(out, static_cast<int64_t>(i), is_and ? (x[i] && y[i]) : (x[i] || y[i]));
}

}  // namespace

void eval_binary(const ir::Node& node, Operands in, std::byte* out) {
  if (node.op == Op::logical_and || node.op == Op::logical_or)
    return logical(node.op, in[0], in[1], out);
  visit_dtype(in[0].type->dtype,
              [&]<class S>(std::type_identity<S>) { arithmetic<S>(node.op, in[0], in[1], out); });
}

void eval_where(const ir::Node& node, Operands in, std::byte* out) {
  const Operand &cond = in[0], &a = in[1], &b = in[2];
  const size_t size = itemsize(node.type.dtype);
  const int64_t n = cond.numel();
  for (int64_t i = 0; i < n; ++i) {
    const std::byte* chosen = load<Bool8>(cond.data, i) != 0 ? a.data : b.data;
    copy_bytes(out + static_cast<size_t>(i) * size, chosen + static_cast<size_t>(i) * size, size);
  }
}

}  // namespace kiln::backends::interp
