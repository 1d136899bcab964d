#include "kiln/passes/cse.h"

#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "kiln/ir/graph_hash.h"
#include "kiln/passes/rewrite.h"

namespace kiln::passes {
namespace {

// What makes two nodes compute the same value. Operands are already replaced by their
// representatives, and sorted for commutative ops.
struct NodeKey {
  ir::Op op;
  ir::Attrs attrs;
  absl::InlinedVector<ir::ValueId, 3> inputs;
  ir::TensorType type;

  friend bool operator==(const NodeKey&, const NodeKey&) = default;
  template <class H>
  friend H AbslHashValue(H h, const NodeKey& k) {
    h = H::combine(std::move(h), k.op, k.inputs);
    return ir::hash_attrs(ir::hash_type(std::move(h), k.type), k.attrs);
  }
};

}  // namespace

bool CsePass::run(ir::Graph& g) {
  const ir::ValueId n = g.size();
  std::vector<ir::ValueId> forward(static_cast<size_t>(n));
  absl::flat_hash_map<NodeKey, ir::ValueId> first_of;
  first_of.reserve(static_cast<size_t>(n));
  bool merged = false;
  for (ir::ValueId id = 0; id < n; ++id) {
    const ir::Node& node = g.node(id);
    forward[static_cast<size_t>(id)] = id;
    // Each input is its own argument even when two have equal types. (Random ops, when they
    // join the op table, must be skipped here too: two draws are different values.)
    if (node.op == ir::Op::input) continue;
    NodeKey key{node.op, node.attrs, node.inputs, node.type};
    for (ir::ValueId& in : key.inputs) in = forward[static_cast<size_t>(in)];
    if (ir::has_trait(node.op, ir::kCommutative) && key.inputs.size() == 2 &&
        key.inputs[1] < key.inputs[0])
      std::swap(key.inputs[0], key.inputs[1]);
    const auto [it, inserted] = first_of.try_emplace(std::move(key), id);
    if (!inserted) {
      forward[static_cast<size_t>(id)] = it->second;
      merged = true;
    }
  }
  if (merged) rebuild(g, forward);
  return merged;
}

}  // namespace kiln::passes
