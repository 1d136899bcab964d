// An emulated CUDA driver for machines without a GPU: KILN_EMULATE_CUDA=N (N >= 1) makes
// driver() return this instead of loading libcuda.so.1, with N devices of Hopper's attributes.
//
// Why: most of what a GPU run finds wrong is not in the kernels (those are checked against the
// interpreter by the plan tests) but in the plumbing around them: a value made on the wrong
// device, a device pointer read on the host, a transfer left out. With the emulated device the
// frontend suites, the conformance programs and the device tests of the frontend run on `cuda`
// tensors here and in CI (backends/emulated_cuda.h runs the graphs).
//
// Device memory is a region of host address space reserved once and kept inaccessible
// (PROT_NONE) except inside a DeviceAccess scope, which the emulated copies, memset and the
// emulated backend's kernels open. A host read of a device pointer anywhere else faults, as it
// would against a real device. Nothing compiled for a GPU runs here: loading a CUBIN or PTX fails
// with CUDA_ERROR_NOT_SUPPORTED. With KILN_EMULATE_CUDA_KERNELS=1 the CUDA backend compiles its
// kernels for the host instead (backends/cuda/host_kernels.h) and the driver runs those
// (host_modules.h).
#pragma once

#include <string_view>

#include "kiln/runtime/cuda/driver.h"

namespace kiln::runtime::cuda {

inline constexpr CUresult CUDA_ERROR_NOT_SUPPORTED = 801;

// How a cuModuleLoadData image of host code starts (host_modules.h).
inline constexpr std::string_view kHostModuleMagic = "kiln-host-module\n";

// The number of emulated devices KILN_EMULATE_CUDA asks for (0: the real driver). Read once.
int emulated_device_count();
inline bool emulated() { return emulated_device_count() > 0; }

// The emulated driver's entry points (cuInit succeeds; the devices are those above).
Driver emulated_driver();

// While one is alive (on any thread), emulated device memory is readable and writable from the
// host. Nests; thread-safe. A no-op without emulation.
class DeviceAccess {
 public:
  DeviceAccess();
  ~DeviceAccess();
  DeviceAccess(const DeviceAccess&) = delete;
  DeviceAccess& operator=(const DeviceAccess&) = delete;

 private:
  bool active_;
};

}  // namespace kiln::runtime::cuda
