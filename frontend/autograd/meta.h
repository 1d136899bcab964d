// Autograd's records. A tensor that requires grad carries an AutogradMeta: a leaf (no grad_fn)
// accumulates gradients into `grad`; a non-leaf points at the GradFn that computed it. A GradFn
// is the IR fragment one frontend op recorded (its nodes with their forward values), from the
// op's inputs to its result, plus an Edge per differentiable input saying where that input's
// gradient goes. The reverse pass (engine.h) walks GradFns from the output and runs each
// fragment backwards through the gradient table (vjp.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "kiln/frontend/lazy.h"
#include "kiln/frontend/tensor.h"

namespace kiln::frontend {
struct TensorImpl;
}  // namespace kiln::frontend

namespace kiln::frontend::autograd {

struct GradFn;
struct AutogradMeta;

// Where a gradient goes: the GradFn that computed a value, or a leaf's accumulator. The leaf
// is held weakly: a gradient for a leaf that no tensor holds any more has nowhere to go, and a
// strong reference would make a cycle of a leaf whose .grad() has history (create_graph).
struct Edge {
  std::shared_ptr<GradFn> fn;
  std::weak_ptr<AutogradMeta> leaf;
  bool valid() const { return fn != nullptr || !leaf.expired(); }
};

struct AutogradMeta {
  bool requires_grad = false;
  std::shared_ptr<GradFn> grad_fn;  // null for a leaf
  Tensor grad;                      // leaves, and non-leaves that retain_grad()
  bool retains_grad = false;
  // The storage version when grad_fn was recorded: a later in-place write through another
  // alias makes it stale (views then re-derive it from their root, others throw).
  uint64_t version = 0;
  // Views of a tensor with history: the tensor that owns the whole storage (the view's value
  // is an as_strided window of it), so that in-place writes through any alias keep every
  // alias's history right.
  std::shared_ptr<TensorImpl> view_root;
  // A view of a view with history: its immediate base, through whose GradFn the view's
  // gradient flows (so that gradients with respect to the base, and its retain_grad, see it).
  std::shared_ptr<TensorImpl> view_base;
};

struct GradFn {
  // The fragment's values: leaves (op inputs, constants, earlier values) and node results.
  struct Value {
    LazyPtr node;          // the forward value
    LazyPtr watched;       // leaves: the node whose buffer holds the value (node, or under views)
    uint64_t version = 0;  // leaves: watched->version when recorded (eager writes bump it)
    int32_t edge = -1;     // leaves that are differentiable op inputs: index into `next`
    int32_t defined_by = -1;  // node results: index into `nodes`
  };
  struct Node {
    ir::Op op;
    ir::Attrs attrs;
    absl::InlinedVector<int32_t, 3> inputs;  // value indices
    int32_t value;                           // the value it defines
  };
  std::vector<Value> values;
  std::vector<Node> nodes;  // in forward order
  std::vector<Edge> next;   // per differentiable input
  int32_t output = -1;      // value index of the op's result
  // Non-leaf tensors computed by this GradFn that retain their gradient.
  std::vector<std::weak_ptr<AutogradMeta>> retained;
  // Forward values costly to recompute (matmul and reduction results) that realization keeps
  // in buffers for this GradFn (LazyNode::saved_for_backward).
  std::vector<LazyPtr> kept;
  // A view's fragment: it needs no saved values beyond its input's, so a backward pass leaves
  // it usable (as PyTorch's view functions, which save nothing, stay usable).
  bool is_view = false;
  // An op outside the IR (a device transfer): its backward as a function from the result's
  // gradient to one gradient per edge, in place of a fragment. It saves nothing, so a
  // backward pass leaves it usable.
  std::function<std::vector<Tensor>(const Tensor& g)> custom_backward;

  GradFn() = default;
  GradFn(const GradFn&) = delete;
  GradFn& operator=(const GradFn&) = delete;
  // Releases chains of GradFns iteratively: a 100,000-op history must not recurse.
  ~GradFn();
  void release_kept() {
    for (const LazyPtr& node : kept) --node->saved_for_backward;
    kept.clear();
  }
};

// The gradient edge of a tensor that requires grad (its GradFn, or its own accumulator).
Edge edge_of(const std::shared_ptr<AutogradMeta>& meta);

}  // namespace kiln::frontend::autograd
