// The gradient table: one vector-Jacobian rule per IR op, in one place (vjp_*.cpp by op
// family). The reverse-mode pass (engine.h) walks the recorded forward nodes backwards and
// asks each node's rule for the gradients of its inputs. Rules build their results from IR ops
// on tensors (apply.h and the public Tensor ops), so the gradient graph is ordinary IR: it
// fuses with the forward and the optimizer, and, built with grad mode on (create_graph), can
// itself be differentiated.
#pragma once

#include <vector>

#include "kiln/frontend/tensor.h"
#include "kiln/ir/graph.h"

namespace kiln::frontend::autograd {

// One forward node as a rule sees it.
struct VjpContext {
  ir::Op op;
  const ir::Attrs* attrs;
  std::vector<Tensor> inputs;  // the node's operand values (IR types: after promotion/expand)
  Tensor output;               // the node's result value
  Tensor grad;                 // dL/d(output): output's shape and dtype
  std::vector<bool> needs;     // needs[i]: a gradient for inputs[i] is wanted
};

// The gradients of ctx.inputs: one per input, each of that input's shape and dtype, or an
// undefined Tensor where none is wanted or the input is not differentiable (integer or bool
// values, index tensors, comparison results).
std::vector<Tensor> vjp(const VjpContext& ctx);

// Whether `op` has a gradient for any input at all (false: comparisons, logical ops, sign,
// floor/ceil/round/trunc, argmax/argmin; their results never require grad).
bool is_differentiable(ir::Op op);

}  // namespace kiln::frontend::autograd
