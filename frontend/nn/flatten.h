// nn::Flatten: flattens dims start_dim..end_dim into one (torch.nn.Flatten; the batch dim 0
// stays by default).
#pragma once

#include <cstdint>

#include "kiln/frontend/nn/module.h"
#include "kiln/frontend/nn/module_holder.h"

namespace kiln::nn {

class FlattenImpl : public Module {
 public:
  explicit FlattenImpl(int64_t start_dim = 1, int64_t end_dim = -1)
      : start_dim_(start_dim), end_dim_(end_dim) {}
  Tensor forward(const Tensor& input) override { return input.flatten(start_dim_, end_dim_); }
  std::string extra_repr() const override;

 private:
  int64_t start_dim_;
  int64_t end_dim_;
};

class Flatten : public ModuleHolder<FlattenImpl> {
 public:
  using ModuleHolder<FlattenImpl>::ModuleHolder;
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : ModuleHolder(std::make_shared<FlattenImpl>(start_dim, end_dim)) {}
};

}  // namespace kiln::nn
