// Elementwise math: promotion, broadcasting, scalar operands, in-place variants.
#include "kiln/frontend/elementwise.h"

#include "absl/strings/str_cat.h"
#include "kiln/frontend/checks.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/grad_api.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::frontend {
namespace {

bool is_arithmetic(ir::Op op) {
  return op == ir::Op::add || op == ir::Op::sub || op == ir::Op::mul || op == ir::Op::div ||
         op == ir::Op::pow || op == ir::Op::maximum || op == ir::Op::minimum;
}

bool is_bool_operand(const Operand& x) {
  return x.is_tensor() ? x.tensor().dtype() == boolean : x.scalar().is_bool();
}

// PyTorch refuses `-` when either operand is bool (a tensor or a Python bool).
void check_sub_operands(const Operand& a, const Operand& b) {
  if (is_bool_operand(a) && is_bool_operand(b))
    throw Error(
        "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
        "`logical_xor()` operator instead.");
  if (is_bool_operand(a) || is_bool_operand(b))
    throw Error(
        "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
        "to invert a mask, use the `~` or `logical_not()` operator instead.");
}

// The dtype the op computes in, from torch.result_type plus the op's own rules.
DType compute_dtype(ir::Op op, const Operand& a, const Operand& b) {
  DType d = !a.is_tensor()  ? result_type(b.tensor(), a.scalar())
            : b.is_tensor() ? result_type(a.tensor(), b.tensor())
                            : result_type(a.tensor(), b.scalar());
  if (op == ir::Op::div && !is_floating_point(d)) d = float32;  // true division
  if (op == ir::Op::sub) check_sub_operands(a, b);
  if (op == ir::Op::pow && is_integral(d, true) && !b.is_tensor() && b.scalar().is_integral() &&
      b.scalar().to_int64() < 0)
    throw Error("Integers to negative integer powers are not allowed.");
  return d;
}

const Shape& operand_shape(const Operand& x) {
  static const Shape kScalar;
  return x.is_tensor() ? x.tensor().sizes() : kScalar;
}

LazyPtr operand_value(const Operand& x, DType dtype, const Shape& shape, Device device) {
  if (!x.is_tensor()) return full_node(x.scalar(), dtype, shape, device);
  return broadcast_to(cast(read(x.tensor()), dtype), shape);
}

// The device the op runs on: its tensors', where a CPU 0-d tensor counts as a scalar.
Device operand_device(const Operand& a, const Operand& b) {
  if (!a.is_tensor()) return b.tensor().device();
  if (!b.is_tensor()) return a.tensor().device();
  return op_device({&a.tensor(), &b.tensor()});
}

}  // namespace

BinaryResult binary_value(ir::Op op, const Operand& a_in, const Operand& b_in) {
  const Device device = operand_device(a_in, b_in);
  // CPU 0-d tensors moved to the op's device; the operands point at these.
  Tensor moved_a, moved_b;
  auto on_device = [&](const Operand& x, Tensor& moved) -> Operand {
    if (!x.is_tensor() || x.tensor().device() == device) return x;
    moved = cpu_scalar_to(x.tensor(), device);
    return Operand(moved);
  };
  const Operand a = on_device(a_in, moved_a), b = on_device(b_in, moved_b);
  if (a.is_tensor() && b.is_tensor()) check_same_device(a.tensor(), b.tensor());
  const DType dtype = compute_dtype(op, a, b);
  const Shape shape = broadcast_shapes(operand_shape(a), operand_shape(b));
  LazyPtr value = make_node(
      op, {operand_value(a, dtype, shape, device), operand_value(b, dtype, shape, device)});
  return {value, value->type.dtype};
}

Tensor binary(ir::Op op, const Operand& a, const Operand& b) {
  return make_tensor(binary_value(op, a, b).value);
}

void binary_inplace(ir::Op op, const Tensor& a, const Operand& b) {
  check_no_internal_overlap(a);
  if (b.is_tensor()) {
    check_no_partial_overlap(a, b.tensor());
    // The result stays in `a`: only a CPU 0-d operand may come from another device.
    if (!(b.tensor().device().is_cpu() && b.tensor().dim() == 0)) check_same_device(a, b.tensor());
  }
  BinaryResult r = binary_value(op, a, b);
  if (is_arithmetic(op)) check_inplace_cast(r.dtype, a.dtype());
  if (r.value->type.shape != a.sizes())
    throw Error(absl::StrCat("output with shape ", shape_to_string(a.sizes()),
                             " doesn't match the broadcast shape ",
                             shape_to_string(r.value->type.shape)));
  write(a, cast(r.value, a.dtype()));
}

Tensor unary(ir::Op op, const Tensor& a) {
  LazyPtr x = read(a);
  if (ir::has_trait(op, ir::kFloatOnly) && !is_floating_point(a.dtype())) x = cast(x, float32);
  if (op == ir::Op::neg && a.dtype() == boolean)
    throw Error(
        "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
        "invert a mask, use the `~` or `logical_not()` operator instead.");
  return make_tensor(make_node(op, {x}));
}

}  // namespace kiln::frontend

namespace kiln {

using frontend::binary;
using frontend::binary_inplace;
using frontend::unary;
using ir::Op;

// ---- binary methods, free functions and operators ----
#define KILN_BINARY(name, op)                                                             \
  Tensor Tensor::name(const Tensor& other) const { return binary(Op::op, *this, other); } \
  Tensor Tensor::name(Scalar other) const { return binary(Op::op, *this, other); }        \
  Tensor name(const Tensor& a, const Tensor& b) { return binary(Op::op, a, b); }
KILN_BINARY(add, add)
KILN_BINARY(sub, sub)
KILN_BINARY(mul, mul)
KILN_BINARY(div, div)
#undef KILN_BINARY
Tensor add(const Tensor& a, Scalar b) { return binary(Op::add, a, b); }
Tensor sub(const Tensor& a, Scalar b) { return binary(Op::sub, a, b); }
Tensor mul(const Tensor& a, Scalar b) { return binary(Op::mul, a, b); }
Tensor div(const Tensor& a, Scalar b) { return binary(Op::div, a, b); }

Tensor Tensor::pow(const Tensor& exponent) const { return binary(Op::pow, *this, exponent); }
Tensor Tensor::pow(Scalar exponent) const { return binary(Op::pow, *this, exponent); }
Tensor pow(const Tensor& a, const Tensor& exponent) { return binary(Op::pow, a, exponent); }
Tensor pow(const Tensor& a, Scalar exponent) { return binary(Op::pow, a, exponent); }
Tensor pow(Scalar base, const Tensor& exponent) { return binary(Op::pow, base, exponent); }
Tensor Tensor::maximum(const Tensor& other) const { return binary(Op::maximum, *this, other); }
Tensor Tensor::minimum(const Tensor& other) const { return binary(Op::minimum, *this, other); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(Op::maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(Op::minimum, a, b); }

#define KILN_COMPARISON(name, symbol)                                                         \
  Tensor Tensor::name(const Tensor& other) const { return binary(Op::name, *this, other); }   \
  Tensor Tensor::name(Scalar other) const { return binary(Op::name, *this, other); }          \
  Tensor name(const Tensor& a, const Tensor& b) { return binary(Op::name, a, b); }            \
  Tensor operator symbol(const Tensor& a, const Tensor& b) { return binary(Op::name, a, b); } \
  Tensor operator symbol(const Tensor& a, Scalar b) { return binary(Op::name, a, b); }
KILN_COMPARISON(eq, ==)
KILN_COMPARISON(ne, !=)
KILN_COMPARISON(lt, <)
KILN_COMPARISON(le, <=)
KILN_COMPARISON(gt, >)
KILN_COMPARISON(ge, >=)
#undef KILN_COMPARISON

#define KILN_ARITHMETIC_OPERATOR(symbol, op)                                                \
  Tensor operator symbol(const Tensor& a, const Tensor& b) { return binary(Op::op, a, b); } \
  Tensor operator symbol(const Tensor& a, Scalar b) { return binary(Op::op, a, b); }        \
  Tensor operator symbol(Scalar a, const Tensor& b) { return binary(Op::op, a, b); }
KILN_ARITHMETIC_OPERATOR(+, add)
KILN_ARITHMETIC_OPERATOR(-, sub)
KILN_ARITHMETIC_OPERATOR(*, mul)
KILN_ARITHMETIC_OPERATOR(/, div)
#undef KILN_ARITHMETIC_OPERATOR

Tensor operator-(const Tensor& a) { return a.neg(); }
Tensor operator!(const Tensor& a) { return a.logical_not(); }
Tensor operator~(const Tensor& a) {
  if (a.dtype() != boolean)
    throw Error("operator~: bitwise not is only supported on bool tensors (logical not), got " +
                std::string(name(a.dtype())));
  return a.logical_not();
}

// ---- unary ----
#define KILN_UNARY(name) \
  Tensor Tensor::name() const { return unary(Op::name, *this); }
KILN_UNARY(neg)
KILN_UNARY(abs)
KILN_UNARY(sign)
KILN_UNARY(sqrt)
KILN_UNARY(rsqrt)
KILN_UNARY(reciprocal)
KILN_UNARY(exp)
KILN_UNARY(expm1)
KILN_UNARY(log)
KILN_UNARY(log2)
KILN_UNARY(log10)
KILN_UNARY(log1p)
KILN_UNARY(sin)
KILN_UNARY(cos)
KILN_UNARY(tan)
KILN_UNARY(tanh)
KILN_UNARY(sigmoid)
KILN_UNARY(relu)
KILN_UNARY(erf)
KILN_UNARY(floor)
KILN_UNARY(ceil)
KILN_UNARY(round)
KILN_UNARY(trunc)
KILN_UNARY(logical_not)
#undef KILN_UNARY

Tensor Tensor::logical_and(const Tensor& other) const {
  return binary(Op::logical_and, *this, other);
}
Tensor Tensor::logical_or(const Tensor& other) const {
  return binary(Op::logical_or, *this, other);
}

Tensor Tensor::square() const { return mul(*this); }

Tensor Tensor::clamp(std::optional<Scalar> min, std::optional<Scalar> max) const {
  if (!min && !max) throw Error("clamp: At least one of 'min' or 'max' must not be None");
  Tensor out = *this;
  if (requires_grad() && is_grad_enabled() && is_floating_point()) {
    // With history: selects, so that a value at a bound keeps its whole gradient (as in
    // PyTorch, whose clamp passes the gradient for min <= x <= max); maximum/minimum would
    // split it at a tie. The values are the same: NaN stays NaN, a bound is taken only
    // strictly beyond it.
    if (min) out = where(out.lt(*min), full_like(out, *min), out);
    if (max) out = where(out.gt(*max), full_like(out, *max), out);
    return out;
  }
  if (min) out = frontend::binary(Op::maximum, out, *min);
  if (max) out = frontend::binary(Op::minimum, out, *max);
  return out;
}

#define KILN_FREE_UNARY(name) \
  Tensor name(const Tensor& t) { return t.name(); }
KILN_FREE_UNARY(neg)
KILN_FREE_UNARY(abs)
KILN_FREE_UNARY(sqrt)
KILN_FREE_UNARY(exp)
KILN_FREE_UNARY(log)
KILN_FREE_UNARY(log2)
KILN_FREE_UNARY(log10)
KILN_FREE_UNARY(sin)
KILN_FREE_UNARY(cos)
KILN_FREE_UNARY(tanh)
KILN_FREE_UNARY(sigmoid)
KILN_FREE_UNARY(relu)
#undef KILN_FREE_UNARY

// ---- in-place ----
#define KILN_INPLACE(name, op)                            \
  const Tensor& Tensor::name(const Tensor& other) const { \
    binary_inplace(Op::op, *this, other);                 \
    return *this;                                         \
  }                                                       \
  const Tensor& Tensor::name(Scalar other) const {        \
    binary_inplace(Op::op, *this, other);                 \
    return *this;                                         \
  }
KILN_INPLACE(add_, add)
KILN_INPLACE(sub_, sub)
KILN_INPLACE(mul_, mul)
KILN_INPLACE(div_, div)
KILN_INPLACE(pow_, pow)
#undef KILN_INPLACE

const Tensor& Tensor::neg_() const {
  frontend::check_no_internal_overlap(*this);
  frontend::write(*this, frontend::read(neg()));
  return *this;
}

// PyTorch allows fill_ (and zero_) on expanded views: every alias gets the same value.
const Tensor& Tensor::fill_(Scalar value) const {
  frontend::write(*this, frontend::full_node(value, dtype(), sizes(), device()));
  return *this;
}

const Tensor& Tensor::zero_() const { return fill_(0); }

// As PyTorch's copy_, across devices too (through a transfer, which autograd follows).
const Tensor& Tensor::copy_(const Tensor& src_in) const {
  const Tensor src = src_in.device() == device() ? src_in : src_in.to(device());
  const Shape shape = frontend::broadcast_shapes(sizes(), src.sizes());
  if (shape != sizes())
    throw Error(absl::StrCat("output with shape ", shape_to_string(sizes()),
                             " doesn't match the broadcast shape ", shape_to_string(shape)));
  frontend::check_no_internal_overlap(*this);
  frontend::check_no_partial_overlap(*this, src);
  frontend::write(*this,
                  frontend::broadcast_to(frontend::cast(frontend::read(src), dtype()), sizes()));
  return *this;
}

Tensor where(const Tensor& condition_in, const Tensor& a_in, const Tensor& b_in) {
  if (condition_in.dtype() != boolean && condition_in.dtype() != uint8)
    throw Error(absl::StrCat(
        "where expected condition to be a boolean tensor, but got a tensor with dtype ",
        frontend::torch_type_name(condition_in.dtype())));
  const Device device = frontend::op_device({&condition_in, &a_in, &b_in});
  const Tensor condition = frontend::cpu_scalar_to(condition_in, device);
  const Tensor a = frontend::cpu_scalar_to(a_in, device), b = frontend::cpu_scalar_to(b_in, device);
  frontend::check_same_device(condition, a);
  frontend::check_same_device(a, b);
  const DType dtype = frontend::result_type(a, b);
  const Shape shape = frontend::broadcast_shapes(condition.sizes(),
                                                 frontend::broadcast_shapes(a.sizes(), b.sizes()));
  using frontend::broadcast_to;
  using frontend::cast;
  using frontend::read;
  return frontend::make_tensor(frontend::make_node(
      Op::where,
      {broadcast_to(cast(read(condition), boolean), shape),
       broadcast_to(cast(read(a), dtype), shape), broadcast_to(cast(read(b), dtype), shape)}));
}
// Scalars become 0-d tensors on the condition's device.
Tensor where(const Tensor& condition, const Tensor& a, Scalar b) {
  return where(condition, a,
               full({}, b, {.dtype = frontend::result_type(a, b), .device = condition.device()}));
}
Tensor where(const Tensor& condition, Scalar a, const Tensor& b) {
  return where(condition,
               full({}, a, {.dtype = frontend::result_type(b, a), .device = condition.device()}),
               b);
}
Tensor where(const Tensor& condition, Scalar a, Scalar b) {
  return where(condition, full({}, a, {.device = condition.device()}),
               full({}, b, {.device = condition.device()}));
}

}  // namespace kiln
