// The reverse-mode pass: from output tensors and their gradients, walk the GradFns in an order
// where each runs after every consumer of its result, running each recorded fragment
// backwards through the gradient table (vjp.h). Gradients are lazy tensors built from IR ops,
// so the whole backward pass is one more piece of pending graph: it fuses with the forward
// (when that is pending too) and with whatever consumes the gradients.
#pragma once

#include <vector>

#include "kiln/frontend/tensor.h"

namespace kiln::frontend::autograd {

// `root_grads[i]` is the gradient of `roots[i]` (same shape and dtype). With `inputs` empty,
// gradients accumulate into the .grad() of the leaves reached and of non-leaves that
// retain_grad() (Tensor::backward); otherwise the gradients of `inputs` are returned and no
// .grad() changes (kiln::grad). With `create_graph` the gradient computation is itself
// recorded (higher-order gradients) and the graph is kept; without it, each GradFn's saved
// values are released once it has run, and a second pass through it throws.
std::vector<Tensor> backward(const std::vector<Tensor>& roots,
                             const std::vector<Tensor>& root_grads,
                             const std::vector<Tensor>& inputs, bool create_graph);

}  // namespace kiln::frontend::autograd
