// The backend of emulated CUDA devices (KILN_EMULATE_CUDA, runtime/cuda/emulated_driver.h):
// each graph runs as on the CPU backend (same lowering, LLVM-compiled kernels, library steps),
// over buffers in emulated device memory, which the kernels reach only inside a DeviceAccess
// scope. Step results and copies are allocated on the device, as the CUDA backend allocates
// them, so the frontend sees exactly the buffers and devices a GPU would give it.
#pragma once

#include "kiln/backends/backend.h"

namespace kiln::backends {

// The backend of emulated device cuda:index (one per device, never destroyed).
Backend& emulated_cuda_backend(int index);

}  // namespace kiln::backends
