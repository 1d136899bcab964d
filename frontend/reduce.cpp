// Reductions: sum, prod, mean, max/min (with indices), argmax/argmin, std/var, all/any.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/checks.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/elementwise.h"
#include "kiln/frontend/grad_api.h"
#include "kiln/frontend/tensor_impl.h"

namespace kiln {
namespace {

using frontend::LazyPtr;
using ir::Op;

Shape all_dims(const Tensor& t) {
  Shape dims(static_cast<size_t>(t.dim()));
  for (int64_t d = 0; d < t.dim(); ++d) dims[d] = d;
  return dims;
}

// Wrapped, sorted, unique reduction axes. An empty list reduces every dim, as in PyTorch
// (t.sum(dim=[])); a 0-d tensor has none to reduce.
Shape normalize_dims(const Tensor& t, const Shape& dims) {
  if (dims.empty()) return all_dims(t);
  Shape axes;
  for (int64_t d : dims) axes.push_back(frontend::wrap_dim(d, t.dim()));
  std::sort(axes.begin(), axes.end());
  for (size_t i = 1; i < axes.size(); ++i)
    if (axes[i] == axes[i - 1])
      throw Error(absl::StrCat("dim ", axes[i], " appears multiple times in the list of dims"));
  if (t.dim() == 0) axes.clear();
  return axes;
}

LazyPtr reduce_node(Op op, const LazyPtr& x, const Shape& axes, bool keepdim) {
  return frontend::make_node(op, {x}, ir::ReduceAttrs{axes, keepdim});
}

Tensor reduce(Op op, const Tensor& t, const Shape& dims, bool keepdim, DType dtype) {
  return frontend::make_tensor(
      reduce_node(op, frontend::cast(frontend::read(t), dtype), normalize_dims(t, dims), keepdim));
}

// Integer and bool sums and products accumulate in int64, as in PyTorch.
DType accumulate_dtype(DType d) { return is_floating_point(d) ? d : int64; }

void check_floating(const Tensor& t, const char* op) {
  if (!t.is_floating_point())
    throw Error(absl::StrCat(op,
                             "(): could not infer output dtype. Input dtype must be either a "
                             "floating point or complex dtype. Got: ",
                             frontend::torch_type_name(t.dtype())));
}

void check_nonempty(const Tensor& t, const char* op) {
  if (t.numel() == 0)
    throw Error(absl::StrCat(op,
                             "(): Expected reduction dim to be specified for input.numel() == "
                             "0. Specify the reduction dim with the 'dim' argument."));
}

void check_dim_nonempty(const Tensor& t, int64_t dim, const char* op) {
  if (t.dim() > 0 && t.size(dim) == 0)
    throw Error(absl::StrCat(op, "(): Expected reduction dim ", frontend::wrap_dim(dim, t.dim()),
                             " to have non-zero size."));
}

// PyTorch has no argmax/argmin kernel for bool (max(dim) on bool works).
void check_not_bool(const Tensor& t, const char* kernel) {
  if (t.dtype() == boolean)
    throw Error(absl::StrCat("\"", kernel, "\" not implemented for 'Bool'"));
}

int64_t count_over(const Tensor& t, const Shape& axes) {
  int64_t n = 1;
  for (int64_t d : axes) n *= t.size(d);
  return n;
}

Tensor mean_over(const Tensor& t, const Shape& dims, bool keepdim) {
  check_floating(t, "mean");
  const Shape axes = normalize_dims(t, dims);
  Tensor total = reduce(Op::sum, t, axes, keepdim, t.dtype());
  return total.div(static_cast<double>(count_over(t, axes)));
}

Tensor var_over(const Tensor& t, const Shape& dims, bool keepdim, int64_t correction) {
  if (!t.is_floating_point())
    throw Error("std and var only support floating point and complex dtypes");
  const Shape axes = normalize_dims(t, dims);
  Tensor centered = t.sub(mean_over(t, axes, true));
  Tensor total = reduce(Op::sum, centered.mul(centered), axes, keepdim, t.dtype());
  const int64_t n = count_over(t, axes) - correction;
  return total.div(static_cast<double>(std::max<int64_t>(n, 0)));
}

Tensor arg_reduce(Op op, const Tensor& t, int64_t dim, bool keepdim) {
  if (t.dim() == 0) return frontend::make_tensor(frontend::full_node(0, int64, {}, t.device()));
  const int64_t d = frontend::wrap_dim(dim, t.dim());
  return frontend::make_tensor(reduce_node(op, frontend::read(t), {d}, keepdim));
}

// The values of max(dim)/min(dim): amax/amin, or, when a gradient will flow through them, the
// elements at the returned indices gathered with an index node, so that (as in PyTorch) the
// element at the index gets the whole gradient where amax/amin would share it among ties.
// Both give the same values: the extreme is the element at the index (the first of ties, the
// first NaN).
Tensor extreme_values(Op op, const Tensor& t, const Tensor& indices, int64_t dim, bool keepdim) {
  if (t.dim() == 0 || !t.requires_grad() || !is_grad_enabled())
    return reduce(op, t, {dim}, keepdim, t.dtype());
  const int64_t d = frontend::wrap_dim(dim, t.dim());
  Shape perm;  // the reduced dim last: one row per result
  for (int64_t k = 0; k < t.dim(); ++k)
    if (k != d) perm.push_back(k);
  perm.push_back(d);
  const Tensor rows = t.permute(perm).reshape({-1, t.size(d)});
  const int64_t n = rows.size(0);
  const LazyPtr picked =
      frontend::make_node(Op::index,
                          {frontend::read(rows), frontend::read(arange(n, int64)),
                           frontend::read(indices.reshape({n}))},
                          ir::AxisAttrs{0});
  return frontend::make_tensor(picked).reshape(indices.sizes());
}

Tensor logical_reduce(Op op, const Tensor& t, const Shape& dims, bool keepdim) {
  const DType result = t.dtype() == uint8 ? uint8 : boolean;
  const Shape axes = normalize_dims(t, dims);
  if (count_over(t, axes) == 0) {
    // all() of nothing is true and any() of nothing false; amin/amax have no identity to use.
    Shape shape;
    for (int64_t d = 0; d < t.dim(); ++d) {
      const bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
      if (!reduced)
        shape.push_back(t.size(d));
      else if (keepdim)
        shape.push_back(1);
    }
    return full(shape, op == Op::amin, result);
  }
  Tensor truth = t.dtype() == boolean ? t : t.ne(0);
  Tensor out = reduce(op, truth, dims, keepdim, boolean);
  return out.to(result);
}

}  // namespace

Tensor Tensor::sum() const { return sum(all_dims(*this), false); }
Tensor Tensor::sum(int64_t dim, bool keepdim) const { return sum(Shape{dim}, keepdim); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const {
  return reduce(Op::sum, *this, dims, keepdim, accumulate_dtype(dtype()));
}
Tensor Tensor::prod() const {
  return reduce(Op::prod, *this, all_dims(*this), false, accumulate_dtype(dtype()));
}
Tensor Tensor::prod(int64_t dim, bool keepdim) const {
  return reduce(Op::prod, *this, {dim}, keepdim, accumulate_dtype(dtype()));
}

Tensor Tensor::mean() const { return mean_over(*this, all_dims(*this), false); }
Tensor Tensor::mean(int64_t dim, bool keepdim) const { return mean_over(*this, {dim}, keepdim); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const {
  return mean_over(*this, dims, keepdim);
}

Tensor Tensor::max() const {
  check_nonempty(*this, "max");
  return reduce(Op::amax, *this, all_dims(*this), false, dtype());
}
Tensor Tensor::min() const {
  check_nonempty(*this, "min");
  return reduce(Op::amin, *this, all_dims(*this), false, dtype());
}
std::tuple<Tensor, Tensor> Tensor::max(int64_t dim, bool keepdim) const {
  check_dim_nonempty(*this, dim, "max");
  Tensor indices = arg_reduce(Op::argmax, *this, dim, keepdim);
  return {extreme_values(Op::amax, *this, indices, dim, keepdim), indices};
}
std::tuple<Tensor, Tensor> Tensor::min(int64_t dim, bool keepdim) const {
  check_dim_nonempty(*this, dim, "min");
  Tensor indices = arg_reduce(Op::argmin, *this, dim, keepdim);
  return {extreme_values(Op::amin, *this, indices, dim, keepdim), indices};
}
Tensor Tensor::amax(const Shape& dims, bool keepdim) const {
  for (int64_t d : dims) check_dim_nonempty(*this, d, "amax");
  return reduce(Op::amax, *this, dims.empty() ? all_dims(*this) : dims, keepdim, dtype());
}
Tensor Tensor::amin(const Shape& dims, bool keepdim) const {
  for (int64_t d : dims) check_dim_nonempty(*this, d, "amin");
  return reduce(Op::amin, *this, dims.empty() ? all_dims(*this) : dims, keepdim, dtype());
}

Tensor Tensor::argmax() const {
  check_nonempty(*this, "argmax");
  check_not_bool(*this, "argmax_cpu");
  return arg_reduce(Op::argmax, reshape({-1}), 0, false);
}
Tensor Tensor::argmax(int64_t dim, bool keepdim) const {
  check_dim_nonempty(*this, dim, "argmax");
  check_not_bool(*this, "argmax_cpu");
  return arg_reduce(Op::argmax, *this, dim, keepdim);
}
Tensor Tensor::argmin() const {
  check_nonempty(*this, "argmin");
  check_not_bool(*this, "argmin_cpu");
  return arg_reduce(Op::argmin, reshape({-1}), 0, false);
}
Tensor Tensor::argmin(int64_t dim, bool keepdim) const {
  check_dim_nonempty(*this, dim, "argmin");
  check_not_bool(*this, "argmin_cpu");
  return arg_reduce(Op::argmin, *this, dim, keepdim);
}

Tensor Tensor::var() const { return var_over(*this, all_dims(*this), false, 1); }
Tensor Tensor::var(int64_t dim, bool keepdim, int64_t correction) const {
  return var_over(*this, {dim}, keepdim, correction);
}
Tensor Tensor::std() const { return var().sqrt(); }
Tensor Tensor::std(int64_t dim, bool keepdim, int64_t correction) const {
  return var(dim, keepdim, correction).sqrt();
}

Tensor Tensor::all() const { return logical_reduce(Op::amin, *this, all_dims(*this), false); }
Tensor Tensor::all(int64_t dim, bool keepdim) const {
  return logical_reduce(Op::amin, *this, {dim}, keepdim);
}
Tensor Tensor::any() const { return logical_reduce(Op::amax, *this, all_dims(*this), false); }
Tensor Tensor::any(int64_t dim, bool keepdim) const {
  return logical_reduce(Op::amax, *this, {dim}, keepdim);
}

}  // namespace kiln
