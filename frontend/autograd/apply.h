// One IR op on tensors: the building block of the gradient rules. apply(op, inputs, attrs)
// records exactly one node over the inputs' current values, and, like every frontend op, is
// itself recorded by autograd when grad mode is on and an input requires grad (so gradients
// built from it can be differentiated again: create_graph).
#pragma once

#include <vector>

#include "kiln/frontend/tensor.h"
#include "kiln/ir/graph.h"

namespace kiln::frontend::autograd {

// The inputs must already satisfy the IR op's rules (equal shapes and dtypes for binary ops,
// int64 index tensors, ...): this is below the user-facing checks, and an inference failure is
// an internal error.
Tensor apply(ir::Op op, const std::vector<Tensor>& inputs, ir::Attrs attrs = ir::NoAttrs{});

// Small helpers over apply for the rules.
Tensor constant_like(const Tensor& like, Scalar value);  // `value` in like's shape/dtype
Tensor sum_to(const Tensor& t, const Shape& shape);      // sums broadcast dims away
Tensor cast_to(const Tensor& t, DType dtype);            // t itself when already dtype

}  // namespace kiln::frontend::autograd
