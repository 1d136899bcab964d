// The gradient table: one vector-Jacobian rule per IR op, in one place (vjp_*.cpp by op
// family). The reverse-mode pass (engine.h) walks the recorded forward nodes backwards and
// asks each node's rule for the gradients of its inputs. Rules build their results from IR ops
// on tensors (apply.h and the public Tensor ops), so the gradient graph is ordinary IR: it
// fuses with the forward and the optimizer, and, built with grad mode on (create_graph), can
// itself be differentiated.
#pragma once

#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"

#include "kiln/frontend/tensor.h"
#include "kiln/ir/graph.h"

namespace kiln::frontend::autograd {

// One forward node as a rule sees it.
struct VjpContext {
  ir::Op op;
  const ir::Attrs* attrs;
  // The node's operand values (IR types: after promotion/expand). The engine leaves undefined
  // those the rule does not read (vjp_reads_value), and then sets `input_types`.
  std::vector<Tensor> inputs;
  Tensor output;            // the node's result value (undefined where the rule does not read it)
  Tensor grad;              // dL/d(output): output's shape and dtype
  std::vector<bool> needs;  // needs[i]: a gradient for inputs[i] is wanted
  absl::InlinedVector<const ir::TensorType*, 3> input_types;  // empty, or one per input
};

// Whether the rule of `op` reads forward value `which` (-1: the output, else that input) when
// the gradients in `needs` are wanted. Making a tensor of a forward value costs about as much
// as recording an op, and most rules read shapes only (add, reshape, expand, sum) or one of two
// values (mul), so the engine makes only the values a rule reads.
bool vjp_reads_value(ir::Op op, int which, const std::vector<bool>& needs);
// Input i's shape and dtype, from its value or, where the engine left it out, its type.
const Shape& input_shape(const VjpContext& ctx, size_t i);
DType input_dtype(const VjpContext& ctx, size_t i);

// The gradients of ctx.inputs: one per input, each of that input's shape and dtype, or an
// undefined Tensor where none is wanted or the input is not differentiable (integer or bool
// values, index tensors, comparison results).
std::vector<Tensor> vjp(const VjpContext& ctx);

// Whether `op` has a gradient for any input at all (false: comparisons, logical ops, sign,
// floor/ceil/round/trunc, argmax/argmin; their results never require grad).
bool is_differentiable(ir::Op op);

}  // namespace kiln::frontend::autograd
