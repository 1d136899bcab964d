// optim::AdamW (torch.optim.AdamW): Adam with decoupled weight decay, p *= 1 - lr * weight_decay
// before the Adam update (the decay does not pass through the moment estimates).
#pragma once

#include <utility>
#include <vector>

#include "kiln/frontend/optim/adam.h"

namespace kiln::optim {

class AdamW : public Adam {
 public:
  explicit AdamW(std::vector<Tensor> params, double lr = 1e-3,
                 std::pair<double, double> betas = {0.9, 0.999}, double eps = 1e-8,
                 double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false);
  explicit AdamW(std::vector<ParamGroup> groups, double lr = 1e-3,
                 std::pair<double, double> betas = {0.9, 0.999}, double eps = 1e-8,
                 double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false);
};

}  // namespace kiln::optim
