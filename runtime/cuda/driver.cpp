#include "kiln/runtime/cuda/driver.h"

#include <dlfcn.h>

#include <map>
#include <memory>
#include <mutex>

#include "kiln/runtime/cuda/emulated_driver.h"
#include "kiln/runtime/error.h"

namespace kiln::runtime::cuda {
namespace {

struct Loaded {
  Driver driver{};
  bool ok = false;
  std::string why;
};

template <class F>
bool resolve(void* lib, F& slot, const char* name, std::string& why) {
  void* symbol = dlsym(lib, name);
  if (symbol == nullptr) {
    why = std::string("libcuda.so.1 has no entry point ") + name;
    return false;
  }
  slot = reinterpret_cast<F>(symbol);
  return true;
}

Loaded load() {
  Loaded l;
  if (emulated()) {  // KILN_EMULATE_CUDA: no libcuda at all (emulated_driver.h)
    l.driver = emulated_driver();
    l.ok = true;
    return l;
  }
  // Never closed: the driver stays loaded for the life of the process.
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* e = dlerror();
    l.why = std::string("the CUDA driver (libcuda.so.1) could not be loaded: ") +
            (e != nullptr ? e : "not found");
    return l;
  }
  Driver& d = l.driver;
  std::string& w = l.why;
  const bool all = resolve(lib, d.cuInit, "cuInit", w) &&
                   resolve(lib, d.cuDriverGetVersion, "cuDriverGetVersion", w) &&
                   resolve(lib, d.cuDeviceGet, "cuDeviceGet", w) &&
                   resolve(lib, d.cuDeviceGetCount, "cuDeviceGetCount", w) &&
                   resolve(lib, d.cuDeviceGetAttribute, "cuDeviceGetAttribute", w) &&
                   resolve(lib, d.cuDeviceGetName, "cuDeviceGetName", w) &&
                   resolve(lib, d.cuDeviceTotalMem, "cuDeviceTotalMem_v2", w) &&
                   resolve(lib, d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", w) &&
                   resolve(lib, d.cuCtxSetCurrent, "cuCtxSetCurrent", w) &&
                   resolve(lib, d.cuCtxGetCurrent, "cuCtxGetCurrent", w) &&
                   resolve(lib, d.cuCtxSynchronize, "cuCtxSynchronize", w) &&
                   resolve(lib, d.cuMemAlloc, "cuMemAlloc_v2", w) &&
                   resolve(lib, d.cuMemFree, "cuMemFree_v2", w) &&
                   resolve(lib, d.cuMemHostAlloc, "cuMemHostAlloc", w) &&
                   resolve(lib, d.cuMemFreeHost, "cuMemFreeHost", w) &&
                   resolve(lib, d.cuMemcpyHtoD, "cuMemcpyHtoD_v2", w) &&
                   resolve(lib, d.cuMemcpyDtoH, "cuMemcpyDtoH_v2", w) &&
                   resolve(lib, d.cuMemcpyDtoD, "cuMemcpyDtoD_v2", w) &&
                   resolve(lib, d.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", w) &&
                   resolve(lib, d.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", w) &&
                   resolve(lib, d.cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", w) &&
                   resolve(lib, d.cuMemsetD8, "cuMemsetD8_v2", w) &&
                   resolve(lib, d.cuModuleLoadData, "cuModuleLoadData", w) &&
                   resolve(lib, d.cuModuleUnload, "cuModuleUnload", w) &&
                   resolve(lib, d.cuModuleGetFunction, "cuModuleGetFunction", w) &&
                   resolve(lib, d.cuFuncSetAttribute, "cuFuncSetAttribute", w) &&
                   resolve(lib, d.cuLaunchKernel, "cuLaunchKernel", w) &&
                   resolve(lib, d.cuStreamSynchronize, "cuStreamSynchronize", w) &&
                   resolve(lib, d.cuEventCreate, "cuEventCreate", w) &&
                   resolve(lib, d.cuEventDestroy, "cuEventDestroy_v2", w) &&
                   resolve(lib, d.cuEventRecord, "cuEventRecord", w) &&
                   resolve(lib, d.cuEventSynchronize, "cuEventSynchronize", w) &&
                   resolve(lib, d.cuEventElapsedTime, "cuEventElapsedTime", w) &&
                   resolve(lib, d.cuGetErrorString, "cuGetErrorString", w);
  if (!all) return l;
  // Optional entry points: null when this driver lacks them.
  d.cuTensorMapEncodeTiled =
      reinterpret_cast<decltype(d.cuTensorMapEncodeTiled)>(dlsym(lib, "cuTensorMapEncodeTiled"));
  const CUresult r = d.cuInit(0);
  if (r != CUDA_SUCCESS) {
    l.why = "cuInit failed with CUDA error " + std::to_string(r);
    return l;
  }
  l.ok = true;
  return l;
}

const Loaded& loaded() {
  static const Loaded l = load();
  return l;
}

}  // namespace

const Driver* driver() { return loaded().ok ? &loaded().driver : nullptr; }

std::string why_unavailable() { return loaded().ok ? "" : loaded().why; }

const Driver& require_driver() {
  const Driver* d = driver();
  if (d == nullptr) throw Error("CUDA is not available: " + why_unavailable());
  return *d;
}

int device_count() {
  const Driver* d = driver();
  if (d == nullptr) return 0;
  int n = 0;
  if (d->cuDeviceGetCount(&n) != CUDA_SUCCESS) return 0;
  return n;
}

void check(CUresult result, const char* what) {
  if (result == CUDA_SUCCESS) return;
  const char* message = nullptr;
  if (const Driver* d = driver(); d != nullptr) d->cuGetErrorString(result, &message);
  throw Error(std::string("CUDA error in ") + what + ": " +
              (message != nullptr ? message : "unknown error") + " (" + std::to_string(result) +
              ")");
}

void ensure_context(int index) {
  const Driver& d = require_driver();
  static std::mutex mutex;
  static std::map<int, CUcontext> contexts;
  thread_local int current = -1;
  if (current == index) return;
  CUcontext ctx = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = contexts.find(index);
    if (it == contexts.end()) {
      const int count = device_count();
      if (index < 0 || index >= count)
        throw Error("CUDA error: invalid device ordinal: cuda:" + std::to_string(index) + " (" +
                    std::to_string(count) + " device(s) present)");
      CUdevice dev = 0;
      check(d.cuDeviceGet(&dev, index), "cuDeviceGet");
      check(d.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
      contexts.emplace(index, ctx);
    } else {
      ctx = it->second;
    }
  }
  check(d.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
  current = index;
}

const DeviceProperties& device_properties(int index) {
  static std::mutex mutex;
  static std::map<int, std::unique_ptr<DeviceProperties>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[index];
  if (slot) return *slot;
  const Driver& d = require_driver();
  ensure_context(index);
  CUdevice dev = 0;
  check(d.cuDeviceGet(&dev, index), "cuDeviceGet");
  auto p = std::make_unique<DeviceProperties>();
  char name[256] = {};
  check(d.cuDeviceGetName(name, sizeof name, dev), "cuDeviceGetName");
  p->name = name;
  auto attr = [&](int a) {
    int v = 0;
    check(d.cuDeviceGetAttribute(&v, a, dev), "cuDeviceGetAttribute");
    return v;
  };
  p->major = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  p->minor = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  p->multiprocessors = attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  p->max_threads_per_block = attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
  p->max_threads_per_multiprocessor = attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR);
  p->max_shared_per_block_optin = attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
  check(d.cuDeviceTotalMem(&p->total_memory, dev), "cuDeviceTotalMem");
  slot = std::move(p);
  return *slot;
}

}  // namespace kiln::runtime::cuda
