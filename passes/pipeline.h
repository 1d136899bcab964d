// The pass pipeline that eager realization runs on each pending graph.
#pragma once

#include <string_view>

#include "kiln/ir/graph.h"

namespace kiln::passes {

// The passes of run_realization_pipeline, in order (PassManager::from_pipeline syntax). Folding
// first: it turns constant subexpressions into splats that the later rules match (x * (2 - 1)
// becomes x * 1, then x; the gradient's x.pow(3 - 1) becomes x.pow(2), then x * x), while
// simplify never makes new all-constant nodes. CSE then merges the duplicate splats they leave
// behind, and DCE drops what they replaced.
inline constexpr std::string_view kRealizationPipeline =
    "constant-fold,pow-scalar,simplify,cse,dce";

// Optimizes a realization graph in place (outputs keep their positions). KILN_LOG=ir prints
// the graph under `title`, then after every pass.
void run_realization_pipeline(ir::Graph& graph, std::string_view title = "realization graph");

}  // namespace kiln::passes
