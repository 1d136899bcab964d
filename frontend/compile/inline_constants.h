// Constant inputs of a traced program that are splats (every element equal: a tensor(2.0)
// made inside the function) become IR constants, so that constant folding and simplification
// see them. Only buffers the traced call made from host values qualify: captured tensors
// (parameters, state) can change between calls and are never folded.
#pragma once

#include "kiln/frontend/compile/trace.h"

namespace kiln::frontend {

// Rewrites `graph` and its `inputs` (a traced program's main graph or one of its stages; inputs
// are renumbered); returns how many inputs became constants.
int inline_splat_constants(ir::Graph& graph, std::vector<InputBinding>& inputs);

}  // namespace kiln::frontend
