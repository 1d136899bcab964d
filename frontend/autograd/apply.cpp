#include "kiln/frontend/autograd/apply.h"

#include "kiln/frontend/tensor_impl.h"

namespace kiln::frontend::autograd {

Tensor apply(ir::Op op, const std::vector<Tensor>& inputs, ir::Attrs attrs) {
  std::vector<LazyPtr> values;
  values.reserve(inputs.size());
  for (const Tensor& t : inputs) values.push_back(read(t));
  return make_tensor(make_node(op, values, std::move(attrs)));
}

Tensor constant_like(const Tensor& like, Scalar value) {
  return make_tensor(full_node(value, like.dtype(), like.sizes(), like.device()));
}

Tensor sum_to(const Tensor& t, const Shape& shape) {
  if (t.sizes() == shape) return t;
  const Shape& from = t.sizes();
  const size_t lead = from.size() - shape.size();
  Shape axes;
  for (size_t d = 0; d < from.size(); ++d)
    if (d < lead || (shape[d - lead] == 1 && from[d] != 1)) axes.push_back(static_cast<int64_t>(d));
  // Without leading dims to drop, the kept size-1 dims are the target shape already.
  const bool keepdim = lead == 0;
  Tensor summed = axes.empty() ? t : apply(ir::Op::sum, {t}, ir::ReduceAttrs{axes, keepdim});
  return summed.sizes() == shape ? summed : apply(ir::Op::reshape, {summed}, ir::ShapeAttrs{shape});
}

Tensor cast_to(const Tensor& t, DType dtype) {
  return t.dtype() == dtype ? t : apply(ir::Op::cast, {t}, ir::CastAttrs{dtype});
}

}  // namespace kiln::frontend::autograd
