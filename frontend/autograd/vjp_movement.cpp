// Gradient rules of the ops that move elements: the views (reshape, permute, expand, slice,
// as_strided, cat), the writes (as_strided_scatter, index_put), the gather (index) and matmul.
//
// A view's gradient puts each output gradient back where the element came from, adding up
// where one input element fed several outputs (expand, overlapping as_strided windows,
// repeated indices). A write's gradient splits g into what was overwritten (the source's) and
// what survived (the base's).
#include <algorithm>
#include <utility>

#include "kiln/frontend/autograd/apply.h"
#include "kiln/frontend/autograd/vjp_rules.h"
#include "kiln/frontend/creation.h"

namespace kiln::frontend::autograd::rules {
namespace {

using ir::Op;

Tensor zero(const Tensor& like) { return constant_like(like, 0); }
Tensor reshaped(const Tensor& t, const Shape& shape) {
  return t.sizes() == shape ? t : apply(Op::reshape, {t}, ir::ShapeAttrs{shape});
}
// The row-major ids 0..numel-1 of the elements of `shape`, as an int64 tensor of that shape.
Tensor element_ids(const Shape& shape, Device device) {
  Tensor ids = arange(numel(shape), int64);
  if (device != cpu) ids = ids.to(device);
  return reshaped(ids, shape);
}

// False when the window provably reads each element at most once: sorted by stride, every
// dim must step past everything the smaller-strided dims reach. (Conservative: a window it
// calls overlapping may still be disjoint, which only costs the general rule.)
bool may_overlap(const ir::StridedAttrs& w) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size) of the dims of size > 1
  for (size_t d = 0; d < w.sizes.size(); ++d) {
    if (w.sizes[d] == 0) return false;  // an empty window reads nothing
    if (w.sizes[d] > 1) dims.emplace_back(w.strides[d], w.sizes[d]);
  }
  std::sort(dims.begin(), dims.end());
  int64_t reach = 0;  // the largest offset the dims so far reach (no overflow: the window fits)
  for (const auto& [stride, size] : dims) {
    if (stride <= reach) return true;
    reach += (size - 1) * stride;
  }
  return false;
}

// as_strided: each output gradient goes back to the element it read. A disjoint window is a
// plain scatter; an overlapping one reads some elements several times, so their gradients are
// accumulated: index_put(accumulate) over the flat input at the ids the window read.
Tensor as_strided_grad(const Tensor& x, const Tensor& g, const ir::StridedAttrs& w) {
  if (!may_overlap(w)) return apply(Op::as_strided_scatter, {zero(x), g}, w);
  const Shape flat{x.numel()};
  const Tensor read_ids = apply(Op::as_strided, {element_ids(flat, x.device())}, w);
  const Tensor flat_zero = zeros(flat, Options{.dtype = x.dtype(), .device = x.device()});
  const Tensor summed =
      apply(Op::index_put, {flat_zero, g, read_ids}, ir::IndexPutAttrs{0, /*accumulate=*/true});
  return reshaped(summed, x.sizes());
}

// as_strided_scatter(base, src): the base keeps g outside the window; src gets the window of
// g. Where window positions overlap, the forward keeps the last one (row-major) and the others
// were overwritten: they get nothing. The last writer of each element is found with the same
// scatter, of the window positions' ids, so it agrees with whatever order the backend keeps.
// (PyTorch's rule assumes a disjoint window here.)
std::vector<Tensor> as_strided_scatter_grads(const VjpContext& ctx) {
  const Tensor &base = ctx.inputs[0], &src = ctx.inputs[1], &g = ctx.grad;
  const auto& w = std::get<ir::StridedAttrs>(*ctx.attrs);
  std::vector<Tensor> grads(2);
  if (ctx.needs[0]) grads[0] = apply(Op::as_strided_scatter, {g, zero(src)}, w);
  if (ctx.needs[1]) {
    Tensor window = apply(Op::as_strided, {g}, w);
    if (may_overlap(w)) {
      const Tensor ids = element_ids(w.sizes, g.device());
      const Tensor none = full(base.sizes(), -1, Options{.dtype = int64, .device = g.device()});
      const Tensor writer = apply(Op::as_strided_scatter, {none, ids}, w);
      const Tensor kept = apply(Op::eq, {apply(Op::as_strided, {writer}, w), ids});
      window = apply(Op::where, {kept, window, zero(window)});
    }
    grads[1] = window;
  }
  return grads;
}

// slice: g written back into zeros through the window the slice read.
Tensor slice_grad(const Tensor& x, const Tensor& g, const ir::SliceAttrs& s) {
  Shape strides = contiguous_strides(x.sizes());
  const size_t dim = static_cast<size_t>(s.dim);
  const int64_t offset = s.start * strides[dim];
  strides[dim] *= s.step;
  return apply(Op::as_strided_scatter, {zero(x), g}, ir::StridedAttrs{g.sizes(), strides, offset});
}

std::vector<Tensor> cat_grads(const VjpContext& ctx) {
  const int64_t dim = std::get<ir::AxisAttrs>(*ctx.attrs).dim;
  std::vector<Tensor> grads(ctx.inputs.size());
  int64_t start = 0;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    const int64_t stop = start + ctx.inputs[i].size(dim);
    if (ctx.needs[i])
      grads[i] = ctx.inputs[i].sizes() == ctx.grad.sizes()
                     ? ctx.grad
                     : apply(Op::slice, {ctx.grad}, ir::SliceAttrs{dim, start, stop, 1});
    start = stop;
  }
  return grads;
}

// index(src, idx...): the gather's gradient is the scatter-add of g into zeros, so an element
// picked several times gets the sum. The index tensors get nothing (int64).
std::vector<Tensor> index_grads(const VjpContext& ctx) {
  std::vector<Tensor> grads(ctx.inputs.size());
  if (!ctx.needs[0]) return grads;
  std::vector<Tensor> operands{zero(ctx.inputs[0]), ctx.grad};
  operands.insert(operands.end(), ctx.inputs.begin() + 1, ctx.inputs.end());
  const int64_t dim = std::get<ir::AxisAttrs>(*ctx.attrs).dim;
  grads[0] = apply(Op::index_put, operands, ir::IndexPutAttrs{dim, /*accumulate=*/true});
  return grads;
}

// index_put(base, values, idx...): accumulating, both pass g through (values gathered at their
// places); overwriting, the base loses g at the written places. As in PyTorch, every value
// written to a repeated place gets that place's gradient, though only one write survived.
std::vector<Tensor> index_put_grads(const VjpContext& ctx) {
  const auto& attrs = std::get<ir::IndexPutAttrs>(*ctx.attrs);
  const std::vector<Tensor> indices(ctx.inputs.begin() + 2, ctx.inputs.end());
  std::vector<Tensor> grads(ctx.inputs.size());
  if (ctx.needs[0]) {
    if (attrs.accumulate) {
      grads[0] = ctx.grad;
    } else {
      std::vector<Tensor> operands{ctx.grad, zero(ctx.inputs[1])};
      operands.insert(operands.end(), indices.begin(), indices.end());
      grads[0] = apply(Op::index_put, operands, ir::IndexPutAttrs{attrs.dim, false});
    }
  }
  if (ctx.needs[1]) {
    std::vector<Tensor> operands{ctx.grad};
    operands.insert(operands.end(), indices.begin(), indices.end());
    grads[1] = apply(Op::index, operands, ir::AxisAttrs{attrs.dim});
  }
  return grads;
}

// The last two dims swapped.
Tensor transposed(const Tensor& t) {
  Shape perm(static_cast<size_t>(t.dim()));
  for (size_t d = 0; d < perm.size(); ++d) perm[d] = static_cast<int64_t>(d);
  std::swap(perm[perm.size() - 2], perm[perm.size() - 1]);
  return apply(Op::permute, {t}, ir::PermuteAttrs{perm});
}

std::vector<Tensor> matmul_grads(const VjpContext& ctx) {
  const Tensor &a = ctx.inputs[0], &b = ctx.inputs[1], &g = ctx.grad;
  std::vector<Tensor> grads(2);
  if (ctx.needs[0]) grads[0] = apply(Op::matmul, {g, transposed(b)});
  if (ctx.needs[1]) grads[1] = apply(Op::matmul, {transposed(a), g});
  return grads;
}

}  // namespace

std::vector<Tensor> movement(const VjpContext& ctx) {
  const Tensor &x = ctx.inputs[0], &g = ctx.grad;
  switch (ctx.op) {
    case Op::reshape:
      return {reshaped(g, input_shape(ctx, 0))};
    case Op::permute: {
      const Shape& perm = std::get<ir::PermuteAttrs>(*ctx.attrs).perm;
      Shape inverse(perm.size());
      for (size_t d = 0; d < perm.size(); ++d)
        inverse[static_cast<size_t>(perm[d])] = static_cast<int64_t>(d);
      return {apply(Op::permute, {g}, ir::PermuteAttrs{inverse})};
    }
    case Op::expand:
      return {sum_to(g, input_shape(ctx, 0))};
    case Op::slice:
      return {slice_grad(x, g, std::get<ir::SliceAttrs>(*ctx.attrs))};
    case Op::as_strided:
      return {as_strided_grad(x, g, std::get<ir::StridedAttrs>(*ctx.attrs))};
    case Op::cat:
      return cat_grads(ctx);
    case Op::as_strided_scatter:
      return as_strided_scatter_grads(ctx);
    case Op::index:
      return index_grads(ctx);
    case Op::index_put:
      return index_put_grads(ctx);
    case Op::matmul:
      return matmul_grads(ctx);
    default:
      throw Error("internal error: no movement gradient rule for " +
                  std::string(ir::op_name(ctx.op)));
  }
}

}  // namespace kiln::frontend::autograd::rules
