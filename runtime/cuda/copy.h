// Copies between host and device memory, and device synchronization.
//
// Host<->device copies up to kPinnedThreshold bytes go straight through cuMemcpy (the driver
// stages pageable memory itself). Larger ones run through two pinned staging buffers
// (cuMemHostAlloc, kStagingChunk bytes each, allocated once per process): while the DMA engine
// moves one chunk, the CPU fills or drains the other, so pageable copies run near the PCIe /
// NVLink rate instead of the driver's slower internal staging. Every copy is complete (and
// every kernel queued before it finished) when the call returns.
#pragma once

#include <cstddef>

namespace kiln::runtime::cuda {

inline constexpr size_t kPinnedThreshold = size_t{1} << 20;
inline constexpr size_t kStagingChunk = size_t{8} << 20;

void copy_host_to_device(void* device_dst, const void* host_src, size_t nbytes, int index);
void copy_device_to_host(void* host_dst, const void* device_src, size_t nbytes, int index);
void copy_device_to_device(void* device_dst, const void* device_src, size_t nbytes, int index);
// Waits for everything queued on device `index` (kernels, copies).
void synchronize(int index);

}  // namespace kiln::runtime::cuda
