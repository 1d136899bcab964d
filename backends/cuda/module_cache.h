// Compiled CUDA kernels of the process: kernel key -> CUfunction, in memory; and the CUBINs on
// disk under $KILN_CACHE_DIR/cuda (cpu::DiskCache's verified, atomically written files), keyed
// by the kernel key, the GPU architecture, NVRTC's version and kiln's version, so a later
// process loads the cubin instead of running NVRTC again.
//
// NVRTC compiles an sm_XX CUBIN for the device found; if that fails (an NVRTC older than the
// GPU), PTX for the newest architecture it knows, which the driver JIT-compiles (for
// architecture-specific modules: PTX for the device's own compute_XXa).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "kiln/backends/cuda/nvrtc.h"
#include "kiln/runtime/cuda/cuda_api.h"

namespace kiln::backends::cuda {

struct ModuleCacheStats {
  uint64_t memory_hits = 0;
  uint64_t disk_hits = 0;
  uint64_t compiles = 0;
};

// The function `symbol` of the module of `key` on device `index`: the module is built from
// source() (or read from the disk cache) at the first request of `key` on that device; other
// functions of the same module are then looked up in it. `flags` (nvrtc.h): sm_XXa code (the
// caller checks the device's compute capability) or --fmad=true; the key must tell modules
// compiled with other flags apart. Thread-safe.
runtime::cuda::CUfunction cuda_function(int index, const std::string& key,
                                        const std::string& symbol,
                                        const std::function<std::string()>& source,
                                        NvrtcFlags flags = {});

ModuleCacheStats module_cache_stats();

}  // namespace kiln::backends::cuda
