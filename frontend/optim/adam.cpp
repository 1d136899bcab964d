#include "kiln/frontend/optim/adam.h"

#include "absl/strings/str_cat.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/grad_api.h"
#include "kiln/frontend/nn/python_repr.h"
#include "kiln/runtime/error.h"

namespace kiln::optim {

GroupOptions detail::adam_defaults(double lr, std::pair<double, double> betas, double eps,
                                   double weight_decay, bool amsgrad, bool maximize) {
  check_non_negative(lr, "learning rate");
  check_non_negative(eps, "epsilon value");
  if (!(betas.first >= 0.0 && betas.first < 1.0))
    throw Error("Invalid beta parameter at index 0: " + nn::detail::python_float_repr(betas.first));
  if (!(betas.second >= 0.0 && betas.second < 1.0))
    throw Error("Invalid beta parameter at index 1: " +
                nn::detail::python_float_repr(betas.second));
  check_non_negative(weight_decay, "weight_decay value");
  // PyTorch's key order.
  GroupOptions options;
  options.set("lr", lr);
  options.set_tuple("betas", {betas.first, betas.second});
  options.set("eps", eps);
  options.set("weight_decay", weight_decay);
  options.set("amsgrad", amsgrad ? 1.0 : 0.0);
  options.set("maximize", maximize ? 1.0 : 0.0);
  return options;
}

Adam::Adam(std::vector<Tensor> params, double lr, std::pair<double, double> betas, double eps,
           double weight_decay, bool amsgrad, bool maximize)
    : Adam(std::vector<ParamGroup>{ParamGroup(std::move(params))}, lr, betas, eps, weight_decay,
           amsgrad, maximize, false) {}

Adam::Adam(std::vector<ParamGroup> groups, double lr, std::pair<double, double> betas, double eps,
           double weight_decay, bool amsgrad, bool maximize)
    : Adam(std::move(groups), lr, betas, eps, weight_decay, amsgrad, maximize, false) {}

Adam::Adam(std::vector<ParamGroup> groups, double lr, std::pair<double, double> betas, double eps,
           double weight_decay, bool amsgrad, bool maximize, bool decoupled_weight_decay)
    : Optimizer(std::move(groups),
                detail::adam_defaults(lr, betas, eps, weight_decay, amsgrad, maximize)),
      decoupled_weight_decay_(decoupled_weight_decay) {}

namespace {

// A host scalar of the old eager step as a 0-d tensor that every backend turns into the same
// bits: the scalar was a double that the op's splat constant rounded to float32 first and then
// to float16/bfloat16 (ir constants, backends/cpu/codegen.cpp constant_bits), so the float64
// value takes the same two casts.
Tensor as_param_scalar(const Tensor& value64, DType dtype) {
  if (dtype == float64) return value64;
  const Tensor f32 = value64.to(float32);
  return dtype == float32 ? f32 : f32.to(dtype);
}

}  // namespace

void Adam::step() {
  NoGradGuard no_grad;
  size_t id = 0;
  for (const ParamGroup& group : param_groups()) {
    const double lr = group.get("lr");
    const std::vector<double>& betas = group.options.tuple("betas");
    const double beta1 = betas.at(0);
    const double beta2 = betas.at(1);
    const double eps = group.get("eps");
    const double weight_decay = group.get("weight_decay");
    const bool amsgrad = group.get("amsgrad") != 0;
    const bool maximize = group.get("maximize") != 0;
    for (const Tensor& param : group.params) {
      ParamState& s = state(id++);
      const Tensor raw_grad = param.grad();
      if (!raw_grad.defined()) continue;
      if (s.empty()) {
        // PyTorch's capturable step: a float32 0-d tensor on the parameter's device, so that a
        // compiled step counts in the program instead of freezing the first count.
        s.tensors.insert("step", zeros({}, {.dtype = float32, .device = param.device()}));
        s.tensors.insert("exp_avg", zeros_like(param));
        s.tensors.insert("exp_avg_sq", zeros_like(param));
      }
      // Also when amsgrad was switched on after the first steps (a param group option).
      if (amsgrad && !s.tensors.contains("max_exp_avg_sq"))
        s.tensors.insert("max_exp_avg_sq", zeros_like(param));
      if (!s.tensors.contains("step")) throw Error("Adam: the state of a parameter has no 'step'");
      const Tensor& step = s.tensors.at("step");
      step.add_(1);  // exact in float32 up to 2^24 steps

      // The same operations in the same order as _single_tensor_adam / _single_tensor_adamw.
      // The moment estimates are written in place (lazily: the writes fuse with the update).
      Tensor grad = maximize ? -raw_grad : raw_grad;
      Tensor base = param;  // the parameter before the Adam term (decayed for AdamW)
      if (decoupled_weight_decay_) {
        base = param * (1 - lr * weight_decay);
      } else if (weight_decay != 0) {
        grad = grad + param * weight_decay;
      }
      const Tensor& exp_avg = s.tensors.at("exp_avg");
      const Tensor& exp_avg_sq = s.tensors.at("exp_avg_sq");
      exp_avg.copy_(exp_avg * beta1 + grad * (1 - beta1));               // mul_, add_(alpha)
      exp_avg_sq.copy_(exp_avg_sq * beta2 + grad * (1 - beta2) * grad);  // mul_, addcmul_

      // The bias corrections in float64 0-d tensors: the double arithmetic the host did before
      // (the CPU backends call glibc's pow, as std::pow did; sqrt and division round correctly),
      // so eager values are unchanged and a traced step reads the count from the program. They
      // fuse into the update as loop invariants (one pow per kernel run, not per element). On
      // CUDA, pow is the device's, which may differ from glibc's in the last bit of the double.
      const Tensor t = step.to(float64);
      const Tensor bias_correction1 = 1.0 - pow(beta1, t);
      const Tensor bias_correction2 = 1.0 - pow(beta2, t);
      const Tensor step_size = lr / bias_correction1;
      const Tensor bias_correction2_sqrt = bias_correction2.sqrt();
      Tensor second = exp_avg_sq;
      if (amsgrad) {
        const Tensor& max_sq = s.tensors.at("max_exp_avg_sq");
        max_sq.copy_(maximum(max_sq, exp_avg_sq));
        second = max_sq;
      }
      const Tensor denom =
          second.sqrt() / as_param_scalar(bias_correction2_sqrt, param.dtype()) + eps;
      // addcdiv_(exp_avg, denom, value=-step_size): p + value * (exp_avg / denom), in place so
      // that every handle to the parameter sees it.
      param.copy_(base + exp_avg / denom * as_param_scalar(-step_size, param.dtype()));
    }
  }
}

}  // namespace kiln::optim
