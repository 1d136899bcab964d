// Tensor's autograd methods and the free functions of grad_api.h.
#include "absl/strings/str_cat.h"
#include "kiln/frontend/autograd/engine.h"
#include "kiln/frontend/autograd/grad_mode.h"
#include "kiln/frontend/autograd/meta.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/grad_api.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/runtime/error.h"

namespace kiln {

using frontend::impl_of;
using frontend::autograd::AutogradMeta;

const Tensor& Tensor::requires_grad_(bool requires_grad) const {
  frontend::TensorImpl& ti = *impl();
  if (requires_grad && !kiln::is_floating_point(dtype()))
    throw Error("only Tensors of floating point dtype can require gradients");
  if (ti.autograd != nullptr && ti.autograd->grad_fn != nullptr) {
    if (!requires_grad)
      throw Error(
          "you can only change requires_grad flags of leaf variables. If you want to use a "
          "computed variable in a subgraph that doesn't require differentiation use "
          "var_no_grad = var.detach().");
    return *this;
  }
  if (ti.autograd == nullptr) {
    if (!requires_grad) return *this;
    ti.autograd = std::make_shared<AutogradMeta>();
  }
  ti.autograd->requires_grad = requires_grad;
  ti.autograd->view_root = nullptr;  // a leaf of its own
  return *this;
}

bool Tensor::requires_grad() const {
  const auto& meta = impl_of(*this).autograd;
  return meta != nullptr && meta->requires_grad;
}

bool Tensor::is_leaf() const {
  const auto& meta = impl_of(*this).autograd;
  return meta == nullptr || !meta->requires_grad ||
         (meta->grad_fn == nullptr && meta->view_root == nullptr);
}

void Tensor::backward(const Tensor& gradient, bool create_graph) const {
  if (!requires_grad())
    throw Error("element 0 of tensors does not require grad and does not have a grad_fn");
  Tensor g = gradient;
  if (!g.defined()) {
    if (numel() != 1) throw Error("grad can be implicitly created only for scalar outputs");
    g = ones(sizes(), {.dtype = dtype(), .device = device()});
  } else if (g.sizes() != sizes()) {
    throw Error(absl::StrCat("Mismatch in shape: grad_output[0] has a shape of ",
                             shape_to_string(g.sizes()), " and output[0] has a shape of ",
                             shape_to_string(sizes()), "."));
  }
  frontend::autograd::backward({*this}, {g.to(dtype())}, {}, create_graph);
}

Tensor Tensor::grad() const {
  const auto& meta = impl_of(*this).autograd;
  return meta != nullptr ? meta->grad : Tensor();
}

Tensor Tensor::detach() const {
  const frontend::TensorImpl& ti = impl_of(*this);
  auto out = std::make_shared<frontend::TensorImpl>();
  out->storage = ti.storage;
  out->sizes = ti.sizes;
  out->strides = ti.strides;
  out->offset = ti.offset;
  out->view_root = ti.view_root;
  return Tensor(std::move(out));
}

Tensor Tensor::data() const { return detach(); }

void Tensor::set_data(const Tensor& data) const {
  frontend::TensorImpl& ti = *impl();
  const frontend::TensorImpl& from = impl_of(data);
  ti.storage = from.storage;
  ti.sizes = from.sizes;
  ti.strides = from.strides;
  ti.offset = from.offset;
  ti.view_root = from.view_root;
  if (ti.autograd != nullptr) ti.autograd->version = ti.storage->version;
}

void Tensor::retain_grad() const {
  const auto& meta = impl_of(*this).autograd;
  if (meta == nullptr || !meta->requires_grad)
    throw Error("can't retain_grad on Tensor that has requires_grad=False");
  if (is_leaf() || meta->retains_grad) return;
  meta->retains_grad = true;
  if (meta->grad_fn != nullptr) meta->grad_fn->retained.push_back(meta);
}

NoGradGuard::NoGradGuard() : previous_(frontend::autograd::grad_enabled()) {
  frontend::autograd::set_grad_enabled(false);
}
NoGradGuard::~NoGradGuard() { frontend::autograd::set_grad_enabled(previous_); }

void set_grad_enabled(bool enabled) { frontend::autograd::set_grad_enabled(enabled); }
bool is_grad_enabled() { return frontend::autograd::grad_enabled(); }

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool create_graph) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    throw Error(absl::StrCat("grad: got ", grad_outputs.size(), " grad_outputs for ",
                             outputs.size(), " outputs"));
  std::vector<Tensor> gs;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (i < grad_outputs.size() && grad_outputs[i].defined()) {
      gs.push_back(grad_outputs[i].to(outputs[i].dtype()));
      continue;
    }
    if (outputs[i].numel() != 1)
      throw Error("grad can be implicitly created only for scalar outputs");
    gs.push_back(
        ones(outputs[i].sizes(), {.dtype = outputs[i].dtype(), .device = outputs[i].device()}));
  }
  if (inputs.empty()) throw Error("grad requires at least one input");
  return frontend::autograd::backward(outputs, gs, inputs, create_graph);
}

}  // namespace kiln
