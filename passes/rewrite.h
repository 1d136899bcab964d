// Shared rewriting helper for passes that drop or merge nodes: one forward map says, for every
// node, whether it stays, goes, or is replaced by an earlier node; the graph is then rebuilt
// with compact ids in one linear walk.
#pragma once

#include "absl/types/span.h"
#include "kiln/ir/graph.h"

namespace kiln::passes {

// forward[i] == i keeps node i; forward[i] == j < i replaces every use of node i (operands and
// outputs) with node j, which must itself be kept or replaced; forward[i] == kDropped removes
// node i, which nothing left may use. Kept nodes keep their order; ids become 0, 1, 2, ...
inline constexpr ir::ValueId kDropped = -1;
void rebuild(ir::Graph& g, absl::Span<const ir::ValueId> forward);

}  // namespace kiln::passes
