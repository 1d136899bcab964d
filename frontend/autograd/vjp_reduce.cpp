// Gradient rules of the reductions: sum, prod, amax, amin. (argmax/argmin have integer results
// and no rule: vjp.cpp never asks.)
//
// Every rule first brings the output-shaped gradient (and result) back to the keepdim shape,
// the input's shape with 1 at each reduced dim, and broadcasts it over the input from there.
#include "kiln/frontend/autograd/apply.h"
#include "kiln/frontend/autograd/vjp_rules.h"

namespace kiln::frontend::autograd::rules {
namespace {

using ir::Op;

// (Named apart from kiln::mul & co., which argument-dependent lookup would also find.)
Tensor op2(Op op, const Tensor& a, const Tensor& b) { return apply(op, {a, b}); }
Tensor times(const Tensor& a, const Tensor& b) { return op2(Op::mul, a, b); }
Tensor over(const Tensor& a, const Tensor& b) { return op2(Op::div, a, b); }
Tensor choose(const Tensor& cond, const Tensor& a, const Tensor& b) {
  return apply(Op::where, {cond, a, b});
}

struct Reduction {
  Shape input;  // the input's shape
  Shape kept;   // the input's shape with the reduced dims set to 1
  Shape axes;
};

Reduction reduction_of(const VjpContext& ctx) {
  const Shape& input = input_shape(ctx, 0);
  const Shape& axes = std::get<ir::ReduceAttrs>(*ctx.attrs).axes;
  Shape kept = input;
  // A 0-d input may name axis 0, which reduces nothing: there is no dim to set to 1.
  for (int64_t axis : axes)
    if (axis < static_cast<int64_t>(kept.size())) kept[axis] = 1;
  return {input, kept, axes};
}

// An output-shaped tensor (keepdim or not) in the keepdim shape.
Tensor keepdim(const Tensor& t, const Reduction& r) {
  return t.sizes() == r.kept ? t : apply(Op::reshape, {t}, ir::ShapeAttrs{r.kept});
}
// An output-shaped tensor broadcast over the input.
Tensor spread(const Tensor& t, const Reduction& r) {
  const Tensor kept = keepdim(t, r);
  return kept.sizes() == r.input ? kept : apply(Op::expand, {kept}, ir::ShapeAttrs{r.input});
}
Tensor reduce_keepdim(Op op, const Tensor& t, const Reduction& r) {
  return apply(op, {t}, ir::ReduceAttrs{r.axes, true});
}

// amax/amin (torch.amax's rule): the gradient is shared evenly among the elements equal to the
// extreme, g / count at each of them. (A NaN extreme equals nothing, so the count is 0 and
// the gradient NaN, as in PyTorch.)
Tensor extreme_grad(const VjpContext& ctx, const Reduction& r) {
  const Tensor& x = ctx.inputs[0];
  const Tensor hit = cast_to(op2(Op::eq, spread(ctx.output, r), x), x.dtype());
  const Tensor count = reduce_keepdim(Op::sum, hit, r);
  return times(spread(over(keepdim(ctx.grad, r), count), r), hit);
}

// prod: d/dx_i is the product of the other elements of x_i's group. Dividing the product by
// x_i fails at zeros, so with P the group's product, Q the product of its nonzero elements,
// z its number of zeros and S the sum of its zero elements (0, but a function of them):
//   x_i != 0:          P / x_i        (0 when z >= 1)
//   x_i == 0, z == 1:  Q
//   x_i == 0, z == 2:  Q * (S - x_i)  (the other zero, times Q: 0)
//   x_i == 0, z >= 3:  0
// which is exact for any number of zeros, and, as each branch is the product of the other
// elements written as a function of them, so are its own derivatives (second order), as
// with PyTorch's rule. Divisions are by nonzero values only, so no NaN reaches the branches
// that are not taken.
Tensor prod_grad(const VjpContext& ctx, const Reduction& r) {
  const Tensor& x = ctx.inputs[0];
  const Tensor zero = constant_like(x, 0);
  const Tensor is_zero = op2(Op::eq, x, zero);
  const Tensor nonzero = choose(is_zero, constant_like(x, 1), x);
  const Tensor product =
      ctx.output.defined() ? spread(ctx.output, r) : spread(reduce_keepdim(Op::prod, x, r), r);
  const Tensor nonzero_product = spread(reduce_keepdim(Op::prod, nonzero, r), r);
  // Counted in int64: exact at any size, unlike a float16 count.
  const Tensor zeros = spread(reduce_keepdim(Op::sum, cast_to(is_zero, int64), r), r);
  const Tensor one_zero = op2(Op::eq, zeros, constant_like(zeros, 1));
  const Tensor two_zeros = op2(Op::eq, zeros, constant_like(zeros, 2));
  const Tensor zero_sum = spread(reduce_keepdim(Op::sum, choose(is_zero, x, zero), r), r);
  const Tensor other_zero = op2(Op::sub, zero_sum, x);
  const Tensor at_a_zero = choose(one_zero, nonzero_product,
                                  choose(two_zeros, times(nonzero_product, other_zero), zero));
  const Tensor others = choose(is_zero, at_a_zero, over(product, nonzero));
  return times(spread(ctx.grad, r), others);
}

}  // namespace

std::vector<Tensor> reduction(const VjpContext& ctx) {
  const Reduction r = reduction_of(ctx);
  switch (ctx.op) {
    case Op::sum:
      return {spread(ctx.grad, r)};
    case Op::prod:
      return {prod_grad(ctx, r)};
    case Op::amax:
    case Op::amin:
      return {extreme_grad(ctx, r)};
    default:
      throw Error("internal error: no reduction gradient rule for " +
                  std::string(ir::op_name(ctx.op)));
  }
}

}  // namespace kiln::frontend::autograd::rules
