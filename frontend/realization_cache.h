// The realization cache: realization graphs seen before, with what the backend prepared for
// them. A training loop builds the same graph at every step (same ops, shapes and constants,
// new input buffers); after the first step a realization only hashes and compares the graph,
// then runs the prepared program, skipping the passes, fusion and lowering. The idea is
// LazyTensor's graph cache (PyTorch/XLA).
#pragma once

#include <cstdint>
#include <vector>

#include "kiln/backends/backend.h"
#include "kiln/frontend/pending_graph.h"

namespace kiln::frontend {

struct RealizationCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;   // graphs optimized and compiled (also when the cache is off)
  uint64_t entries = 0;  // graphs held now
};
RealizationCacheStats realization_cache_stats();

// Computes the pending graph `pending` on `backend` (its outputs' buffers, in order), as
// Backend::run does for pending.to_graph(): a graph seen before runs its prepared program;
// a new one (built with room for `size_hint` nodes) goes through the pass pipeline and the
// backend's compile first. KILN_REALIZATION_CACHE=0 turns the cache off (every graph is
// optimized and compiled afresh). Not thread-safe: callers hold the realization lock.
std::vector<backends::BufferPtr> run_realization(const PendingGraph& pending,
                                                 backends::Backend& backend, size_t size_hint);

}  // namespace kiln::frontend
