// The CUDA driver API, loaded at run time with dlopen("libcuda.so.1") so that kiln builds and
// runs on machines without a GPU or driver (nothing links the driver stub). driver() returns
// null there, and cuda_is_available() is false.
//
// Every entry point kiln calls is resolved once (the `_v2` names where the driver has them).
// check() turns a failing CUresult into kiln::Error naming the call and the driver's message.
// Contexts: kiln uses each device's primary context (retained once, made current on the
// calling thread by ensure_context()), as the CUDA runtime and PyTorch do.
#pragma once

#include <string>

#include "kiln/runtime/cuda/cuda_api.h"

namespace kiln::runtime::cuda {

struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int*);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuDeviceGetCount)(int*);
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice);
  CUresult (*cuDeviceGetName)(char*, int, CUdevice);
  CUresult (*cuDeviceTotalMem)(size_t*, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxGetCurrent)(CUcontext*);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuMemAlloc)(CUdeviceptr*, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemHostAlloc)(void**, size_t, unsigned);
  CUresult (*cuMemFreeHost)(void*);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void*, size_t);
  CUresult (*cuMemcpyDtoH)(void*, CUdeviceptr, size_t);
  CUresult (*cuMemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void*, size_t, CUstream);
  CUresult (*cuMemcpyDtoHAsync)(void*, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuModuleLoadData)(CUmodule*, const void*);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, CUstream, void**, void**);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuEventCreate)(CUevent*, unsigned);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float*, CUevent, CUevent);
  CUresult (*cuGetErrorString)(CUresult, const char**);
  // Optional (CUDA 12+ drivers; null on older ones): tensor maps for the Hopper TMA unit.
  // Arguments: map, data type, rank, global address, sizes, byte strides of dims 1.., box
  // sizes, element strides, interleave, swizzle, L2 promotion, out-of-bounds fill.
  CUresult (*cuTensorMapEncodeTiled)(CUtensorMap*, int, unsigned, void*, const uint64_t*,
                                     const uint64_t*, const unsigned*, const unsigned*, int, int,
                                     int, int);
};

// The loaded driver with cuInit done, or null when libcuda.so.1 is missing, lacks an entry
// point or cuInit fails (why_unavailable() says which). Thread-safe; loads once.
const Driver* driver();
// The reason driver() is null ("" when it is not).
std::string why_unavailable();
// The driver, or a kiln::Error saying why CUDA is unavailable.
const Driver& require_driver();

// Number of CUDA devices (0 without a driver).
int device_count();

// Throws kiln::Error "CUDA error in WHAT: NAME (code)" when result is not CUDA_SUCCESS.
void check(CUresult result, const char* what);

// Makes the primary context of device `index` current on this thread (retaining it once per
// process). Throws when the device does not exist.
void ensure_context(int index);

struct DeviceProperties {
  std::string name;
  int major = 0;
  int minor = 0;
  int multiprocessors = 0;
  int max_threads_per_block = 0;
  int max_threads_per_multiprocessor = 0;  // the random kernels' grid (PyTorch's rule)
  int max_shared_per_block_optin = 0;
  size_t total_memory = 0;
};
// Properties of device `index` (cached).
const DeviceProperties& device_properties(int index);

}  // namespace kiln::runtime::cuda
