#include "kiln/frontend/tensor_impl.h"

#include "kiln/frontend/autograd/record.h"
#include "kiln/frontend/compile/trace_state.h"
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
  note_pending(storage);
}

Tensor make_tensor(LazyPtr value) {
  auto storage = std::make_shared<Storage>();
  storage->numel = value->numel();
  storage->dtype = value->type.dtype;
  storage->device = value->device;
  if (TraceObserver* observer = trace_observer()) observer->on_storage_created(storage);
  auto ti = std::make_shared<TensorImpl>();
  ti->sizes = value->type.shape;
  ti->strides = contiguous_strides(ti->sizes);
  ti->autograd = autograd::on_result(value);
  set_storage_value(storage, std::move(value));
  ti->storage = std::move(storage);
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
  if (content->realized())
    if (TraceObserver* observer = trace_observer()) observer->on_read_realized(t.impl());
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
  const LazyPtr old = storage->value;
  // Functional: the storage's content becomes a new pending value. A whole realized buffer
  // that only kiln sees is replaced rather than written: values that read it before the write
  // (pending nodes, autograd's saved values) keep reading the old contents, and the write
  // fuses with what produced it (a training step's optimizer update, grad accumulation,
  // zero_grad). A write into part of a realized buffer stays eager (copying a large buffer to
  // change a few elements costs more than it saves), except while tracing (compile.h), where
  // nothing may run. The old node's version still moves, so that autograd refuses values
  // saved from it as PyTorch does ("modified by an inplace operation"), except in the write's
  // own history, which read it before the write.
  // Device memory is never visible outside kiln (no data_ptr), so writes into a realized CUDA
  // storage are always functional.
  const bool functional = !old->realized() || storage->device.is_cuda() ||
                          (!old->external && (ti.covers_storage() || tracing_active()));
  if (functional) {
    if (old->realized()) {
      ++old->version;
      autograd::accept_own_write(history, old);
    }
    if (ti.covers_storage()) {
      set_storage_value(storage, reshape(value, old->type.shape));
    } else {
      set_storage_value(storage, make_node(ir::Op::as_strided_scatter, {old, value},
                                           ir::StridedAttrs{ti.sizes, ti.strides, ti.offset}));
    }
  } else {
    // Memory that code outside kiln may read (from_blob, data_ptr), or part of a realized
    // buffer, is written now, as in PyTorch. realize() computes every pending value first, so none
    // still reads the old contents.
    realize({value});
    autograd::preserve_read_value(history, storage->value);
    ++storage->value->version;  // values saved for backward see the change
    runtime::copy_into_strided(storage->value->buffer->data(), ti.sizes, ti.strides, ti.offset,
                               value->buffer->data(), itemsize(ti.dtype()));
  }
  autograd::finish_write(t.impl(), history);
}

void* realized_data(const Tensor& t, HostAccess access) {
  const TensorImpl& ti = impl_of(t);
  fail_if_tracing("item(), tolist(), printing or data_ptr");
  if (!ti.device().is_cpu())
    throw Error("data_ptr: tensor is on " + ti.device().str() +
                "; device memory cannot be read on the host: call .cpu() first");
  if (access == HostAccess::kExpose) {
    if (!ti.storage->value->realized() || anything_pending()) realize({ti.storage->value});
  } else if (!ti.storage->value->realized()) {
    realize_reading({ti.storage->value});
  }
  return static_cast<char*>(ti.storage->value->buffer->data()) +
         ti.offset * static_cast<int64_t>(itemsize(ti.dtype()));
}

}  // namespace kiln::frontend
