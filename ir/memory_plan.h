// A Program's memory plan: when each buffer dies, and which intermediate buffers can take over
// the memory of dead ones. Computed once per program (passes/plan_memory.h) so that running it
// only follows the plan.
#pragma once

#include <cstdint>
#include <vector>

#include "kiln/ir/graph.h"

namespace kiln::ir {

struct MemoryPlan {
  // Per program step: the intermediate values whose buffers are dead once the step has run.
  std::vector<std::vector<ValueId>> release_after;
  // Per graph value: the slot whose memory a kernel-written intermediate reuses, or -1
  // (inputs, outputs, library results, fused values). Values sharing a slot have the same
  // byte size and lifetimes that do not overlap.
  std::vector<int32_t> slot;
  int32_t num_slots = 0;
  // The most bytes of step results alive at once (outputs included, inputs not), and what
  // they would take without reuse (every materialized result in its own buffer).
  int64_t peak_bytes = 0;
  int64_t unplanned_bytes = 0;
};

}  // namespace kiln::ir
