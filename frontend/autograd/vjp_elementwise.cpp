// Gradient rules of the elementwise ops: unary math, binary arithmetic, where and cast.
//
// The formulas are PyTorch's (derivatives.yaml / FunctionsManual.cpp) so that gradients agree
// with torch.autograd, including its choices at the non-differentiable points (relu at 0,
// maximum on ties, pow at a zero base). Where PyTorch writes a rule in terms of the result,
// so do we: it is already computed, and the gradient graph then reuses it.
#include <numbers>
#include <optional>

#include "kiln/frontend/autograd/apply.h"
#include "kiln/frontend/autograd/vjp_rules.h"
#include "kiln/frontend/tensor_impl.h"

namespace kiln::frontend::autograd::rules {
namespace {

using ir::Op;

// IR ops on equal shapes and dtypes. (Named apart from kiln::add & co., which argument-
// dependent lookup would otherwise make ambiguous.)
Tensor op1(Op op, const Tensor& a) { return apply(op, {a}); }
Tensor op2(Op op, const Tensor& a, const Tensor& b) { return apply(op, {a, b}); }
Tensor plus(const Tensor& a, const Tensor& b) { return op2(Op::add, a, b); }
Tensor minus(const Tensor& a, const Tensor& b) { return op2(Op::sub, a, b); }
Tensor times(const Tensor& a, const Tensor& b) { return op2(Op::mul, a, b); }
Tensor over(const Tensor& a, const Tensor& b) { return op2(Op::div, a, b); }
Tensor negate(const Tensor& a) { return op1(Op::neg, a); }
Tensor choose(const Tensor& cond, const Tensor& a, const Tensor& b) {
  return apply(Op::where, {cond, a, b});
}
// The value of a tensor that is one constant broadcast (a scalar operand: x.pow(2)).
std::optional<Scalar> splat_value(const Tensor& t) {
  const TensorImpl& ti = impl_of(t);
  if (!ti.covers_storage()) return std::nullopt;
  const LazyNode* node = ti.storage->value.get();
  while (!node->realized() && (node->op == Op::reshape || node->op == Op::expand))
    node = node->inputs[0].get();
  if (node->realized() || node->op != Op::constant) return std::nullopt;
  return std::get<ir::ConstantAttrs>(node->attrs).value;
}

// `value` in like's shape and dtype.
Tensor filled(const Tensor& like, double value) { return constant_like(like, value); }
Tensor zero(const Tensor& like) { return constant_like(like, 0); }

// d(op(x))/dx * g, given the input x and the result r.
Tensor unary_grad(Op op, const Tensor& g, const Tensor& x, const Tensor& r) {
  switch (op) {
    case Op::neg:
      return negate(g);
    case Op::abs:
      // sign(0) = 0: the zero subgradient at the kink, as PyTorch.
      return times(g, op1(Op::sign, x));
    case Op::relu:
      // PyTorch's threshold_backward on the result: nothing passes where the result is <= 0
      // (so not at 0 either), a NaN result passes the gradient.
      return choose(op2(Op::le, r, zero(r)), zero(g), g);
    case Op::sqrt:
      return over(g, times(r, filled(r, 2)));
    case Op::rsqrt:
      return times(times(g, filled(g, -0.5)), times(r, times(r, r)));
    case Op::reciprocal:
      return negate(times(g, times(r, r)));
    case Op::exp:
      return times(g, r);
    case Op::expm1:
      return times(g, plus(r, filled(r, 1)));
    case Op::log:
      return over(g, x);
    case Op::log2:
      return over(g, times(x, filled(x, std::numbers::ln2)));
    case Op::log10:
      return over(g, times(x, filled(x, std::numbers::ln10)));
    case Op::log1p:
      return over(g, plus(x, filled(x, 1)));
    case Op::sin:
      return times(g, op1(Op::cos, x));
    case Op::cos:
      return times(g, negate(op1(Op::sin, x)));
    case Op::tan:
      return times(g, plus(filled(r, 1), times(r, r)));
    case Op::tanh:
      return times(g, minus(filled(r, 1), times(r, r)));
    case Op::sigmoid:
      return times(g, times(minus(filled(r, 1), r), r));
    case Op::erf:
      // 2/sqrt(pi) * exp(-x^2)
      return times(times(g, filled(g, 2 * std::numbers::inv_sqrtpi)),
                   op1(Op::exp, negate(times(x, x))));
    default:
      throw Error("internal error: no unary gradient rule for " + std::string(ir::op_name(op)));
  }
}

// Gradients of maximum/minimum (PyTorch): the gradient goes to the larger (smaller) operand
// and is split in half on ties. `loses_a` is where a is not selected.
std::vector<Tensor> select_grads(const VjpContext& ctx, Op loses_a, Op loses_b) {
  const Tensor &a = ctx.inputs[0], &b = ctx.inputs[1], &g = ctx.grad;
  const Tensor shared = choose(op2(Op::eq, a, b), times(g, filled(g, 0.5)), g);
  std::vector<Tensor> grads(2);
  if (ctx.needs[0]) grads[0] = choose(op2(loses_a, a, b), zero(g), shared);
  if (ctx.needs[1]) grads[1] = choose(op2(loses_b, a, b), zero(g), shared);
  return grads;
}

std::vector<Tensor> binary_grads(const VjpContext& ctx) {
  const Tensor &a = ctx.inputs[0], &b = ctx.inputs[1], &g = ctx.grad, &r = ctx.output;
  std::vector<Tensor> grads(2);
  switch (ctx.op) {
    case Op::add:
      return {ctx.needs[0] ? g : Tensor(), ctx.needs[1] ? g : Tensor()};
    case Op::sub:
      return {ctx.needs[0] ? g : Tensor(), ctx.needs[1] ? negate(g) : Tensor()};
    case Op::mul:
      if (ctx.needs[0]) grads[0] = times(g, b);
      if (ctx.needs[1]) grads[1] = times(g, a);
      return grads;
    case Op::div:
      if (ctx.needs[0]) grads[0] = over(g, b);
      // -g * (a / b) / b, with the result standing for a / b.
      if (ctx.needs[1]) grads[1] = negate(times(g, over(r, b)));
      return grads;
    case Op::pow:
      // d/da = b * a^(b-1), defined as 0 where b == 0 (a^0 is constant 1, even at a == 0).
      // A nonzero scalar exponent needs no select: PyTorch's pow_backward for a Scalar, with
      // b - 1 computed in double as there.
      if (const std::optional<Scalar> c = splat_value(b);
          ctx.needs[0] && c && c->to_double() != 0) {
        grads[0] = times(g, times(b, op2(Op::pow, a, filled(b, c->to_double() - 1))));
      } else if (ctx.needs[0]) {
        const Tensor slope = times(b, op2(Op::pow, a, minus(b, filled(b, 1))));
        grads[0] = choose(op2(Op::eq, b, zero(b)), zero(g), times(g, slope));
      }
      // d/db = a^b * log(a), defined as 0 where a == 0 and b >= 0, where the formula would
      // be 0 * -inf = NaN (b > 0) or 1 * -inf (b == 0).
      if (ctx.needs[1]) {
        const Tensor at_zero =
            op2(Op::logical_and, op2(Op::eq, a, zero(a)), op2(Op::ge, b, zero(b)));
        grads[1] = times(g, choose(at_zero, zero(r), times(r, op1(Op::log, a))));
      }
      return grads;
    case Op::maximum:
      return select_grads(ctx, Op::lt, Op::gt);
    case Op::minimum:
      return select_grads(ctx, Op::gt, Op::lt);
    default:
      throw Error("internal error: no binary gradient rule for " +
                  std::string(ir::op_name(ctx.op)));
  }
}

}  // namespace

std::vector<Tensor> elementwise(const VjpContext& ctx) {
  const Tensor& g = ctx.grad;
  switch (ctx.op) {
    case Op::where: {
      // where(cond, a, b): the condition is bool and gets nothing (needs[0] is false).
      const Tensor& cond = ctx.inputs[0];
      std::vector<Tensor> grads(3);
      if (ctx.needs[1]) grads[1] = choose(cond, g, zero(g));
      if (ctx.needs[2]) grads[2] = choose(cond, zero(g), g);
      return grads;
    }
    case Op::cast:
      // Back to the input's dtype (vjp() only asks when both sides are floating).
      return {cast_to(g, input_dtype(ctx, 0))};
    case Op::add:
    case Op::sub:
    case Op::mul:
    case Op::div:
    case Op::pow:
    case Op::maximum:
    case Op::minimum:
      return binary_grads(ctx);
    default:
      return {unary_grad(ctx.op, g, ctx.inputs[0], ctx.output)};
  }
}

}  // namespace kiln::frontend::autograd::rules
