#include "kiln/frontend/tensor_impl.h"

#include "kiln/frontend/autograd/record.h"
#include "kiln/frontend/realize.h"
#include "kiln/runtime/strided.h"

namespace kiln::frontend {

const TensorImpl& impl_of(const Tensor& t) {
  if (!t.defined()) throw Error("the tensor is undefined (default-constructed Tensor)");
  return *t.impl();
}

void set_storage_value(const std::shared_ptr<Storage>& storage, LazyPtr value) {
  // A node can be the content of one storage only: both would get the same buffer.
  if (value->owned_by_storage)
    value = make_node(ir::Op::reshape, {value}, ir::ShapeAttrs{value->type.shape});
  if (storage->value) storage->value->owned_by_storage = false;
  value->owned_by_storage = true;
  storage->value = std::move(value);
  if (storage->value->realized()) return;
  if (storage->value->external) {
    realize({storage->value});
    return;
  }
  register_pending(storage);
  note_recorded_node();
}

Tensor make_tensor(LazyPtr value) {
  auto storage = std::make_shared<Storage>();
  storage->numel = value->numel();
  storage->dtype = value->type.dtype;
  storage->device = value->device;
  auto ti = std::make_shared<TensorImpl>();
  ti->storage = storage;
  ti->sizes = value->type.shape;
  ti->strides = contiguous_strides(ti->sizes);
  ti->autograd = autograd::on_result(value);
  set_storage_value(storage, std::move(value));
  return Tensor(std::move(ti));
}

Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset) {
  auto ti = std::make_shared<TensorImpl>();
  ti->storage = impl_of(base).storage;
  ti->sizes = std::move(sizes);
  ti->strides = std::move(strides);
  ti->offset = offset;
  // The root: the tensor that owns the whole storage, or a tensor that requires grad without
  // being a view of one (a leaf made from a view), whose gradient the view's must reach.
  const std::shared_ptr<TensorImpl>& b = base.impl();
  const bool base_is_root =
      b->view_root == nullptr ||
      (b->autograd != nullptr && b->autograd->requires_grad && b->autograd->view_root == nullptr);
  ti->view_root = base_is_root ? b : b->view_root;
  ti->autograd = autograd::on_view(*ti, b);
  return Tensor(std::move(ti));
}

LazyPtr read(const Tensor& t) {
  const TensorImpl& ti = impl_of(t);
  const LazyPtr& content = ti.storage->value;
  LazyPtr value = ti.covers_storage()
                      ? reshape(content, ti.sizes)
                      : make_node(ir::Op::as_strided, {content},
                                  ir::StridedAttrs{ti.sizes, ti.strides, ti.offset});
  return autograd::on_read(ti, std::move(value));
}

void write(const Tensor& t, LazyPtr value) {
  const TensorImpl& ti = impl_of(t);
  const std::shared_ptr<Storage>& storage = ti.storage;
  const autograd::PendingWrite history = autograd::prepare_write(t.impl(), value);
  ++storage->version;
  // Device memory is never visible outside kiln (no data_ptr), so writes into a realized CUDA
  // storage stay functional like writes into a pending one.
  if (!storage->value->realized() || storage->device.is_cuda()) {
    if (ti.covers_storage()) {
      set_storage_value(storage, reshape(value, storage->value->type.shape));
    } else {
      set_storage_value(storage, make_node(ir::Op::as_strided_scatter, {storage->value, value},
                                           ir::StridedAttrs{ti.sizes, ti.strides, ti.offset}));
    }
  } else {
    // The storage has a buffer that others may see (from_blob memory, data_ptr): write into
    // it now. realize() computes every pending value first, so none still reads the old
    // contents.
    realize({value});
    autograd::preserve_read_value(history, storage->value);
    ++storage->value->version;  // values saved for backward see the change
    runtime::copy_into_strided(storage->value->buffer->data(), ti.sizes, ti.strides, ti.offset,
                               value->buffer->data(), itemsize(ti.dtype()));
  }
  autograd::finish_write(t.impl(), history);
}

void* realized_data(const Tensor& t) {
  const TensorImpl& ti = impl_of(t);
  if (!ti.device().is_cpu())
    throw Error("data_ptr: tensor is on " + ti.device().str() +
                "; device memory cannot be read on the host: call .cpu() first");
  if (!ti.storage->value->realized()) realize({ti.storage->value});
  return static_cast<char*>(ti.storage->value->buffer->data()) +
         ti.offset * static_cast<int64_t>(itemsize(ti.dtype()));
}

}  // namespace kiln::frontend
