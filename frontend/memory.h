// Allocator statistics for users (as torch.cuda.memory_stats and friends, for every device):
// the runtime's counters under the public namespace.
#pragma once

#include "kiln/runtime/buffer.h"

namespace kiln {

// bytes_in_use, peak_bytes_in_use, bytes_cached and num_allocations of a device's allocator.
using runtime::memory_stats;
using runtime::MemoryStats;
// Returns cached blocks to the system; live tensors are untouched.
using runtime::empty_cache;
using runtime::reset_peak_memory_stats;

}  // namespace kiln
