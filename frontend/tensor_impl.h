// What a Tensor handle points at: a view (sizes, strides, offset) over a Storage, whose
// content is a lazy value. Views share the Storage, so writes through any view are seen by
// every alias, as in PyTorch.
#pragma once

#include <memory>

#include "kiln/frontend/lazy.h"
#include "kiln/frontend/tensor.h"

namespace kiln::frontend {
namespace autograd {
struct AutogradMeta;
}  // namespace autograd

struct Storage {
  int64_t numel = 0;
  DType dtype = float32;
  Device device = cpu;
  // The current content: numel elements in row-major order of value->type.shape. In-place
  // writes replace it (functionally while pending, in the buffer once realized).
  LazyPtr value;
  bool registered = false;  // listed among the storages with pending content
  uint64_t version = 0;     // bumped by every write (autograd detects stale history with it)
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape sizes;
  Shape strides;
  int64_t offset = 0;
  // Views: the tensor whose storage they window, when it covers the whole storage (the root of
  // a chain of views). In-place writes through a view update the root's autograd history.
  std::shared_ptr<TensorImpl> view_root;
  std::shared_ptr<autograd::AutogradMeta> autograd;  // null: no autograd state

  DType dtype() const { return storage->dtype; }
  Device device() const { return storage->device; }
  int64_t numel() const { return kiln::numel(sizes); }
  bool is_contiguous() const { return kiln::is_contiguous(sizes, strides); }
  // True when this view is the whole storage in row-major order.
  bool covers_storage() const {
    return offset == 0 && numel() == storage->numel && is_contiguous();
  }
};

// A new tensor owning fresh storage whose content is `value`.
Tensor make_tensor(LazyPtr value);
// A view of `base`'s storage.
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset);
const TensorImpl& impl_of(const Tensor& t);

// The lazy value of a tensor now (later writes to its storage do not change it).
LazyPtr read(const Tensor& t);
// Writes `value` (the tensor's shape and dtype) into the tensor's elements, as an in-place op.
void write(const Tensor& t, LazyPtr value);

// Realizes the tensor's storage and returns a pointer to its first element (offset applied).
// kRead: the caller only reads the elements now (item, tolist, printing, saving), so
// realization may leave cheap intermediates pending (realize_reading). kExpose: the pointer
// leaves kiln (data_ptr) and may be written through at any time, so every pending value is
// computed first, even when this tensor is already realized: none may read the old contents
// later.
enum class HostAccess { kRead, kExpose };
void* realized_data(const Tensor& t, HostAccess access);

// Replaces a storage's content with `value` and lists it as pending when it is not realized.
void set_storage_value(const std::shared_ptr<Storage>& storage, LazyPtr value);

}  // namespace kiln::frontend
