// Recording history: hooks that the frontend's three value paths call (tensor_impl.cpp).
//   read(t)          -> on_read: a tensor that requires grad is read as a fresh node, noted as
//                       that tensor's (with its gradient edge);
//   make_tensor(v)   -> on_result: the op's fragment is the pending nodes from v down to the
//                       noted reads (and to other tensors' values, constants and buffers);
//   make_view(b, ..) -> on_view: the view is an as_strided window of its root's value;
//   write(t, v)      -> prepare_write/finish_write: in-place ops (leaves are refused).
// Every frontend op is made of these, so all ops are recorded without per-op code, at the IR
// level that the gradient table (vjp.h) speaks.
#pragma once

#include <memory>

#include "kiln/frontend/autograd/meta.h"
#include "kiln/frontend/tensor_impl.h"

namespace kiln::frontend::autograd {

LazyPtr on_read(const TensorImpl& t, LazyPtr value);
// The gradient edge of a tensor that requires grad, its history brought up to date first.
Edge current_edge(const TensorImpl& t);
// The autograd state of a fresh tensor holding `value` (null: it has no history).
std::shared_ptr<AutogradMeta> on_result(const LazyPtr& value);
// The autograd state of a new view of `base` (view.view_root already set).
std::shared_ptr<AutogradMeta> on_view(const TensorImpl& view,
                                      const std::shared_ptr<TensorImpl>& base);

// An in-place write of `value` into `t`: call prepare_write before the storage changes (it
// throws for leaves that require grad and records the new history) and finish_write after.
struct PendingWrite {
  std::shared_ptr<TensorImpl> target;  // the tensor whose history changes (t or its root)
  std::shared_ptr<GradFn> grad_fn;
  bool active = false;
};
PendingWrite prepare_write(const std::shared_ptr<TensorImpl>& t, const LazyPtr& value);
void finish_write(const std::shared_ptr<TensorImpl>& t, const PendingWrite& pending);
// An eager write is about to change `node`'s buffer in place: the write's own recorded history
// gets a copy of the old value wherever it read `node` (PyTorch saves the original self of an
// in-place op the same way), so its backward pass still sees the value the op read.
void preserve_read_value(const PendingWrite& pending, const LazyPtr& node);

// A functional write replaced `node` (a buffer it read) as its storage's content and moved
// `node`'s version so that other saved values of it count as modified; the write's own
// history read the value before the write, which the buffer still holds, so it stays valid.
void accept_own_write(const PendingWrite& pending, const LazyPtr& node);

// `result` = `source` moved to another device (Tensor::to): when grad mode is on and `source`
// requires grad, `result` gets a GradFn that moves its gradient back to source's device.
void record_transfer(const Tensor& source, const Tensor& result);

// The fragment from `root` down to the noted reads (null when nothing in it requires grad).
std::shared_ptr<GradFn> capture(const LazyPtr& root);

}  // namespace kiln::frontend::autograd
