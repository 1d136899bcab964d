// Loss functions (torch.nn.functional's): free functions built from differentiable Tensor ops,
// so backward() flows through them. `reduction` is "mean" (default), "sum" or "none".
#pragma once

#include <cstdint>
#include <string>

#include "kiln/frontend/tensor.h"

namespace kiln::nn {

// mean((input - target)^2) (or sum / elementwise); the shapes broadcast.
Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
// mean(|input - target|).
Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");

struct NLLLossOptions {
  Tensor weight;                // per-class weights [C]; undefined: all 1
  int64_t ignore_index = -100;  // targets equal to it contribute nothing (nor to the mean)
  std::string reduction = "mean";
};
// -input[i, target[i]] (weighted), for log-probabilities `input` of shape [N, C], [C] or
// [N, C, d1, ...] and int64 class indices `target` of shape [N], [] or [N, d1, ...]. The mean
// divides by the sum of the weights of the targets not ignored, as PyTorch.
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options = {});

struct CrossEntropyOptions {
  Tensor weight;
  int64_t ignore_index = -100;
  std::string reduction = "mean";
  double label_smoothing = 0.0;  // in [0, 1]
};
// nll_loss(log_softmax(input, class dim), target): raw scores `input` ([N, C], [C] or
// [N, C, d1, ...]) and int64 class indices; or, when `target` is floating with input's shape,
// class probabilities (-sum(target * log_softmax(input)) over the class dim).
Tensor cross_entropy(const Tensor& input, const Tensor& target,
                     const CrossEntropyOptions& options = {});

struct BCEWithLogitsOptions {
  Tensor weight;      // broadcast over the elementwise losses
  Tensor pos_weight;  // weight of the positive term, broadcast along the last dim (classes)
  std::string reduction = "mean";
};
// Binary cross entropy of sigmoid(input) against `target` in [0, 1], computed from the logits
// without overflow (PyTorch's log-sum-exp form). input and target have the same shape.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsOptions& options = {});
// Binary cross entropy of probabilities `input` (each log clamped at -100, as PyTorch).
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target,
                            const Tensor& weight = Tensor(), const std::string& reduction = "mean");

}  // namespace kiln::nn
