// What a compiling backend runs on a realization graph: fusion planning, then lowering to a
// loop-IR Program. With KILN_LOG=fusion every decision is printed to stderr with its reason.
#pragma once

#include "kiln/ir/kernel.h"

namespace kiln::passes {

ir::Program lower_program(const ir::Graph& graph);

}  // namespace kiln::passes
