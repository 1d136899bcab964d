// The pass pipeline that eager realization runs on each pending graph.
#pragma once

#include <string_view>

#include "kiln/ir/graph.h"

namespace kiln::passes {

// Optimizes a realization graph in place (outputs keep their positions). KILN_LOG=ir prints
// the graph under `title`, then after every pass.
void run_realization_pipeline(ir::Graph& graph, std::string_view title = "realization graph");

}  // namespace kiln::passes
