// Tensor queries, host access (item, data_ptr, tolist), conversion and printing.
#include "kiln/frontend/tensor.h"

#include <ostream>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "kiln/frontend/autograd/record.h"
#include "kiln/frontend/checks.h"
#include "kiln/frontend/compile/trace_state.h"
#include "kiln/frontend/elements.h"
#include "kiln/frontend/format.h"
#include "kiln/frontend/realize.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/half.h"
#include "kiln/runtime/strided.h"
#include "kiln/runtime/transfer.h"

namespace kiln {
namespace frontend {
namespace {

// The host copy that item(), tolist() and printing read a device tensor through (it
// synchronizes and records nothing). Refused while tracing with the message of those reads,
// not the transfer's.
Tensor host_copy(const Tensor& t) {
  fail_if_tracing("item(), tolist(), printing or data_ptr");
  return t.detach().cpu();
}

}  // namespace
}  // namespace frontend

using frontend::impl_of;

int64_t Tensor::dim() const { return static_cast<int64_t>(impl_of(*this).sizes.size()); }
int64_t Tensor::size(int64_t d) const { return impl_of(*this).sizes[frontend::wrap_dim(d, dim())]; }
const Shape& Tensor::sizes() const { return impl_of(*this).sizes; }
const Shape& Tensor::strides() const { return impl_of(*this).strides; }
int64_t Tensor::stride(int64_t d) const {
  return impl_of(*this).strides[frontend::wrap_dim(d, dim())];
}
int64_t Tensor::storage_offset() const { return impl_of(*this).offset; }
int64_t Tensor::numel() const { return impl_of(*this).numel(); }
DType Tensor::dtype() const { return impl_of(*this).dtype(); }
Device Tensor::device() const { return impl_of(*this).device(); }
bool Tensor::is_contiguous() const { return impl_of(*this).is_contiguous(); }
bool Tensor::is_floating_point() const { return kiln::is_floating_point(dtype()); }

namespace {

// Calls fn(element pointer) for every element in row-major order (realizes the tensor).
template <class Fn>
void for_each_element(const Tensor& t, Fn&& fn) {
  const auto& ti = impl_of(t);
  const char* base =
      static_cast<const char*>(frontend::realized_data(t, frontend::HostAccess::kRead));
  const int64_t item = static_cast<int64_t>(itemsize(ti.dtype()));
  runtime::for_each_strided(ti.sizes, ti.strides, 0, [&](int64_t pos) { fn(base + pos * item); });
}

template <class T>
T convert_element(const void* p, DType dtype) {
  if constexpr (std::is_same_v<T, bool>) {
    return kiln::is_floating_point(dtype) ? frontend::load_double(p, dtype) != 0.0
                                          : frontend::load_int64(p, dtype) != 0;
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(frontend::load_double(p, dtype));
  } else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return T(static_cast<float>(frontend::load_double(p, dtype)));
  } else {
    // Integers: exact from integer dtypes; floating values truncate like a C cast.
    return static_cast<T>(frontend::load_int64(p, dtype));
  }
}

}  // namespace

template <class T>
T Tensor::item() const {
  if (numel() != 1)
    throw Error(absl::StrCat("a Tensor with ", numel(), " elements cannot be converted to Scalar"));
  if (device().is_cuda()) return frontend::host_copy(*this).item<T>();
  return convert_element<T>(frontend::realized_data(*this, frontend::HostAccess::kRead), dtype());
}

template <class T>
T* Tensor::data_ptr() const {
  DType want = float32;
  if constexpr (std::is_same_v<T, Half>)
    want = float16;
  else if constexpr (std::is_same_v<T, BFloat16>)
    want = bfloat16;
  else if constexpr (std::is_same_v<T, bool>)
    want = boolean;
  else if constexpr (std::is_same_v<T, float>)
    want = float32;
  else if constexpr (std::is_same_v<T, double>)
    want = float64;
  else if constexpr (std::is_same_v<T, int8_t>)
    want = int8;
  else if constexpr (std::is_same_v<T, int16_t>)
    want = int16;
  else if constexpr (std::is_same_v<T, int32_t>)
    want = int32;
  else if constexpr (std::is_same_v<T, int64_t>)
    want = int64;
  else if constexpr (std::is_same_v<T, uint8_t>)
    want = uint8;
  if (want != dtype())
    throw Error(absl::StrCat("expected scalar type ", frontend::torch_type_name(want),
                             " but found ", frontend::torch_type_name(dtype())));
  T* data = static_cast<T*>(frontend::realized_data(*this, frontend::HostAccess::kExpose));
  // The caller may now write through the pointer: ops reading this storage run at the call.
  impl_of(*this).storage->value->external = true;
  return data;
}

template <class T>
std::vector<T> Tensor::tolist() const {
  if (device().is_cuda()) return frontend::host_copy(*this).tolist<T>();
  std::vector<T> out;
  out.reserve(static_cast<size_t>(numel()));
  const DType d = dtype();
  for_each_element(*this, [&](const char* p) { out.push_back(convert_element<T>(p, d)); });
  return out;
}

#define KILN_INSTANTIATE_HOST_ACCESS(T)    \
  template T Tensor::item<T>() const;      \
  template T* Tensor::data_ptr<T>() const; \
  template std::vector<T> Tensor::tolist<T>() const;
KILN_INSTANTIATE_HOST_ACCESS(float)
KILN_INSTANTIATE_HOST_ACCESS(double)
KILN_INSTANTIATE_HOST_ACCESS(int8_t)
KILN_INSTANTIATE_HOST_ACCESS(int16_t)
KILN_INSTANTIATE_HOST_ACCESS(int32_t)
KILN_INSTANTIATE_HOST_ACCESS(int64_t)
KILN_INSTANTIATE_HOST_ACCESS(uint8_t)
KILN_INSTANTIATE_HOST_ACCESS(bool)
KILN_INSTANTIATE_HOST_ACCESS(Half)
KILN_INSTANTIATE_HOST_ACCESS(BFloat16)
#undef KILN_INSTANTIATE_HOST_ACCESS

Tensor Tensor::to(DType dtype) const {
  if (dtype == this->dtype()) return *this;
  return frontend::make_tensor(frontend::cast(frontend::read(*this), dtype));
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  check_device_exists(device, absl::StrCat("cannot move a tensor to ", device.str()));
  // The dense values on the source device, then one copy. The copy is a leaf of the lazy
  // graph (each realization graph lives on one device); autograd gives it a GradFn that moves
  // its gradient back (record_transfer). While compile() traces, the tracer computes the
  // source as a graph of its own, which its program runs before the graphs that read the copy.
  const Tensor src = contiguous();
  const auto& ti = impl_of(src);
  frontend::LazyPtr moved;
  if (frontend::TraceObserver* observer = frontend::trace_observer()) {
    moved = observer->on_transfer(frontend::read(src), device);
  } else {
    if (!ti.storage->value->realized()) frontend::realize_reading({ti.storage->value});
    const size_t item = static_cast<size_t>(itemsize(dtype()));
    moved = frontend::make_leaf(
        runtime::copy_to_device(*ti.storage->value->buffer, static_cast<size_t>(ti.offset) * item,
                                static_cast<size_t>(numel()) * item, device),
        ir::TensorType{dtype(), sizes()}, device);
  }
  Tensor result = frontend::make_tensor(std::move(moved));
  frontend::autograd::record_transfer(*this, result);
  return result;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const { return frontend::make_tensor(frontend::read(*this)); }

void eval(const std::vector<Tensor>& tensors) {
  absl::InlinedVector<frontend::LazyPtr, 4> targets;
  for (const Tensor& t : tensors)
    if (t.defined()) targets.push_back(impl_of(t).storage->value);
  frontend::realize_reading(targets);
}

void eval_each(std::initializer_list<const Tensor*> tensors) {
  absl::InlinedVector<frontend::LazyPtr, 4> targets;
  for (const Tensor* t : tensors)
    if (t->defined()) targets.push_back(impl_of(*t).storage->value);
  frontend::realize_reading(targets);
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "[ Tensor (undefined) ]";
  if (t.device().is_cuda()) {
    // The values come from a host copy; the suffix names the tensor's own device.
    const Tensor host = frontend::host_copy(t);
    TensorPrintInput in;
    in.dtype = t.dtype();
    in.sizes = t.sizes();
    in.device = t.device();
    in.requires_grad = t.requires_grad() && t.is_leaf();
    if (kiln::is_floating_point(t.dtype())) {
      for_each_element(
          host, [&](const char* p) { in.floats.push_back(frontend::load_double(p, in.dtype)); });
    } else {
      for_each_element(
          host, [&](const char* p) { in.ints.push_back(frontend::load_int64(p, in.dtype)); });
    }
    return os << format_tensor(in);
  }
  TensorPrintInput in;
  in.dtype = t.dtype();
  in.sizes = t.sizes();
  in.device = t.device();
  in.requires_grad = t.requires_grad() && t.is_leaf();
  const DType d = t.dtype();
  if (kiln::is_floating_point(d)) {
    for_each_element(t, [&](const char* p) { in.floats.push_back(frontend::load_double(p, d)); });
  } else {
    for_each_element(t, [&](const char* p) { in.ints.push_back(frontend::load_int64(p, d)); });
  }
  return os << format_tensor(in);
}

}  // namespace kiln
