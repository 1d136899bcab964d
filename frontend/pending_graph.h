// The graph of pending lazy nodes that a realization (or a trace) computes, as one walk over
// the nodes finds it: which node becomes graph node i, the realized nodes that become graph
// inputs (with their buffers), the outputs, and a structural hash. A realization whose graph
// the realization cache has seen (every step of a training loop, every op of eager code read
// at once) compares this walk with the cached graph node by node and never builds an
// ir::Graph; only a new graph is built (to_graph) for the passes and the backend.
#pragma once

#include <cstddef>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
#include "kiln/backends/backend.h"
#include "kiln/frontend/lazy.h"
#include "kiln/frontend/node_map.h"

namespace kiln::frontend {

struct GraphBuildOptions {
  // Also output pending values that autograd keeps for the backward pass (realization keeps
  // matmul and reduction results it computes anyway).
  bool keep_saved_values = true;
  // Output realized targets too (as the graph input they are); otherwise they are skipped.
  bool realized_outputs = false;
  // About how many nodes the graph will have (0: unknown), so that it is allocated once.
  size_t size_hint = 0;
};

// Membership in a list of targets (a copy: the list may grow after).
class TargetSet {
 public:
  explicit TargetSet(absl::Span<const LazyPtr> targets) {
    for (const LazyPtr& t : targets) nodes_.emplace(t.get(), true);
  }
  bool operator()(const LazyNode* node) const { return nodes_.contains(node); }

 private:
  NodeMap<bool> nodes_;
};

// Pending nodes reachable from the targets, in graph order: realized nodes become graph inputs
// (in `input_nodes` order, their buffers in `inputs`), constants stay constants, and a reshape
// to its operand's own shape is that operand (unless it is a target). The walk stamps the nodes
// (LazyNode::walk, walk_id): the graph's view of them (to_graph, same_as) holds until the next
// walk, and two walks must not run at once, which holds for realization (under its lock) and
// for a trace (over nodes its own call recorded). Inline room for one eager step's few nodes.
class PendingGraph {
 public:
  PendingGraph(absl::Span<const LazyPtr> targets, GraphBuildOptions options);

  // Structural: equal graphs (same_as) hash alike; buffers are no part of it.
  size_t hash() const { return hash_; }
  int32_t size() const { return static_cast<int32_t>(nodes_.size()); }
  // The ir::Graph of the walk (room for `reserve` nodes).
  ir::Graph to_graph(size_t reserve = 0) const;
  // True when `graph` is what to_graph() would give (cheaper than building and comparing it).
  bool same_as(const ir::Graph& graph) const;

  absl::InlinedVector<backends::BufferPtr, 4> inputs;
  absl::InlinedVector<LazyNode*, 4> input_nodes;
  absl::InlinedVector<LazyNode*, 4> outputs;  // unique targets, in graph output order

 private:
  absl::InlinedVector<LazyNode*, 8> nodes_;  // graph node i comes from nodes_[i]
  absl::InlinedVector<ir::ValueId, 4> output_ids_;
  size_t hash_ = 0;
};

// The walk's graph built at once (traces; tests).
struct BuiltGraph {
  ir::Graph graph;
  absl::InlinedVector<backends::BufferPtr, 4> inputs;
  absl::InlinedVector<LazyNode*, 4> input_nodes;
  absl::InlinedVector<LazyNode*, 4> outputs;  // unique targets, in graph output order
};
BuiltGraph build_graph(absl::Span<const LazyPtr> targets, GraphBuildOptions options);

}  // namespace kiln::frontend
