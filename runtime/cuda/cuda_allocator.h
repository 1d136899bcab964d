// The caching CUDA allocator behind Buffer::allocate(n, cuda:N): the same idea as the CPU
// allocator (runtime/cpu_allocator.h) over cuMemAlloc, per device.
//
// Requests are rounded up to a size class (multiples of 512 bytes below 1 MiB, of 2 MiB above)
// and a freed block goes onto its class's free list for the next request of that class:
// cuMemAlloc and cuMemFree synchronize the device and cost tens of microseconds, far more than
// most kernels. Every kernel and copy runs on the device's default stream, in order, so a block
// freed while a kernel that used it is still queued can be handed out again at once: the next
// user's work runs after it. When cuMemAlloc runs out of memory, the cache is emptied and the
// allocation retried once. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kiln/runtime/buffer.h"

namespace kiln::runtime::cuda {

size_t cuda_size_class(size_t nbytes);

// Device memory of device `index` for nbytes (0 included: a valid block), 256-byte aligned.
// Throws kiln::Error when CUDA is unavailable or the device is out of memory.
void* cuda_allocate(size_t nbytes, int index);
// Returns a block from cuda_allocate; nbytes as requested.
void cuda_free(void* data, size_t nbytes, int index) noexcept;

MemoryStats cuda_memory_stats(int index);
void cuda_empty_cache(int index);
void cuda_reset_peak_memory_stats(int index);

}  // namespace kiln::runtime::cuda
