// Lazy values: every eager op appends a LazyNode (an IR op with its attributes, result type
// and operand nodes) instead of computing. A node is "realized" when it holds a buffer; then
// it has no operands and acts as a graph input. Realization (realize.h) turns the pending
// nodes reachable from its targets into an ir::Graph, runs the passes and a backend, and
// stores the result buffers back into the target nodes.
#pragma once

#include <memory>

#include "absl/container/inlined_vector.h"
#include "kiln/ir/graph.h"
#include "kiln/runtime/buffer.h"

namespace kiln::frontend {

struct LazyNode;
using LazyPtr = std::shared_ptr<LazyNode>;

struct LazyNode {
  // The fields a realization's walk reads first (pending_graph.h), together at the front: a
  // walk over thousands of nodes touches each one's first cache line and rarely more.
  // Scratch of the walk: the walk that last reached this node and the graph id that walk gave
  // it. A stamp in the node finds the id of each of thousands of nodes without a table look-up.
  uint64_t walk = 0;
  int32_t walk_id = -1;
  ir::Op op = ir::Op::input;
  // Set when a Storage holds this node as its content: a second storage must not take the
  // same node, or both would receive the same buffer on realization.
  bool owned_by_storage = false;
  // The value depends on memory that code outside kiln may change at any time: a realized
  // from_blob buffer or one whose data_ptr was handed out, or a pending node reading one.
  // Such values are computed at the call, as in PyTorch, never later.
  bool external = false;
  // One of autograd's read markers (a noted read, autograd/record.h): counted while alive
  // (live_read_markers), so that ops recorded when none is alive skip autograd's capture.
  bool read_marker = false;
  // How many recorded GradFns keep this pending value for the backward pass. Realization
  // stores such values (matmul and reduction results, which would be costly to recompute) in
  // buffers when it computes them anyway.
  int32_t saved_for_backward = 0;
  std::shared_ptr<runtime::Buffer> buffer;  // set once realized (then `inputs` is empty)
  absl::InlinedVector<LazyPtr, 2> inputs;
  ir::TensorType type;
  Device device = cpu;
  ir::Attrs attrs;
  // Bumped by eager in-place writes into `buffer`: autograd checks that a value it saved for
  // the backward pass was not changed since.
  uint64_t version = 0;
  // The realization (a count, from 1) that left this storage content pending as an
  // intermediate of another value (realize_reading); 0: none. A later realization stores it.
  uint64_t deferred_by = 0;

  LazyNode() = default;
  LazyNode(const LazyNode&) = delete;
  LazyNode& operator=(const LazyNode&) = delete;
  // Releases operand chains iteratively: a 100,000-op chain must not recurse in destructors.
  ~LazyNode();

  bool realized() const { return buffer != nullptr; }
  int64_t numel() const { return kiln::numel(type.shape); }
};

// Marks `node` as a read marker (LazyNode::read_marker) and counts it until it is destroyed.
void mark_read_marker(LazyNode& node);
// Read markers alive now, in all threads: none means no recorded value can require grad.
int64_t live_read_markers();

// A realized node over `buffer` holding `type`.
LazyPtr make_leaf(std::shared_ptr<runtime::Buffer> buffer, ir::TensorType type, Device device);
// A 0-d constant of `dtype`.
LazyPtr make_constant(Scalar value, DType dtype, Device device);
// A pending node; the result type comes from ir::infer_type. The frontend validates user input
// before calling this, so an inference failure here is an internal error.
LazyPtr make_node(ir::Op op, absl::Span<const LazyPtr> inputs, ir::Attrs attrs = ir::NoAttrs{});

// Frequently used node builders. They take x by value: eager ops chain them on temporaries,
// and a move passes a value through without touching its (atomic) reference count.
LazyPtr cast(LazyPtr x, DType dtype);            // x itself when already of that dtype
LazyPtr reshape(LazyPtr x, const Shape& shape);  // x itself when already of that shape
// Broadcasts x to `shape` (numpy rules; shape already validated): reshape + expand.
LazyPtr broadcast_to(LazyPtr x, const Shape& shape);
// A constant of `dtype` broadcast to `shape`.
LazyPtr full_node(Scalar value, DType dtype, const Shape& shape, Device device);

}  // namespace kiln::frontend
