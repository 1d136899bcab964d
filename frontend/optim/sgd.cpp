#include "kiln/frontend/optim/sgd.h"

#include "kiln/frontend/grad_api.h"
#include "kiln/runtime/error.h"

namespace kiln::optim {

namespace {

GroupOptions sgd_defaults(double lr, double momentum, double dampening, double weight_decay,
                          bool nesterov, bool maximize) {
  detail::check_non_negative(lr, "learning rate");
  detail::check_non_negative(momentum, "momentum value");
  detail::check_non_negative(weight_decay, "weight_decay value");
  if (nesterov && (momentum <= 0 || dampening != 0))
    throw Error("Nesterov momentum requires a momentum and zero dampening");
  // PyTorch's key order (its state_dict lists them so).
  return {{"lr", lr},
          {"momentum", momentum},
          {"dampening", dampening},
          {"weight_decay", weight_decay},
          {"nesterov", nesterov ? 1.0 : 0.0},
          {"maximize", maximize ? 1.0 : 0.0}};
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov, bool maximize)
    : SGD(std::vector<ParamGroup>{ParamGroup(std::move(params))}, lr, momentum, dampening,
          weight_decay, nesterov, maximize) {}

SGD::SGD(std::vector<ParamGroup> groups, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov, bool maximize)
    : Optimizer(std::move(groups),
                sgd_defaults(lr, momentum, dampening, weight_decay, nesterov, maximize)) {}

void SGD::step() {
  NoGradGuard no_grad;
  size_t id = 0;
  for (const ParamGroup& group : param_groups()) {
    const double lr = group.get("lr");
    const double momentum = group.get("momentum");
    const double dampening = group.get("dampening");
    const double weight_decay = group.get("weight_decay");
    const bool nesterov = group.get("nesterov") != 0;
    const bool maximize = group.get("maximize") != 0;
    for (const Tensor& param : group.params) {
      ParamState& s = state(id++);
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      // The same operations in the same order as torch.optim.SGD's _single_tensor_sgd.
      Tensor d_p = maximize ? -grad : grad;
      if (weight_decay != 0) d_p = d_p + param * weight_decay;
      if (momentum != 0) {
        if (!s.tensors.contains("momentum_buffer")) {
          s.tensors.insert("momentum_buffer", d_p.detach().clone());
        } else {
          // buf.mul_(momentum).add_(d_p, alpha=1 - dampening), written in place (lazily:
          // the write fuses with the update), so that a compiled step updates the same buffer.
          const Tensor& buf = s.tensors.at("momentum_buffer");
          buf.copy_(buf * momentum + d_p * (1 - dampening));
        }
        const Tensor& buf = s.tensors.at("momentum_buffer");
        d_p = nesterov ? d_p + buf * momentum : buf;
      }
      param.add_(d_p * -lr);
    }
  }
}

}  // namespace kiln::optim
