// View ops: new (sizes, strides, offset) over the same storage, exactly as PyTorch computes
// them, so writes through any view reach every alias.
#include <algorithm>
#include <numeric>
#include <optional>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/checks.h"
#include "kiln/frontend/tensor_impl.h"

namespace kiln {

using frontend::impl_of;
using frontend::make_view;
using frontend::wrap_dim;

namespace {

// Resolves a single -1 in `shape` against numel.
Shape infer_size(const Shape& shape, int64_t numel) {
  Shape out = shape;
  std::optional<size_t> infer;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer) throw Error("only one dimension can be inferred");
      infer = i;
    } else if (shape[i] < 0) {
      throw Error(absl::StrCat("invalid shape dimension ", shape[i]));
    } else {
      known *= shape[i];
    }
  }
  if (infer && known != 0 && numel % known == 0) {
    out[*infer] = numel / known;
    return out;
  }
  if (!infer && known == numel) return out;
  throw Error(
      absl::StrCat("shape '", shape_to_string(shape), "' is invalid for input of size ", numel));
}

// Strides that view (old sizes, strides) as `shape` without copying, if any (PyTorch's
// computeStride: each run of dims that is contiguous in memory may be regrouped).
std::optional<Shape> view_strides(const Shape& old_sizes, const Shape& old_strides,
                                  const Shape& shape) {
  if (old_sizes.empty() || numel(old_sizes) == 0) return contiguous_strides(shape);
  Shape strides(shape.size(), 1);
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_sizes[d];
    const bool chunk_ends =
        d == 0 || (old_sizes[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
      strides[view_d] = view_numel * chunk_base_stride;
      view_numel *= shape[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (d > 0) {
      chunk_base_stride = old_strides[d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

}  // namespace

Tensor Tensor::view(const Shape& shape) const {
  const Shape sizes = infer_size(shape, numel());
  auto strides = view_strides(this->sizes(), this->strides(), sizes);
  if (!strides)
    throw Error(
        "view size is not compatible with input tensor's size and stride (at least one dimension "
        "spans across two contiguous subspaces). Use .reshape(...) instead.");
  return make_view(*this, sizes, *strides, storage_offset());
}

Tensor Tensor::reshape(const Shape& shape) const {
  const Shape sizes = infer_size(shape, numel());
  if (auto strides = view_strides(this->sizes(), this->strides(), sizes))
    return make_view(*this, sizes, *strides, storage_offset());
  return clone().view(sizes);
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  const int64_t d0 = wrap_dim(dim0, dim()), d1 = wrap_dim(dim1, dim());
  Shape sizes = this->sizes(), strides = this->strides();
  if (dim() == 0) return make_view(*this, sizes, strides, storage_offset());
  std::swap(sizes[d0], sizes[d1]);
  std::swap(strides[d0], strides[d1]);
  return make_view(*this, sizes, strides, storage_offset());
}

Tensor Tensor::t() const {
  if (dim() > 2)
    throw Error(
        absl::StrCat("t() expects a tensor with <= 2 dimensions, but self is ", dim(), "D"));
  return dim() < 2 ? transpose(0, 0) : transpose(0, 1);
}

Tensor Tensor::permute(const Shape& dims) const {
  if (static_cast<int64_t>(dims.size()) != dim())
    throw Error(absl::StrCat(
        "permute(): number of dimensions in the tensor input does not match the length of the "
        "desired ordering of dimensions i.e. input.dim() = ",
        dim(), " is not equal to len(dims) = ", dims.size()));
  Shape sizes(dims.size()), strides(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], dim());
    if (seen[d]) throw Error("permute(): duplicate dims are not allowed.");
    seen[d] = true;
    sizes[i] = size(d);
    strides[i] = stride(d);
  }
  return make_view(*this, sizes, strides, storage_offset());
}

Tensor Tensor::squeeze() const {
  Shape sizes, strides;
  for (int64_t d = 0; d < dim(); ++d) {
    if (size(d) == 1) continue;
    sizes.push_back(size(d));
    strides.push_back(stride(d));
  }
  return make_view(*this, sizes, strides, storage_offset());
}

Tensor Tensor::squeeze(int64_t dim) const {
  const int64_t d = wrap_dim(dim, this->dim());
  Shape sizes = this->sizes(), strides = this->strides();
  if (this->dim() > 0 && sizes[d] == 1) {
    sizes.erase(sizes.begin() + d);
    strides.erase(strides.begin() + d);
  }
  return make_view(*this, sizes, strides, storage_offset());
}

Tensor Tensor::unsqueeze(int64_t dim) const {
  const int64_t d = wrap_dim(dim, this->dim() + 1);
  Shape sizes = this->sizes(), strides = this->strides();
  const int64_t stride = d < this->dim() ? sizes[d] * strides[d] : 1;
  sizes.insert(sizes.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return make_view(*this, sizes, strides, storage_offset());
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  const int64_t s = wrap_dim(start_dim, dim()), e = wrap_dim(end_dim, dim());
  if (s > e) throw Error("flatten() has invalid args: start_dim cannot come after end_dim");
  Shape shape(sizes().begin(), sizes().begin() + s);
  int64_t merged = 1;
  for (int64_t d = s; d <= e; ++d) merged *= size(d);
  shape.push_back(merged);
  shape.insert(shape.end(), sizes().begin() + e + 1, sizes().end());
  return reshape(shape);
}

Tensor Tensor::expand(const Shape& target) const {
  const int64_t rank = dim(), new_rank = static_cast<int64_t>(target.size());
  if (new_rank < rank)
    throw Error(absl::StrCat("expand: the number of sizes provided (", new_rank,
                             ") must be greater or equal to the number of dimensions in the "
                             "tensor (",
                             rank, ")"));
  Shape sizes(target.size()), strides(target.size());
  for (int64_t i = new_rank - 1; i >= 0; --i) {
    const int64_t d = i - (new_rank - rank);
    const int64_t want = target[i];
    if (d < 0) {
      if (want < 0)
        throw Error(absl::StrCat("The expanded size of the tensor (", want,
                                 ") isn't allowed in a leading, non-existing dimension ", i));
      sizes[i] = want;
      strides[i] = 0;
      continue;
    }
    const int64_t have = size(d);
    if (want == -1 || want == have) {
      sizes[i] = have;
      strides[i] = stride(d);
    } else if (have == 1 && want >= 0) {
      sizes[i] = want;
      strides[i] = 0;
    } else {
      throw Error(absl::StrCat(
          "The expanded size of the tensor (", want, ") must match the existing size (", have,
          ") at non-singleton dimension ", i, ".  Target sizes: ", shape_to_string(target),
          ".  Tensor sizes: ", shape_to_string(this->sizes())));
    }
  }
  return make_view(*this, sizes, strides, storage_offset());
}

Tensor Tensor::expand_as(const Tensor& other) const { return expand(other.sizes()); }

Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  if (this->dim() == 0) throw Error("narrow() cannot be applied to a 0-dim tensor.");
  const int64_t d = wrap_dim(dim, this->dim());
  const int64_t n = size(d);
  if (start < 0) start += n;
  if (start < 0 || start > n || length < 0 || start + length > n)
    throw Error(absl::StrCat("start (", start, ") + length (", length, ") exceeds dimension size (",
                             n, ")."));
  Shape sizes = this->sizes();
  sizes[d] = length;
  return make_view(*this, sizes, strides(), storage_offset() + start * stride(d));
}

Tensor Tensor::select(int64_t dim, int64_t index) const {
  if (this->dim() == 0) throw Error("select() cannot be applied to a 0-dim tensor.");
  const int64_t d = wrap_dim(dim, this->dim());
  const int64_t n = size(d);
  if (index < -n || index >= n)
    throw Error(
        absl::StrCat("index ", index, " is out of bounds for dimension ", d, " with size ", n));
  if (index < 0) index += n;
  Shape sizes = this->sizes(), strides = this->strides();
  const int64_t offset = storage_offset() + index * strides[d];
  sizes.erase(sizes.begin() + d);
  strides.erase(strides.begin() + d);
  return make_view(*this, sizes, strides, offset);
}

Tensor Tensor::operator[](int64_t index) const { return select(0, index); }

Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1) { return t.transpose(dim0, dim1); }
Tensor permute(const Tensor& t, const Shape& dims) { return t.permute(dims); }
Tensor reshape(const Tensor& t, const Shape& shape) { return t.reshape(shape); }
Tensor squeeze(const Tensor& t) { return t.squeeze(); }
Tensor unsqueeze(const Tensor& t, int64_t dim) { return t.unsqueeze(dim); }
Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  return t.flatten(start_dim, end_dim);
}

}  // namespace kiln
