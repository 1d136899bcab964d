// Modules of host code behind the emulated driver's cuModuleLoadData, cuModuleGetFunction and
// cuLaunchKernel (backends/cuda/host_kernels.h builds them from the CUDA backend's CUDA C).
//
// An image is kHostModuleMagic, the size of a shared object as 16 hex digits and a newline,
// then the shared object. Loading writes it to a temporary file, dlopens it and removes the
// file. Each kernel NAME has the entry
//   int kiln_host_launch_NAME(const unsigned* grid, const unsigned* block, void** args,
//                             char* error, size_t error_len)
// which runs the whole grid before it returns (nonzero, with `error`, when it fails).
#pragma once

#include "kiln/runtime/cuda/cuda_api.h"

namespace kiln::runtime::cuda {

inline constexpr CUresult CUDA_ERROR_LAUNCH_FAILED = 719;

// CUDA_ERROR_NOT_SUPPORTED when `image` is not a host module (a GPU's CUBIN or PTX).
CUresult host_module_load(CUmodule* module, const void* image);
CUresult host_module_unload(CUmodule module);
CUresult host_module_function(CUfunction* function, CUmodule module, const char* name);
// Runs the launch with device memory accessible (DeviceAccess).
CUresult host_launch(CUfunction function, const unsigned grid[3], const unsigned block[3],
                     void** args);
// The message of this thread's last failed host launch.
const char* host_launch_error();

}  // namespace kiln::runtime::cuda
