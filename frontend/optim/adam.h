// optim::Adam (torch.optim.Adam, PyTorch 1.13's single-tensor update): moment estimates with
// bias correction, optional L2 weight decay folded into the gradient, and AMSGrad.
#pragma once

#include <utility>
#include <vector>

#include "kiln/frontend/optim/optimizer.h"

namespace kiln::optim {

class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<Tensor> params, double lr = 1e-3,
                std::pair<double, double> betas = {0.9, 0.999}, double eps = 1e-8,
                double weight_decay = 0, bool amsgrad = false, bool maximize = false);
  explicit Adam(std::vector<ParamGroup> groups, double lr = 1e-3,
                std::pair<double, double> betas = {0.9, 0.999}, double eps = 1e-8,
                double weight_decay = 0, bool amsgrad = false, bool maximize = false);

  using Optimizer::step;
  // For each parameter p with gradient g, step t:
  //   g += weight_decay * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
  //   denom = sqrt(v) / sqrt(1 - b2^t) + eps  (v: max of all v with amsgrad)
  //   p -= lr / (1 - b1^t) * m / denom
  // t is state "step", a float32 0-d tensor on p's device (PyTorch's capturable=True), and the
  // bias corrections are float64 tensor math on it, so step() also runs inside compile().
  void step() override;

 protected:
  // AdamW's constructor: the same options, decoupled weight decay.
  Adam(std::vector<ParamGroup> groups, double lr, std::pair<double, double> betas, double eps,
       double weight_decay, bool amsgrad, bool maximize, bool decoupled_weight_decay);

 private:
  bool decoupled_weight_decay_ = false;
};

namespace detail {
// Adam's and AdamW's defaults, after PyTorch's constructor checks.
GroupOptions adam_defaults(double lr, std::pair<double, double> betas, double eps,
                           double weight_decay, bool amsgrad, bool maximize);
}  // namespace detail

}  // namespace kiln::optim
