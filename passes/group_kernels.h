// Multi-output kernels: kernel steps over the same iteration space become one kernel with
// several stores, so their common inputs are read once and one launch does the work of many.
//
//   %5 = sum(g)     {axes=[0]}         kernel reduction(sum) rank=1 reduced=1
//   %9 = sum(g * x) {axes=[0]}   =>      ... store arg2 <- reduce(%1)
//                                        ... store arg3 <- reduce(%3)
//
// A later kernel step B joins an earlier one A (the host) when
//   - both are elementwise, or both reductions with the same reduced dims, a sum or a product
//     (the ops whose code keeps one accumulator per store) and the same dtypes;
//   - their (canonical) iteration sizes are equal: point i of the merged kernel does what
//     point i of A and point i of B did, each store still through its own strides;
//   - every value B reads is ready when A runs: computed by an earlier step, or (elementwise
//     only) stored by A at the very element B reads at the same point, in which case B uses
//     A's expression instead of loading it.
// B's output is then computed at A's place in the program. Each store's own computation (and
// a reduction's order over its elements) is unchanged; identical expressions of A and B are
// computed once. Hosts are searched from the latest step back, never past a library step
// (whose large result would then live beside the moved kernel's), and a kernel grows to at most
// kMaxGroupStores stores and kMaxGroupArgs arguments.
//
// Then values lose their buffers: a value no step reads any more (its readers all joined its
// producer's kernel and use its expression) is not stored, and a value whose one reader is a
// kernel that reads it point for point where its elementwise producer stores it (same
// iteration sizes, same strides) is computed by that reader itself. Fusion materialized such
// values for having several consumers; grouped, the consumers compute them once per point.
//
// Kernels with a libm op (whose bits
// depend on whether the loop around it vectorizes) or an integer division (which may raise)
// stay alone.
#pragma once

#include "kiln/ir/kernel.h"

namespace kiln::passes {

inline constexpr size_t kMaxGroupStores = 8;
inline constexpr size_t kMaxGroupArgs = 32;

// Merges the program's sibling kernel steps (in place; step order otherwise kept), drops the
// buffers that no longer need to exist (from program.materialized too), and notes each change
// in program.decisions. Run before plan_memory: a merged value is born earlier.
void group_sibling_kernels(const ir::Graph& graph, ir::Program& program);

}  // namespace kiln::passes
