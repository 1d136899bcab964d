// Activation layers: ReLU, Sigmoid, Tanh, Softmax, LogSoftmax (torch.nn), and the functional
// softmax and log_softmax they use, built from differentiable Tensor ops.
#pragma once

#include <cstdint>

#include "kiln/frontend/nn/module.h"
#include "kiln/frontend/nn/module_holder.h"

namespace kiln::nn {

namespace functional {
// exp(x - max) / sum(exp(x - max)) along `dim`. The maximum is a constant shift (detached), so
// large inputs do not overflow and the gradient is the exact softmax gradient.
Tensor softmax(const Tensor& input, int64_t dim);
// (x - max) - log(sum(exp(x - max))) along `dim`, stable for large and very negative inputs.
Tensor log_softmax(const Tensor& input, int64_t dim);
}  // namespace functional

class ReLUImpl : public Module {
 public:
  Tensor forward(const Tensor& input) override { return input.relu(); }
};
class SigmoidImpl : public Module {
 public:
  Tensor forward(const Tensor& input) override { return input.sigmoid(); }
};
class TanhImpl : public Module {
 public:
  Tensor forward(const Tensor& input) override { return input.tanh(); }
};

class SoftmaxImpl : public Module {
 public:
  explicit SoftmaxImpl(int64_t dim) : dim_(dim) {}
  Tensor forward(const Tensor& input) override { return functional::softmax(input, dim_); }
  std::string extra_repr() const override;
  int64_t dim() const { return dim_; }

 private:
  int64_t dim_;
};

class LogSoftmaxImpl : public Module {
 public:
  explicit LogSoftmaxImpl(int64_t dim) : dim_(dim) {}
  Tensor forward(const Tensor& input) override { return functional::log_softmax(input, dim_); }
  std::string extra_repr() const override;
  int64_t dim() const { return dim_; }

 private:
  int64_t dim_;
};

// Handles (copies share the module), constructible in place: `nn::ReLU()`, `nn::Softmax(1)`.
class ReLU : public ModuleHolder<ReLUImpl> {
 public:
  using ModuleHolder<ReLUImpl>::ModuleHolder;
  ReLU() : ModuleHolder(std::make_shared<ReLUImpl>()) {}
};
class Sigmoid : public ModuleHolder<SigmoidImpl> {
 public:
  using ModuleHolder<SigmoidImpl>::ModuleHolder;
  Sigmoid() : ModuleHolder(std::make_shared<SigmoidImpl>()) {}
};
class Tanh : public ModuleHolder<TanhImpl> {
 public:
  using ModuleHolder<TanhImpl>::ModuleHolder;
  Tanh() : ModuleHolder(std::make_shared<TanhImpl>()) {}
};
class Softmax : public ModuleHolder<SoftmaxImpl> {
 public:
  using ModuleHolder<SoftmaxImpl>::ModuleHolder;
  explicit Softmax(int64_t dim) : ModuleHolder(std::make_shared<SoftmaxImpl>(dim)) {}
};
class LogSoftmax : public ModuleHolder<LogSoftmaxImpl> {
 public:
  using ModuleHolder<LogSoftmaxImpl>::ModuleHolder;
  explicit LogSoftmax(int64_t dim) : ModuleHolder(std::make_shared<LogSoftmaxImpl>(dim)) {}
};

}  // namespace kiln::nn
