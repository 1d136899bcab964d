// The pass pipeline that eager realization runs on each pending graph.
#pragma once

#include "kiln/ir/graph.h"

namespace kiln::passes {

// Optimizes a realization graph in place (outputs keep their positions).
void run_realization_pipeline(ir::Graph& graph);

}  // namespace kiln::passes
