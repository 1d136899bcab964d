// optim::SGD: stochastic gradient descent with momentum, dampening, weight decay and Nesterov
// momentum (torch.optim.SGD, PyTorch 1.13's single-tensor update).
#pragma once

#include <vector>

#include "kiln/frontend/optim/optimizer.h"

namespace kiln::optim {

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, double lr, double momentum = 0, double dampening = 0,
      double weight_decay = 0, bool nesterov = false, bool maximize = false);
  // Groups may set their own options ({"lr", 0.1}, {"momentum", 0.9}, ...); the arguments are
  // the defaults of the others.
  SGD(std::vector<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0,
      double weight_decay = 0, bool nesterov = false, bool maximize = false);

  using Optimizer::step;
  // For each parameter p with gradient g:
  //   g += weight_decay * p;  buf = momentum * buf + (1 - dampening) * g  (buf = g at first)
  //   g = nesterov ? g + momentum * buf : buf  (when momentum != 0);  p -= lr * g
  void step() override;
};

}  // namespace kiln::optim
