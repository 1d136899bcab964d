// Compiled CUDA kernels of the process: kernel key -> CUfunction, in memory; and the CUBINs on
// disk under $KILN_CACHE_DIR/cuda (cpu::DiskCache's verified, atomically written files), keyed
// by the kernel key, NVRTC's options (the GPU architecture among them), NVRTC's version and
// kiln's version and build ID, so a later process of the same build loads the cubin instead of
// running NVRTC again, and a rebuilt kiln (whose code generation or options may have changed)
// never loads one an older build compiled.
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

// The disk-cache key of the CUBIN of kernel `key` for sm_`arch` with `flags`, compiled by
// `compiler` ("nvrtc <version>", or the host compiler of the emulated device's modules): the
// options nvrtc_compile passes (nvrtc_options), kiln's version and build ID, and the key.
std::string module_disk_key(const std::string& key, int arch, NvrtcFlags flags,
                            const std::string& compiler);

}  // namespace kiln::backends::cuda
