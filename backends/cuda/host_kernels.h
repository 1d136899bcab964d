// The CUDA backend's own kernels run on the host: with KILN_EMULATE_CUDA=N and
// KILN_EMULATE_CUDA_KERNELS=1 (runtime/cuda/emulated_driver.h), every module the CUDA backend
// builds is compiled from its CUDA C by the host's C++ compiler instead of NVRTC, and the
// emulated driver loads it and runs its launches (every block, every thread) on the CPU.
//
// Why: a GPU is lent to few sessions, while the generated CUDA C (elementwise, reductions with
// warp shuffles and block combines, split reductions, index/index_put with their sort, copies,
// the tiled and integer matmuls, the Philox random kernels) is where a GPU run finds wrong
// results. This mode runs that code, and the CUDA backend's launch plumbing around it, against
// the interpreter in ctest on any machine. What it cannot run: inline PTX (the mma.sync and
// wgmma tensor-core kernels; the backend uses its other kernels on the emulated device), and
// anything about speed.
//
// The dialect shim (host_shim.cpp) maps CUDA's built-ins to host code: each CUDA thread is a
// fiber, __syncthreads/__syncwarp/shuffles are barriers between them, __shared__ is one static
// per block. Floating-point intrinsics are the host's (libm instead of libdevice).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln::backends::cuda {

// Whether the CUDA backend's modules run on the host (the emulated device with
// KILN_EMULATE_CUDA_KERNELS=1).
bool kernels_run_on_host();

// The C++ text every host module starts with: CUDA's built-ins, the fiber scheduler.
std::string_view host_cuda_shim();

// The names of the kernels (`__global__` functions) that `source` defines, in order.
std::vector<std::string> kernel_names(std::string_view source);

// `source` (CUDA C) compiled for the host as a shared object with one launch entry per kernel,
// as a cuModuleLoadData image for the emulated driver (runtime/cuda/host_modules.h). The
// compiler is $KILN_HOST_CXX, else c++. Throws kiln::Error with the compiler's output when it
// fails.
std::string host_module_image(std::string_view source);

// What tells host modules apart in cache keys: the compiler (its path and --version line) and
// the shim's hash.
std::string host_module_id();

}  // namespace kiln::backends::cuda
