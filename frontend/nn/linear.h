// nn::Linear: y = x W^T + b (torch.nn.Linear), with PyTorch's initialisation drawn from the
// global generator in PyTorch's order, so manual_seed(s) gives PyTorch's weights.
#pragma once

#include <cstdint>

#include "kiln/frontend/nn/module.h"
#include "kiln/frontend/nn/module_holder.h"

namespace kiln::nn {

class LinearImpl : public Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true);

  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  // weight ~ kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)); bias ~ the same
  // range, drawn after the weight.
  void reset_parameters();

  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }
  const Tensor& weight() const { return weight_; }  // [out_features, in_features]
  const Tensor& bias() const { return bias_; }      // [out_features]; undefined without bias

 private:
  int64_t in_features_;
  int64_t out_features_;
  Tensor weight_;
  Tensor bias_;
};

// The value-type handle: `nn::Linear m(10, 1); m(x); m.weight();` (copies share the layer).
class Linear : public ModuleHolder<LinearImpl> {
 public:
  using ModuleHolder<LinearImpl>::ModuleHolder;
  Linear(int64_t in_features, int64_t out_features, bool bias = true)
      : ModuleHolder(std::make_shared<LinearImpl>(in_features, out_features, bias)) {}

  const Tensor& weight() const { return get().weight(); }
  const Tensor& bias() const { return get().bias(); }
  int64_t in_features() const { return get().in_features(); }
  int64_t out_features() const { return get().out_features(); }
};

namespace functional {
// x W^T + b; `bias` may be undefined.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor());
}  // namespace functional

}  // namespace kiln::nn
