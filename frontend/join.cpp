// cat and stack.
#include "absl/strings/str_cat.h"
#include "kiln/frontend/checks.h"
#include "kiln/frontend/tensor_impl.h"

namespace kiln {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  if (tensors.empty()) throw Error("torch.cat(): expected a non-empty list of Tensors");
  // PyTorch skips 1-D empty tensors (legacy behaviour) when deciding shapes.
  std::vector<const Tensor*> parts;
  DType dtype = tensors[0].dtype();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    frontend::check_same_device(tensors[0], t);
    dtype = i == 0 ? t.dtype() : promote_types(dtype, t.dtype());
    if (t.dim() == 1 && t.numel() == 0) continue;
    if (t.dim() == 0)
      throw Error(
          absl::StrCat("zero-dimensional tensor (at position ", i, ") cannot be concatenated"));
    parts.push_back(&t);
  }
  if (parts.empty()) return tensors[0].to(dtype).clone();
  const Tensor& first = *parts[0];
  const int64_t d = frontend::wrap_dim(dim, first.dim());
  std::vector<frontend::LazyPtr> values;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor& t = *parts[i];
    if (t.dim() != first.dim())
      throw Error(absl::StrCat("Tensors must have same number of dimensions: got ", first.dim(),
                               " and ", t.dim()));
    for (int64_t k = 0; k < t.dim(); ++k)
      if (k != d && t.size(k) != first.size(k))
        throw Error(absl::StrCat("Sizes of tensors must match except in dimension ", d,
                                 ". Expected size ", first.size(k), " but got size ", t.size(k),
                                 " for tensor number ", i, " in the list."));
    values.push_back(frontend::cast(frontend::read(t), dtype));
  }
  if (values.size() == 1)
    return frontend::make_tensor(
        frontend::make_node(ir::Op::reshape, values, ir::ShapeAttrs{first.sizes()}));
  return frontend::make_tensor(frontend::make_node(ir::Op::cat, values, ir::AxisAttrs{d}));
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  if (tensors.empty()) throw Error("stack expects a non-empty TensorList");
  const int64_t d = frontend::wrap_dim(dim, tensors[0].dim() + 1);
  std::vector<Tensor> expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].sizes() != tensors[0].sizes())
      throw Error(absl::StrCat("stack expects each tensor to be equal size, but got ",
                               shape_to_string(tensors[0].sizes()), " at entry 0 and ",
                               shape_to_string(tensors[i].sizes()), " at entry ", i));
    expanded.push_back(tensors[i].unsqueeze(d));
  }
  return cat(expanded, d);
}

}  // namespace kiln
