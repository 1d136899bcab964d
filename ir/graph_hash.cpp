#include "kiln/ir/graph_hash.h"

namespace kiln::ir {
namespace {

// A node as an Abseil-hashable value.
struct HashedNode {
  const Node* node;
  template <class H>
  friend H AbslHashValue(H h, const HashedNode& n) {
    return hash_node(std::move(h), *n.node);
  }
};

}  // namespace

bool same_node(const Node& a, const Node& b) {
  return a.op == b.op && a.type == b.type && a.inputs == b.inputs && a.attrs == b.attrs;
}

size_t graph_hash(const Graph& g) {
  // Node by node, so that no large state is built; the size and outputs go in first.
  size_t h = absl::HashOf(g.size(), g.outputs());
  for (const Node& n : g.nodes()) h = absl::HashOf(h, HashedNode{&n});
  return h;
}

bool same_graph(const Graph& a, const Graph& b) {
  if (a.size() != b.size() || a.outputs() != b.outputs()) return false;
  for (ValueId id = 0; id < a.size(); ++id)
    if (!same_node(a.node(id), b.node(id))) return false;
  return true;
}

}  // namespace kiln::ir
