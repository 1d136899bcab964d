// Memory planning for a lowered Program: the last step that reads each value (its buffer is
// released after it) and a slot per kernel-written intermediate, so that a run hands a dead
// buffer straight to the next value of the same size instead of going through the allocator.
#pragma once

#include "kiln/ir/kernel.h"

namespace kiln::passes {

ir::MemoryPlan plan_memory(const ir::Graph& graph, const ir::Program& program);

}  // namespace kiln::passes
