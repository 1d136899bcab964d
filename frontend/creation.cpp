// Creation functions: from host values, filled, ranges and caller memory.
#include "kiln/frontend/creation.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/checks.h"
#include "kiln/frontend/elements.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/runtime/cuda/copy.h"

namespace kiln {
namespace frontend {

Device target_device(const Options& options) {
  return options.device.value_or(get_default_device());
}

// A CUDA device is refused at the call when CUDA is unavailable (no driver or no GPU) or the
// device does not exist.
void check_options(const Options& options) {
  const Device device = target_device(options);
  check_device_exists(device, absl::StrCat("cannot create a tensor on ", device.str()));
}

// Tensors made from host values are built on the CPU, then copied to the target device as a
// new leaf: a constant made at the call, not a transfer of a traced value (which to(Device)
// refuses while tracing), so creation works inside compile()d functions on every device.
Tensor on_device(Tensor t, const Options& options) {
  const Device device = target_device(options);
  if (t.device() == device) return t;
  const LazyPtr& host = impl_of(t).storage->value;
  if (!t.device().is_cpu() || !host->realized() || !impl_of(t).covers_storage())
    return t.to(device);
  auto out = runtime::Buffer::allocate(host->buffer->nbytes(), device);
  if (out->nbytes() > 0)
    runtime::cuda::copy_host_to_device(out->data(), host->buffer->data(), out->nbytes(),
                                       device.index());
  return make_tensor(make_leaf(std::move(out), host->type, device));
}

Tensor with_grad_option(Tensor t, const Options& options) {
  t = on_device(std::move(t), options);
  if (options.requires_grad) t.requires_grad_();
  return t;
}

void check_shape(const Shape& shape, const char* op) {
  for (int64_t s : shape)
    if (s < 0)
      throw Error(absl::StrCat(op, "(): Trying to create tensor with negative dimension ", s, ": ",
                               shape_to_string(shape)));
}

// A realized tensor over a fresh buffer of `dtype` and `shape`; fill writes its elements.
template <class Fill>
Tensor host_tensor(DType dtype, const Shape& shape, Fill&& fill) {
  const int64_t n = numel(shape);
  auto buffer = runtime::Buffer::allocate(static_cast<size_t>(n) * itemsize(dtype));
  fill(static_cast<char*>(buffer->data()), n);
  return make_tensor(make_leaf(std::move(buffer), ir::TensorType{dtype, shape}, cpu));
}

Tensor tensor_from_host(const void* data, DType src_dtype, const Shape& shape,
                        const Options& options) {
  check_options(options);
  const DType dtype = options.dtype.value_or(src_dtype);
  const size_t src_size = itemsize(src_dtype), dst_size = itemsize(dtype);
  return on_device(host_tensor(dtype, shape,
                               [&](char* out, int64_t n) {
                                 const auto* in = static_cast<const char*>(data);
                                 if (dtype == src_dtype) {
                                   if (n > 0)
                                     std::memcpy(out, in, static_cast<size_t>(n) * dst_size);
                                   return;
                                 }
                                 for (int64_t i = 0; i < n; ++i) {
                                   const char* p = in + i * static_cast<int64_t>(src_size);
                                   char* q = out + i * static_cast<int64_t>(dst_size);
                                   if (is_floating_point(src_dtype))
                                     store_double(q, dtype, load_double(p, src_dtype));
                                   else
                                     store_int64(q, dtype, load_int64(p, src_dtype));
                                 }
                               }),
                   options);
}

void check_list_length(const Shape& shape, int depth, size_t got) {
  if (static_cast<size_t>(depth) >= shape.size() || shape[depth] != static_cast<int64_t>(got))
    throw Error(absl::StrCat("expected sequence of length ",
                             static_cast<size_t>(depth) < shape.size() ? shape[depth] : 0,
                             " at dim ", depth, " (got ", got, ")"));
}

Tensor tensor_from_literals(const Shape& shape, const std::vector<double>& floats,
                            const std::vector<int64_t>& ints, DType literal_dtype,
                            const Options& options) {
  check_options(options);
  const DType dtype = options.dtype.value_or(literal_dtype);
  const size_t size = itemsize(dtype);
  return on_device(host_tensor(dtype, shape,
                               [&](char* out, int64_t n) {
                                 for (int64_t i = 0; i < n; ++i) {
                                   char* q = out + i * static_cast<int64_t>(size);
                                   if (!floats.empty())
                                     store_double(q, dtype, floats[static_cast<size_t>(i)]);
                                   else
                                     store_int64(q, dtype, ints[static_cast<size_t>(i)]);
                                 }
                               }),
                   options);
}

Tensor filled(const Shape& shape, Scalar value, DType dtype, const Options& options,
              const char* op) {
  check_options(options);
  check_shape(shape, op);
  return with_grad_option(make_tensor(full_node(value, dtype, shape, target_device(options))),
                          options);
}

}  // namespace frontend

using frontend::filled;

Tensor tensor(Scalar value, Options options) {
  frontend::check_options(options);
  const DType dtype = options.dtype.value_or(value.default_dtype());
  return frontend::with_grad_option(
      frontend::host_tensor(dtype, {},
                            [&](char* out, int64_t) {
                              if (value.is_floating_point())
                                frontend::store_double(out, dtype, value.to_double());
                              else
                                frontend::store_int64(out, dtype, value.to_int64());
                            }),
      options);
}
Tensor tensor(Scalar value, DType dtype) { return tensor(value, Options{.dtype = dtype}); }

Tensor from_blob(void* data, const Shape& shape, DType dtype) {
  return from_blob(data, shape, contiguous_strides(shape), dtype);
}

Tensor from_blob(void* data, const Shape& shape, const Shape& strides, DType dtype) {
  frontend::check_shape(shape, "from_blob");
  if (strides.size() != shape.size())
    throw Error(absl::StrCat("from_blob: ", strides.size(), " strides given for ", shape.size(),
                             " dimensions"));
  if (data == nullptr && numel(shape) > 0) throw Error("from_blob: data is a null pointer");
  // The storage spans every element the strides can reach.
  int64_t extent = numel(shape) == 0 ? 0 : 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (strides[d] < 0) throw Error("from_blob: negative strides are not supported");
    if (shape[d] > 0) extent += (shape[d] - 1) * strides[d];
  }
  auto buffer = runtime::Buffer::borrow(data, static_cast<size_t>(extent) * itemsize(dtype));
  frontend::LazyPtr leaf =
      frontend::make_leaf(std::move(buffer), ir::TensorType{dtype, {extent}}, cpu);
  leaf->external = true;  // the caller may write this memory at any time
  Tensor base = frontend::make_tensor(std::move(leaf));
  return frontend::make_view(base, shape, strides, 0);
}

Tensor empty(const Shape& shape, Options options) {
  return filled(shape, 0, options.dtype.value_or(float32), options, "empty");
}
Tensor empty(const Shape& shape, DType dtype) { return empty(shape, Options{.dtype = dtype}); }
Tensor zeros(const Shape& shape, Options options) {
  return filled(shape, 0, options.dtype.value_or(float32), options, "zeros");
}
Tensor zeros(const Shape& shape, DType dtype) { return zeros(shape, Options{.dtype = dtype}); }
Tensor ones(const Shape& shape, Options options) {
  return filled(shape, 1, options.dtype.value_or(float32), options, "ones");
}
Tensor ones(const Shape& shape, DType dtype) { return ones(shape, Options{.dtype = dtype}); }
Tensor full(const Shape& shape, Scalar value, Options options) {
  return filled(shape, value, options.dtype.value_or(value.default_dtype()), options, "full");
}
Tensor full(const Shape& shape, Scalar value, DType dtype) {
  return full(shape, value, Options{.dtype = dtype});
}

namespace {
Options like(const Tensor& t, Options options) {
  if (!options.dtype) options.dtype = t.dtype();
  if (!options.device) options.device = t.device();
  return options;
}
}  // namespace

Tensor empty_like(const Tensor& t, Options options) { return empty(t.sizes(), like(t, options)); }
Tensor empty_like(const Tensor& t, DType dtype) {
  return empty(t.sizes(), {.dtype = dtype, .device = t.device()});
}
Tensor zeros_like(const Tensor& t, Options options) { return zeros(t.sizes(), like(t, options)); }
Tensor zeros_like(const Tensor& t, DType dtype) {
  return zeros(t.sizes(), {.dtype = dtype, .device = t.device()});
}
Tensor ones_like(const Tensor& t, Options options) { return ones(t.sizes(), like(t, options)); }
Tensor ones_like(const Tensor& t, DType dtype) {
  return ones(t.sizes(), {.dtype = dtype, .device = t.device()});
}
Tensor full_like(const Tensor& t, Scalar value, Options options) {
  return full(t.sizes(), value, like(t, options));
}
Tensor full_like(const Tensor& t, Scalar value, DType dtype) {
  return full(t.sizes(), value, {.dtype = dtype, .device = t.device()});
}

Tensor eye(int64_t n, Options options) {
  frontend::check_options(options);
  frontend::check_shape({n, n}, "eye");
  const DType dtype = options.dtype.value_or(float32);
  const size_t size = itemsize(dtype);
  return frontend::with_grad_option(
      frontend::host_tensor(dtype, {n, n},
                            [&](char* out, int64_t count) {
                              for (int64_t i = 0; i < count; ++i)
                                frontend::store_int64(out + i * static_cast<int64_t>(size), dtype,
                                                      i / n == i % n ? 1 : 0);
                            }),
      options);
}
Tensor eye(int64_t n, DType dtype) { return eye(n, Options{.dtype = dtype}); }

Tensor arange(Scalar end, Options options) { return arange(0, end, 1, options); }
Tensor arange(Scalar end, DType dtype) { return arange(0, end, 1, Options{.dtype = dtype}); }
Tensor arange(Scalar start, Scalar end, Options options) { return arange(start, end, 1, options); }
Tensor arange(Scalar start, Scalar end, DType dtype) {
  return arange(start, end, 1, Options{.dtype = dtype});
}
Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype) {
  return arange(start, end, step, Options{.dtype = dtype});
}

// PyTorch's arange_out: start, end and step are first converted to the accumulation type of the
// output dtype (int64 for integers, so 0.5 becomes 0; double for float32/float64; float for the
// half types), the checks and the values use those; the length uses the accumulation type for
// int64 output and doubles otherwise (torch's own quirk: arange(0.5, 4, 1.5, int64) has 4
// elements, the int32 one 3).
static Tensor arange_values(Scalar start, Scalar end, Scalar step, Options options) {
  frontend::check_options(options);
  const bool any_float =
      start.is_floating_point() || end.is_floating_point() || step.is_floating_point();
  const DType dtype = options.dtype.value_or(any_float ? float32 : int64);
  if (dtype == boolean) throw Error("\"arange_cpu\" not implemented for 'Bool'");
  const bool integral = is_integral(dtype, false);
  const bool half = dtype == float16 || dtype == bfloat16;
  auto acc = [&](const Scalar& v) -> double {
    if (integral) return static_cast<double>(v.to_int64());
    if (half) return static_cast<float>(v.to_double());
    return v.to_double();
  };
  const double xstart = acc(start), xend = acc(end), xstep = acc(step);
  if (xstep == 0) throw Error("step must be nonzero");
  if (!std::isfinite(xstart) || !std::isfinite(xend))
    throw Error(absl::StrCat("unsupported range: ", xstart, " -> ", xend));
  if (!((xstep > 0 && xend >= xstart) || (xstep < 0 && xend <= xstart)))
    throw Error("upper bound and larger bound inconsistent with step sign");
  const double size_d = dtype == int64
                            ? std::ceil(static_cast<double>(end.to_int64() - start.to_int64()) /
                                        static_cast<double>(step.to_int64()))
                            : std::ceil((end.to_double() - start.to_double()) / step.to_double());
  if (!(size_d >= 0 && size_d <= 9.0e15))
    throw Error(absl::StrCat("invalid size, possible overflow? size=", size_d));
  const int64_t n = static_cast<int64_t>(size_d);
  const size_t size = itemsize(dtype);
  return frontend::host_tensor(dtype, {n}, [&](char* out, int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
      char* q = out + i * static_cast<int64_t>(size);
      if (integral) {
        frontend::store_int64(q, dtype, start.to_int64() + i * step.to_int64());
      } else if (half) {
        const float v =
            static_cast<float>(xstart) + static_cast<float>(i) * static_cast<float>(xstep);
        frontend::store_double(q, dtype, v);
      } else {
        frontend::store_double(q, dtype, xstart + static_cast<double>(i) * xstep);
      }
    }
  });
}

Tensor linspace(Scalar start, Scalar end, int64_t steps, DType dtype) {
  return linspace(start, end, steps, Options{.dtype = dtype});
}

static Tensor linspace_values(Scalar start, Scalar end, int64_t steps, Options options) {
  frontend::check_options(options);
  if (steps < 0) throw Error("linspace: number of steps must be non-negative");
  const DType dtype = options.dtype.value_or(float32);
  const size_t size = itemsize(dtype);
  // PyTorch's kernel: the first half counts up from start, the second half down from end, with
  // the step in the output type (double for integer outputs).
  // One step gives start (torch fills with start, not end).
  if (steps == 1) return full({1}, start, dtype);
  return frontend::host_tensor(dtype, {steps}, [&](char* out, int64_t n) {
    const int64_t halfway = n / 2;
    for (int64_t i = 0; i < n; ++i) {
      char* q = out + i * static_cast<int64_t>(size);
      if (dtype == float32 || dtype == float16 || dtype == bfloat16) {
        const float s = static_cast<float>(start.to_double()),
                    e = static_cast<float>(end.to_double());
        const float step = n > 1 ? (e - s) / static_cast<float>(n - 1) : 0.0f;
        const float v = i < halfway ? s + step * static_cast<float>(i)
                                    : e - step * static_cast<float>(n - i - 1);
        frontend::store_double(q, dtype, v);
      } else {
        const double s = start.to_double(), e = end.to_double();
        const double step = n > 1 ? (e - s) / static_cast<double>(n - 1) : 0.0;
        const double v = i < halfway ? s + step * static_cast<double>(i)
                                     : e - step * static_cast<double>(n - i - 1);
        frontend::store_double(q, dtype, v);
      }
    }
  });
}

Tensor arange(Scalar start, Scalar end, Scalar step, Options options) {
  return frontend::with_grad_option(arange_values(start, end, step, options), options);
}

Tensor linspace(Scalar start, Scalar end, int64_t steps, Options options) {
  return frontend::with_grad_option(linspace_values(start, end, steps, options), options);
}

}  // namespace kiln
