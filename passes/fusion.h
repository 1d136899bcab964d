// Fusion planning: which graph values live in buffers and which are computed inside the
// kernel that consumes them.
//
// Every value is either materialized (written to a buffer by its own kernel or library
// routine) or fused (recomputed at each point of its consumer's kernel, never stored). The
// rules, each decision carrying its reason (KILN_LOG=fusion, kiln-irdump --explain-fusion):
//   - graph inputs and outputs are materialized; constants are always fused (inlined);
//   - library ops (matmul, index, index_put, cat, as_strided_scatter) and their operands are
//     materialized: they run as routines over buffers; a matmul operand that is a view
//     (transpose, broadcast, slice, reshape) is read in place through strides, so the value
//     under the views is materialized instead (lower_loops.h then runs an elementwise
//     consumer that reads the matmul result point for point as its epilogue);
//   - reductions are materialized (a kernel root); their elementwise prologue fuses into them;
//   - an elementwise or movement value with several consumers is materialized (computed once),
//     unless it is a cheap view or cast of an input or constant, which is recomputed instead;
//   - movement ops fold into index arithmetic, except a reshape that regroups dims (or an
//     as_strided) of a computed value: that value is materialized first (a view of a
//     constant needs no buffer: every element is the constant).
// Example: for  %1 = mul(%0, %c); %2 = exp(%1); %3 = sum(%2)  only %0 (input) and %3 (output)
// are materialized: one reduction kernel computes exp(x * c) and sums it.
#pragma once

#include <string>
#include <vector>

#include "kiln/ir/graph.h"

namespace kiln::passes {

struct FusionPlan {
  std::vector<bool> materialized;    // per node
  std::vector<std::string> reasons;  // per node: why it is materialized or fused
};

FusionPlan plan_fusion(const ir::Graph& graph);

// True for ops that run as library routines over materialized operands.
bool is_library_op(ir::Op op);
// True when reshape from `from` to `to` only inserts or removes size-1 dims (index arithmetic
// can follow it without div/mod).
bool is_unit_dim_reshape(const Shape& from, const Shape& to);
// The start of the chain of views (movement ops other than cat) that ends at `id`: the value
// whose buffer a library routine reads through strides when it takes the view in place (matmul
// operands). `id` itself when it is not a view; a constant for a view of one.
ir::ValueId strided_view_base(const ir::Graph& graph, ir::ValueId id);
// True when `id` is a constant or a chain of views (movement ops other than cat) of one: every
// element is the constant, whatever the index arithmetic above it.
bool is_constant_view(const ir::Graph& graph, ir::ValueId id);

}  // namespace kiln::passes
