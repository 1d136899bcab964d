#include "kiln/passes/dce.h"

#include <vector>

#include "kiln/passes/rewrite.h"

namespace kiln::passes {

bool DcePass::run(ir::Graph& g) {
  const ir::ValueId n = g.size();
  std::vector<bool> live(static_cast<size_t>(n), false);
  for (ir::ValueId out : g.outputs()) live[static_cast<size_t>(out)] = true;
  // Operands have smaller ids than their users, so one backward sweep marks everything live
  // without a worklist or recursion.
  bool any_dead = false;
  for (ir::ValueId id = n - 1; id >= 0; --id) {
    const ir::Node& node = g.node(id);
    if (node.op == ir::Op::input) live[static_cast<size_t>(id)] = true;
    if (!live[static_cast<size_t>(id)]) {
      any_dead = true;
      continue;
    }
    for (ir::ValueId in : node.inputs) live[static_cast<size_t>(in)] = true;
  }
  if (!any_dead) return false;
  std::vector<ir::ValueId> forward(static_cast<size_t>(n));
  for (ir::ValueId id = 0; id < n; ++id)
    forward[static_cast<size_t>(id)] = live[static_cast<size_t>(id)] ? id : kDropped;
  rebuild(g, forward);
  return true;
}

}  // namespace kiln::passes
