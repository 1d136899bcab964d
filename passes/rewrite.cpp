#include "kiln/passes/rewrite.h"

#include <utility>
#include <vector>

namespace kiln::passes {

void rebuild(ir::Graph& g, absl::Span<const ir::ValueId> forward) {
  const ir::ValueId n = g.size();
  // new_id of a dropped node stays kDropped, so a broken forward map surfaces as an undefined
  // operand in the verifier instead of silently pointing elsewhere.
  std::vector<ir::ValueId> new_id(static_cast<size_t>(n), kDropped);
  ir::Graph out;
  for (ir::ValueId id = 0; id < n; ++id) {
    const ir::ValueId f = forward[static_cast<size_t>(id)];
    if (f == id) {
      ir::Node node = std::move(g.mutable_node(id));
      for (ir::ValueId& in : node.inputs) in = new_id[static_cast<size_t>(in)];
      new_id[static_cast<size_t>(id)] = out.add_node(std::move(node));
    } else if (f >= 0 && f < id) {
      new_id[static_cast<size_t>(id)] = new_id[static_cast<size_t>(f)];
    }
  }
  std::vector<ir::ValueId> outputs = g.outputs();
  for (ir::ValueId& o : outputs) o = new_id[static_cast<size_t>(o)];
  out.set_outputs(std::move(outputs));
  g = std::move(out);
}

}  // namespace kiln::passes
