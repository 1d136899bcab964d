// Lowering to loop IR: a graph and its fusion plan become a Program of LoopKernels (one per
// materialized elementwise/movement/reduction value, its fused operands inlined as scalar
// expressions and its views folded into per-argument strides) and library steps.
//
//   %0 = input() : f32[4, 3]        kernel reduction(sum) rank=2 reduced=1
//   %1 = permute(%0) : f32[3, 4]      arg0: f32 in   (strides [1, 3]: the transpose)
//   %2 = exp(%1) : f32[3, 4]    =>    arg1: f32 out  (strides [1, 0])
//   %3 = sum(%2) {axes=[1]}           %0 = load arg0
//   return %3                         %1 = exp(%0)
//                                     store arg1 <- reduce(%1)
#pragma once

#include "kiln/ir/kernel.h"
#include "kiln/passes/fusion.h"

namespace kiln::passes {

ir::Program lower_to_loops(const ir::Graph& graph, const FusionPlan& plan);

}  // namespace kiln::passes
