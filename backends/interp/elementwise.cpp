// Constants, casts and unary elementwise ops.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "kiln/backends/interp/element.h"
#include "kiln/backends/interp/kernels.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::backends::interp {
namespace {

using ir::Op;

// Converts a compute value of a source dtype into storage type D with cast semantics.
template <class D, class C>
void store_converted(std::byte* out, int64_t i, C v) {
  if constexpr (std::is_same_v<D, Bool8>) {
    store<D>(out, i, v != 0 ? 1 : 0);  // truthiness: 0.5 and NaN are true
  } else {
    store<D>(out, i, convert<compute_t<D>>(v));
  }
}

template <class S, class F>
void map_unary(const Operand& in, std::byte* out, F f) {
  const int64_t n = in.numel();
  for (int64_t i = 0; i < n; ++i) store<S>(out, i, f(load<S>(in.data, i)));
}

// Element functions over a compute type C (float, double or int64). Integer negation wraps
// (-INT64_MIN is INT64_MIN); the rounding ops are the identity on integers.
template <class C>
C negate(C x) {
  if constexpr (std::is_integral_v<C>)
    return wrap_sub(0, x);
  else
    return -x;
}
template <class C>
C absolute(C x) {
  if constexpr (std::is_integral_v<C>)
    return x < 0 ? wrap_sub(0, x) : x;
  else
    return std::fabs(x);
}
template <class C>
C sign_of(C x) {
  // PyTorch's (0 < x) - (x < 0): NaN and -0.0 give 0.
  return static_cast<C>((C(0) < x) - (x < C(0)));
}
template <class C>
C relu_of(C x) {
  // x < 0 is false for NaN, so NaN passes through like PyTorch's clamp_min(x, 0).
  return x < C(0) ? C(0) : x;
}
template <class C>
C floor_of(C x) {
  if constexpr (std::is_integral_v<C>)
    return x;
  else
    return std::floor(x);
}
template <class C>
C ceil_of(C x) {
  if constexpr (std::is_integral_v<C>)
    return x;
  else
    return std::ceil(x);
}
template <class C>
C round_of(C x) {
  // nearbyint in the default rounding mode: half to even, like torch.round.
  if constexpr (std::is_integral_v<C>)
    return x;
  else
    return std::nearbyint(x);
}
template <class C>
C trunc_of(C x) {
  if constexpr (std::is_integral_v<C>)
    return x;
  else
    return std::trunc(x);
}

[[noreturn]] void not_unary(Op op) {
  throw Error(absl::StrCat("interp: ", sv(ir::op_name(op)), " is not a unary op"));
}

// Ops defined only on floating operands (infer_type rejects integer ones).
template <class S, class F>
void map_floating(Op op, const Operand& in, std::byte* out, F f) {
  if constexpr (is_floating_storage<S>) {
    map_unary<S>(in, out, f);
  } else {
    throw Error(absl::StrCat("interp: ", sv(ir::op_name(op)), " expects a floating operand"));
  }
}

template <class S>
void unary(Op op, const Operand& in, std::byte* out) {
  using C = compute_t<S>;
  switch (op) {
    case Op::neg:
      return map_unary<S>(in, out, negate<C>);
    case Op::abs:
      return map_unary<S>(in, out, absolute<C>);
    case Op::sign:
      return map_unary<S>(in, out, sign_of<C>);
    case Op::relu:
      return map_unary<S>(in, out, relu_of<C>);
    case Op::sqrt:
      return map_floating<S>(op, in, out, [](auto x) { return std::sqrt(x); });
    case Op::rsqrt:
      return map_floating<S>(op, in, out, [](auto x) { return decltype(x)(1) / std::sqrt(x); });
    case Op::reciprocal:
      return map_floating<S>(op, in, out, [](auto x) { return decltype(x)(1) / x; });
    case Op::exp:
      return map_floating<S>(op, in, out, [](auto x) { return std::exp(x); });
    case Op::expm1:
      return map_floating<S>(op, in, out, [](auto x) { return std::expm1(x); });
    case Op::log:
      return map_floating<S>(op, in, out, [](auto x) { return std::log(x); });
    case Op::log2:
      return map_floating<S>(op, in, out, [](auto x) { return std::log2(x); });
    case Op::log10:
      return map_floating<S>(op, in, out, [](auto x) { return std::log10(x); });
    case Op::log1p:
      return map_floating<S>(op, in, out, [](auto x) { return std::log1p(x); });
    case Op::sin:
      return map_floating<S>(op, in, out, [](auto x) { return std::sin(x); });
    case Op::cos:
      return map_floating<S>(op, in, out, [](auto x) { return std::cos(x); });
    case Op::tan:
      return map_floating<S>(op, in, out, [](auto x) { return std::tan(x); });
    case Op::tanh:
      return map_floating<S>(op, in, out, [](auto x) { return std::tanh(x); });
    case Op::sigmoid:
      return map_floating<S>(op, in, out, [](auto x) {
        using F = decltype(x);
        return F(1) / (F(1) + std::exp(-x));
      });
    case Op::erf:
      return map_floating<S>(op, in, out, [](auto x) { return std::erf(x); });
    case Op::floor:
      return map_unary<S>(in, out, floor_of<C>);
    case Op::ceil:
      return map_unary<S>(in, out, ceil_of<C>);
    case Op::round:
      return map_unary<S>(in, out, round_of<C>);
    case Op::trunc:
      return map_unary<S>(in, out, trunc_of<C>);
    case Op::logical_not: {
      const int64_t n = in.numel();
      for (int64_t i = 0; i < n; ++i) store<Bool8>(out, i, load<S>(in.data, i) == C(0) ? 1 : 0);
      return;
    }
    default:
      not_unary(op);
  }
}

}  // namespace

void eval_constant(const ir::Node& node, std::byte* out) {
  const Scalar& value = std::get<ir::ConstantAttrs>(node.attrs).value;
  const int64_t n = numel(node.type.shape);
  visit_dtype(node.type.dtype, [&]<class D>(std::type_identity<D>) {
    for (int64_t i = 0; i < n; ++i) {
      // A Python float converts like a float64 value, an int like an int64 one, bool as 0/1.
      if (value.is_floating_point()) {
        store_converted<D>(out, i, value.to_double());
      } else {
        store_converted<D>(out, i, value.to_int64());
      }
    }
  });
}

void eval_cast(const ir::Node& node, Operands in, std::byte* out) {
  const Operand& src = in[0];
  const int64_t n = src.numel();
  visit_dtype(src.type->dtype, [&]<class S>(std::type_identity<S>) {
    visit_dtype(node.type.dtype, [&]<class D>(std::type_identity<D>) {
      for (int64_t i = 0; i < n; ++i) store_converted<D>(out, i, load<S>(src.data, i));
    });
  });
}

void eval_unary(const ir::Node& node, Operands in, std::byte* out) {
  visit_dtype(in[0].type->dtype,
              [&]<class S>(std::type_identity<S>) { unary<S>(node.op, in[0], out); });
}

}  // namespace kiln::backends::interp
