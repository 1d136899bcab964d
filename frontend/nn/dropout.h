// nn::Dropout: in training, zeroes each element with probability p and scales the rest by
// 1 / (1 - p); in eval mode, the identity (torch.nn.Dropout).
#pragma once

#include "kiln/frontend/nn/module.h"
#include "kiln/frontend/nn/module_holder.h"

namespace kiln::nn {

namespace functional {
// The mask is drawn from the global generator at the call, as PyTorch's CPU bernoulli_(1 - p)
// without MKL draws it (one 53-bit uniform double per element, kept when below 1 - p), so after
// manual_seed(s) the same elements are dropped as in torch 1.13 built without MKL. On CUDA the
// mask is the device generator's empty_like(input).bernoulli_(1 - p) (PyTorch's numbers for that
// call; PyTorch's fused CUDA dropout kernel draws differently, see docs/cuda.md).
Tensor dropout(const Tensor& input, double p = 0.5, bool training = true);
}  // namespace functional

class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(double p = 0.5);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  double p() const { return p_; }

 private:
  double p_;
};

class Dropout : public ModuleHolder<DropoutImpl> {
 public:
  using ModuleHolder<DropoutImpl>::ModuleHolder;
  explicit Dropout(double p = 0.5) : ModuleHolder(std::make_shared<DropoutImpl>(p)) {}
};

}  // namespace kiln::nn
