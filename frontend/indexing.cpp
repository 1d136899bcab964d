// Tensor::index and index_put_: basic indices (integers, slices, None, Ellipsis) make a view;
// integer and boolean tensors then gather (index) or scatter (index_put) through IR nodes.
#include "kiln/frontend/indexing.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kiln/frontend/checks.h"
#include "kiln/frontend/compile/trace_state.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/tensor_impl.h"

namespace kiln {
namespace {

// PyTorch takes index tensors on the CPU for a tensor on any device (and moves them), and
// refuses indices on another device.
Tensor indices_on_device(const Tensor& t, Device device) {
  if (t.device() == device) return t;
  if (t.device().is_cpu()) return t.to(device);
  throw Error(absl::StrCat("indices should be either on cpu or on the same device as the ",
                           "indexed tensor (", device.str(), ")"));
}

// The result of applying the basic indices: a view, plus the advanced index tensors (int64,
// not yet broadcast) and the view dims they index.
struct IndexedView {
  Tensor view;
  std::vector<Tensor> tensors;
  std::vector<int64_t> dims;
};

int64_t consumed_dims(const TensorIndex& index) {
  if (index.is_integer() || index.is_slice()) return 1;
  if (index.is_tensor()) {
    const Tensor& t = index.tensor();
    return t.dtype() == boolean || t.dtype() == uint8 ? std::max<int64_t>(t.dim(), 0) : 1;
  }
  return 0;
}

Tensor apply_slice(const Tensor& t, int64_t dim, const Slice& s) {
  const int64_t step = s.step().value_or(1);
  if (step == 0) throw Error("slice step cannot be zero");
  if (step < 0) throw Error("step must be greater than zero");
  const int64_t n = t.size(dim);
  auto clamp_bound = [n](std::optional<int64_t> v, int64_t fallback) {
    if (!v) return fallback;
    int64_t x = *v < 0 ? *v + n : *v;
    return std::clamp<int64_t>(x, 0, n);
  };
  const int64_t start = clamp_bound(s.start(), 0);
  const int64_t stop = std::max(start, clamp_bound(s.stop(), n));
  Shape sizes = t.sizes(), strides = t.strides();
  sizes[dim] = (stop - start + step - 1) / step;
  strides[dim] *= step;
  return frontend::make_view(t, sizes, strides, t.storage_offset() + start * t.stride(dim));
}

Tensor as_index_tensor(const Tensor& t) {
  if (t.dtype() == int64) return t;
  if (is_integral(t.dtype(), false)) return t.to(int64);
  throw Error("tensors used as indices must be long, int, byte or bool tensors");
}

IndexedView apply_basic(const Tensor& self, absl::Span<const TensorIndex> indices) {
  int64_t consumed = 0, ellipses = 0;
  for (const TensorIndex& index : indices) {
    consumed += consumed_dims(index);
    ellipses += index.is_ellipsis();
  }
  if (ellipses > 1) throw Error("an index can only have a single ellipsis ('...')");
  if (consumed > self.dim())
    throw Error(absl::StrCat("too many indices for tensor of dimension ", self.dim()));
  IndexedView out{self, {}, {}};
  int64_t d = 0;
  int64_t real_dim = 0;  // the dim of `self` this index applies to (for messages, as torch)
  for (const TensorIndex& index : indices) {
    const int64_t index_dim = real_dim;
    real_dim += index.is_ellipsis() ? self.dim() - consumed : consumed_dims(index);
    if (index.is_integer()) {
      const int64_t i = index.integer(), n = out.view.size(d);
      if (i < -n || i >= n)
        throw Error(absl::StrCat("index ", i, " is out of bounds for dimension ", index_dim,
                                 " with size ", n));
      out.view = out.view.select(d, i);
    } else if (index.is_slice()) {
      out.view = apply_slice(out.view, d, index.slice());
      ++d;
    } else if (index.is_none()) {
      out.view = out.view.unsqueeze(d);
      ++d;
    } else if (index.is_ellipsis()) {
      d += self.dim() - consumed;
    } else {
      const Tensor t = indices_on_device(index.tensor(), self.device());
      if (t.dtype() != boolean && t.dtype() != uint8) {
        out.tensors.push_back(as_index_tensor(t));
        out.dims.push_back(d++);
        continue;
      }
      if (t.dim() == 0) {  // t[True] adds a dim of size 1, t[False] one of size 0
        out.view = out.view.unsqueeze(d);
        out.tensors.push_back(
            zeros({t.item<bool>() ? 1 : 0}, {.dtype = int64, .device = self.device()}));
        out.dims.push_back(d++);
        continue;
      }
      for (int64_t k = 0; k < t.dim(); ++k)
        if (t.size(k) != out.view.size(d + k))
          throw Error(absl::StrCat("The shape of the mask ", shape_to_string(t.sizes()),
                                   " at index ", k,
                                   " does not match the shape of the indexed tensor ",
                                   shape_to_string(out.view.sizes()), " at index ", d + k));
      Tensor coords = t.nonzero();
      for (int64_t k = 0; k < t.dim(); ++k) {
        out.tensors.push_back(coords.select(1, k));
        out.dims.push_back(d++);
      }
    }
  }
  return out;
}

// Broadcasts the index tensors together and checks every value against its dim (this reads
// the index values: errors are raised here, at the user's call).
std::vector<frontend::LazyPtr> prepare_indices(const IndexedView& iv) {
  Shape shape = iv.tensors[0].sizes();
  for (const Tensor& t : iv.tensors) {
    try {
      shape = frontend::broadcast_shapes(shape, t.sizes());
    } catch (const Error&) {
      std::vector<std::string> shapes;
      for (const Tensor& u : iv.tensors) shapes.push_back(shape_to_string(u.sizes()));
      throw Error("shape mismatch: indexing tensors could not be broadcast together with shapes " +
                  absl::StrJoin(shapes, ", "));
    }
  }
  std::vector<frontend::LazyPtr> values;
  for (size_t i = 0; i < iv.tensors.size(); ++i) {
    // torch names the dimension by the index tensor's position among the index tensors.
    // While compile() traces, the values are unknown: the index op checks them when the
    // program runs (with the same message).
    const int64_t size = iv.view.size(iv.dims[i]);
    if (!frontend::tracing_active())
      for (int64_t v : iv.tensors[i].tolist<int64_t>())
        if (v < -size || v >= size)
          throw Error(absl::StrCat("index ", v, " is out of bounds for dimension ", i,
                                   " with size ", size));
    values.push_back(frontend::broadcast_to(frontend::read(iv.tensors[i]), shape));
  }
  return values;
}

// Moves the indexed dims next to each other: in place when they already are, else to the front
// (NumPy's rule for separated advanced indices). Returns the view and the first indexed dim.
std::pair<Tensor, int64_t> gather_layout(const IndexedView& iv) {
  bool adjacent = true;
  for (size_t i = 1; i < iv.dims.size(); ++i) adjacent &= iv.dims[i] == iv.dims[i - 1] + 1;
  if (adjacent) return {iv.view, iv.dims[0]};
  Shape perm(iv.dims.begin(), iv.dims.end());
  for (int64_t d = 0; d < iv.view.dim(); ++d)
    if (std::find(iv.dims.begin(), iv.dims.end(), d) == iv.dims.end()) perm.push_back(d);
  return {iv.view.permute(perm), 0};
}

// torch dispatches x[mask] = v with a one-element v to masked_fill_, which casts v.
bool is_masked_fill(absl::Span<const TensorIndex> indices, const Tensor& value) {
  int tensors = 0, masks = 0;
  for (const TensorIndex& index : indices) {
    if (!index.is_tensor()) continue;
    ++tensors;
    masks += index.tensor().dtype() == boolean || index.tensor().dtype() == uint8;
  }
  return value.numel() == 1 && tensors == 1 && masks == 1;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (size_t i = 0; i < from.size(); ++i) {
    const int64_t f = from[from.size() - 1 - i], t = to[to.size() - 1 - i];
    if (f != t && f != 1) return false;
  }
  return true;
}

}  // namespace

Tensor Tensor::nonzero() const {
  const int64_t rank = dim();
  std::vector<int64_t> coords;
  const std::vector<bool> truth = [&] {
    std::vector<bool> v;
    for (bool b : tolist<bool>()) v.push_back(b);
    return v;
  }();
  const Shape shape = sizes();
  Shape index(static_cast<size_t>(rank), 0);
  int64_t count = 0;
  for (bool nonzero : truth) {
    if (nonzero) {
      coords.insert(coords.end(), index.begin(), index.end());
      ++count;
    }
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  // The coordinates are counted on the host; the result lives on the input's device.
  return kiln::tensor(coords).reshape({count, rank}).to(device());
}

Tensor Tensor::index(absl::Span<const TensorIndex> indices) const {
  IndexedView iv = apply_basic(*this, indices);
  if (iv.tensors.empty()) return iv.view;
  std::vector<frontend::LazyPtr> index_values = prepare_indices(iv);
  auto [source, dim] = gather_layout(iv);
  std::vector<frontend::LazyPtr> operands{frontend::read(source)};
  operands.insert(operands.end(), index_values.begin(), index_values.end());
  return frontend::make_tensor(frontend::make_node(ir::Op::index, operands, ir::AxisAttrs{dim}));
}

const Tensor& Tensor::index_put_(absl::Span<const TensorIndex> indices,
                                 const Tensor& given_value) const {
  IndexedView iv = apply_basic(*this, indices);
  // As torch's __setitem__: a CPU 0-d value is a scalar, and leading size-1 dims of the value
  // are dropped first.
  Tensor value = frontend::cpu_scalar_to(given_value, device());
  frontend::check_same_device(*this, value);
  while (value.dim() > 0 && value.size(0) == 1) value = value.squeeze(0);
  if (iv.tensors.empty()) {
    // Basic indices: copy into the view (torch's copy_to: the value expands to the view).
    if (value.dim() == 0 || value.sizes() == iv.view.sizes())
      iv.view.copy_(value);
    else
      iv.view.copy_(value.expand(iv.view.sizes()));
    return *this;
  }
  if (value.dtype() != dtype() && !is_masked_fill(indices, value))
    throw Error(absl::StrCat("Index put requires the source and destination dtypes match, got ",
                             frontend::torch_type_name(dtype()), " for the destination and ",
                             frontend::torch_type_name(value.dtype()), " for the source."));
  frontend::check_no_overlap(iv.view, value);
  std::vector<frontend::LazyPtr> index_values = prepare_indices(iv);
  auto [target, dim] = gather_layout(iv);
  // The shape the indexed elements form: target[:dim] + index shape + target[dim + k:].
  const int64_t k = static_cast<int64_t>(index_values.size());
  Shape shape(target.sizes().begin(), target.sizes().begin() + dim);
  const Shape& index_shape = index_values[0]->type.shape;
  shape.insert(shape.end(), index_shape.begin(), index_shape.end());
  shape.insert(shape.end(), target.sizes().begin() + dim + k, target.sizes().end());
  if (!broadcasts_to(value.sizes(), shape))
    throw Error(
        absl::StrCat("shape mismatch: value tensor of shape ", shape_to_string(value.sizes()),
                     " cannot be broadcast to indexing result of shape ", shape_to_string(shape)));
  frontend::check_no_internal_overlap(target);
  std::vector<frontend::LazyPtr> operands{
      frontend::read(target),
      frontend::broadcast_to(frontend::cast(frontend::read(value), dtype()), shape)};
  operands.insert(operands.end(), index_values.begin(), index_values.end());
  frontend::write(target,
                  frontend::make_node(ir::Op::index_put, operands, ir::IndexPutAttrs{dim, false}));
  return *this;
}

const Tensor& Tensor::index_put_(absl::Span<const TensorIndex> indices, Scalar value) const {
  return index_put_(indices, full({}, value, Options{.dtype = dtype(), .device = device()}));
}

}  // namespace kiln
