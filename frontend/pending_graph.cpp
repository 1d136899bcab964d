#include "kiln/frontend/pending_graph.h"

#include <algorithm>
#include <atomic>
#include <utility>
#include <variant>

#include "kiln/ir/graph_hash.h"
#include "kiln/runtime/error.h"

namespace kiln::frontend {
namespace {

// LazyNode -> graph id while a graph is walked, stamped into the nodes (LazyNode::walk). Every
// walk takes a fresh number, so stamps of earlier walks never match.
class NodeIds {
 public:
  NodeIds() : walk_(next_walk.fetch_add(1, std::memory_order_relaxed) + 1) {}
  bool contains(const LazyNode* node) const { return node->walk == walk_; }
  ir::ValueId at(const LazyNode* node) const {
    if (node->walk != walk_)
      throw Error("internal error: build_graph reached a node it did not visit");
    return node->walk_id;
  }
  void emplace(LazyNode* node, ir::ValueId id) {
    node->walk = walk_;
    node->walk_id = id;
  }

 private:
  static inline std::atomic<uint64_t> next_walk{0};
  uint64_t walk_;
};

// What graph node a walked lazy node becomes (to_graph). Operand ids are the walk's stamps; an
// input's index is its place among the inputs, which the node order already fixes.
template <class H>
H hash_pending_node(H h, const LazyNode& n) {
  if (n.realized()) return ir::hash_type(H::combine(std::move(h), ir::Op::input), n.type);
  if (n.op == ir::Op::constant)
    return ir::hash_scalar(H::combine(std::move(h), ir::Op::constant, n.type.dtype.kind()),
                           std::get<ir::ConstantAttrs>(n.attrs).value);
  h = H::combine(std::move(h), n.op, n.inputs.size());
  for (const LazyPtr& in : n.inputs) h = H::combine(std::move(h), in->walk_id);
  return ir::hash_attrs(ir::hash_type(std::move(h), n.type), n.attrs);
}

// The walk's nodes and outputs as one Abseil-hashable value (one hash state for the whole
// graph, finalized once).
struct HashedWalk {
  absl::Span<LazyNode* const> nodes;
  absl::Span<const ir::ValueId> outputs;
  template <class H>
  friend H AbslHashValue(H h, const HashedWalk& w) {
    h = H::combine(std::move(h), w.nodes.size(), w.outputs);
    for (const LazyNode* n : w.nodes) h = hash_pending_node(std::move(h), *n);
    return h;
  }
};

}  // namespace

PendingGraph::PendingGraph(absl::Span<const LazyPtr> targets, GraphBuildOptions options) {
  if (options.size_hint > nodes_.capacity()) nodes_.reserve(options.size_hint);
  NodeIds ids;
  std::vector<LazyNode*> kept;  // pending values that autograd keeps for the backward pass
  // A reshape to the shape it already has (autograd's read markers, a second storage's copy
  // of a value) adds nothing to the graph: it takes its operand's id, unless it is a target,
  // which needs a graph output of its own.
  const TargetSet is_target(targets);
  // Iterative post-order walk: (node, next operand to visit).
  absl::InlinedVector<std::pair<LazyNode*, size_t>, 16> stack;
  for (const LazyPtr& target : targets) {
    if (ids.contains(target.get())) continue;
    stack.emplace_back(target.get(), 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        LazyNode* operand = node->inputs[next++].get();
        if (!ids.contains(operand)) stack.emplace_back(operand, 0);
        continue;
      }
      LazyNode* done = node;
      stack.pop_back();
      if (ids.contains(done)) continue;
      if (!done->realized() && done->op == ir::Op::reshape &&
          done->inputs[0]->type.shape == done->type.shape && !is_target(done)) {
        ids.emplace(done, ids.at(done->inputs[0].get()));
        continue;
      }
      if (done->realized()) {
        inputs.push_back(done->buffer);
        input_nodes.push_back(done);
      } else if (done->op != ir::Op::constant) {
        for (const LazyPtr& in : done->inputs) (void)ids.at(in.get());  // visited before
        if (done->saved_for_backward > 0 && options.keep_saved_values) kept.push_back(done);
      }
      ids.emplace(done, size());
      nodes_.push_back(done);
    }
  }
  // Each node is output once. Node ids are dense, so a bit per node finds repeats; the usual
  // few outputs are scanned instead, which allocates nothing.
  output_ids_.reserve(targets.size());
  constexpr size_t kScannedOutputs = 16;
  const bool scan = targets.size() + kept.size() <= kScannedOutputs;
  std::vector<bool> is_output(scan ? 0 : nodes_.size(), false);
  auto add_output = [&](LazyNode* node) {
    const ir::ValueId id = ids.at(node);
    if (scan ? std::find(output_ids_.begin(), output_ids_.end(), id) != output_ids_.end()
             : is_output[static_cast<size_t>(id)])
      return;
    if (!scan) is_output[static_cast<size_t>(id)] = true;
    output_ids_.push_back(id);
    outputs.push_back(node);
  };
  for (const LazyPtr& target : targets)
    if (!target->realized() || options.realized_outputs) add_output(target.get());
  // Values that autograd keeps for the backward pass and that this graph computes anyway (in a
  // buffer: matmul and reduction results) are kept, so the backward pass need not redo them.
  for (LazyNode* node : kept) add_output(node);
  hash_ = absl::HashOf(HashedWalk{nodes_, output_ids_});
}

ir::Graph PendingGraph::to_graph(size_t reserve) const {
  ir::Graph graph;
  graph.reserve(std::max(reserve, nodes_.size()));
  for (const LazyNode* n : nodes_) {
    if (n->realized()) {
      graph.add_input(n->type);
    } else if (n->op == ir::Op::constant) {
      graph.add_constant(std::get<ir::ConstantAttrs>(n->attrs).value, n->type.dtype);
    } else {
      ir::Node node{n->op, n->type, {}, n->attrs};
      for (const LazyPtr& in : n->inputs) node.inputs.push_back(in->walk_id);
      graph.add_node(std::move(node));
    }
  }
  graph.set_outputs({output_ids_.begin(), output_ids_.end()});
  return graph;
}

bool PendingGraph::same_as(const ir::Graph& graph) const {
  if (graph.size() != size() || !std::equal(graph.outputs().begin(), graph.outputs().end(),
                                            output_ids_.begin(), output_ids_.end()))
    return false;
  int64_t input_index = 0;
  for (ir::ValueId id = 0; id < size(); ++id) {
    const ir::Node& k = graph.node(id);
    const LazyNode& n = *nodes_[static_cast<size_t>(id)];
    if (n.realized()) {
      if (k.op != ir::Op::input || k.type != n.type ||
          std::get<ir::InputAttrs>(k.attrs).index != input_index++)
        return false;
      continue;
    }
    if (k.op != n.op || k.attrs != n.attrs) return false;
    if (n.op == ir::Op::constant) {
      if (k.type.dtype != n.type.dtype || !k.type.shape.empty()) return false;
      continue;
    }
    if (k.type != n.type || k.inputs.size() != n.inputs.size()) return false;
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (k.inputs[i] != n.inputs[i]->walk_id) return false;
  }
  return true;
}

BuiltGraph build_graph(absl::Span<const LazyPtr> targets, GraphBuildOptions options) {
  PendingGraph pending(targets, options);
  return BuiltGraph{pending.to_graph(options.size_hint), std::move(pending.inputs),
                    std::move(pending.input_nodes), std::move(pending.outputs)};
}

}  // namespace kiln::frontend
