// Grad mode and functional gradients (API.md "Autograd"); Tensor's own autograd methods are
// in tensor.h.
#pragma once

#include <vector>

#include "kiln/frontend/tensor.h"

namespace kiln {

// Turns history recording off for its scope (torch.no_grad()). Needs a name: `NoGradGuard g;`.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

void set_grad_enabled(bool enabled);
bool is_grad_enabled();

// The gradients of sum(outputs[i] * grad_outputs[i]) with respect to `inputs`, without
// touching any .grad(). grad_outputs may be empty when every output has one element. With
// `create_graph` the results have history (for higher-order gradients).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool create_graph = false);

}  // namespace kiln
