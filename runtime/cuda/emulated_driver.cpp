#include "kiln/runtime/cuda/emulated_driver.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <string>

#include "kiln/runtime/cuda/host_modules.h"
#include "kiln/runtime/error.h"

namespace kiln::runtime::cuda {
namespace {

// The reserved address space, also reported as each device's total memory.
inline constexpr size_t kArenaBytes = size_t{16} << 30;
inline constexpr size_t kAlignment = 256;  // cuMemAlloc's guarantee

// Device memory: one reserved region, first-fit over address-ordered free ranges. Everything
// under one mutex (the emulation is for tests, not for speed).
class Arena {
 public:
  static Arena& instance() {
    static Arena* arena = new Arena();  // never destroyed: buffers may outlive static teardown
    return *arena;
  }

  CUresult allocate(CUdeviceptr* out, size_t nbytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!reserve()) return CUDA_ERROR_OUT_OF_MEMORY;
    const size_t size = round_up(nbytes == 0 ? 1 : nbytes, kAlignment);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second < size) continue;
      const uintptr_t at = it->first;
      const size_t left = it->second - size;
      free_.erase(it);
      if (left > 0) free_.emplace(at + size, left);
      live_.emplace(at, size);
      extend_to(at + size);
      *out = at;
      return CUDA_SUCCESS;
    }
    return CUDA_ERROR_OUT_OF_MEMORY;
  }

  CUresult release(CUdeviceptr ptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(ptr);
    if (it == live_.end()) return CUDA_ERROR_INVALID_VALUE;
    uintptr_t at = it->first;
    size_t size = it->second;
    live_.erase(it);
    // Coalesce with the free neighbours.
    auto next = free_.lower_bound(at);
    if (next != free_.end() && next->first == at + size) {
      size += next->second;
      next = free_.erase(next);
    }
    if (next != free_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == at) {
        at = prev->first;
        size += prev->second;
        free_.erase(prev);
      }
    }
    free_.emplace(at, size);
    return CUDA_SUCCESS;
  }

  // Whether [ptr, ptr + nbytes) lies inside one live allocation.
  bool owns(uintptr_t ptr, size_t nbytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.upper_bound(ptr);
    if (it == live_.begin()) return false;
    --it;
    return ptr >= it->first && ptr + nbytes <= it->first + it->second;
  }
  // Whether ptr points anywhere into the reserved region (a device address used as a host one).
  bool in_region(uintptr_t ptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    return base_ != 0 && ptr >= base_ && ptr < base_ + kArenaBytes;
  }

  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (open_++ == 0) protect(PROT_READ | PROT_WRITE);
  }
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--open_ == 0) protect(PROT_NONE);
  }

 private:
  static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

  bool reserve() {
    if (base_ != 0) return true;
    void* p =
        mmap(nullptr, kArenaBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    base_ = reinterpret_cast<uintptr_t>(p);
    free_.emplace(base_, kArenaBytes);
    return true;
  }

  // Keeps the high-water mark; pages above it were never handed out and stay PROT_NONE.
  void extend_to(uintptr_t end) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t new_top = base_ + round_up(end - base_, page);
    if (new_top <= top_) return;
    const uintptr_t old_top = top_ == 0 ? base_ : top_;
    top_ = new_top;
    if (open_ > 0) mprotect_checked(old_top, new_top - old_top, PROT_READ | PROT_WRITE);
  }

  void protect(int prot) {
    if (top_ > base_) mprotect_checked(base_, top_ - base_, prot);
  }

  static void mprotect_checked(uintptr_t at, size_t n, int prot) {
    // Failing here would leave device memory in the wrong state for every later access.
    if (mprotect(reinterpret_cast<void*>(at), n, prot) != 0) std::abort();
  }

  std::mutex mutex_;
  uintptr_t base_ = 0;
  uintptr_t top_ = 0;
  int open_ = 0;
  std::map<uintptr_t, size_t> free_;
  std::map<uintptr_t, size_t> live_;
};

thread_local CUcontext current_context = nullptr;

CUresult ok() { return CUDA_SUCCESS; }

CUresult device_get(CUdevice* dev, int ordinal) {
  if (ordinal < 0 || ordinal >= emulated_device_count()) return CUDA_ERROR_INVALID_DEVICE;
  *dev = ordinal;
  return CUDA_SUCCESS;
}

CUresult device_attribute(int* value, int attribute, CUdevice dev) {
  if (dev < 0 || dev >= emulated_device_count()) return CUDA_ERROR_INVALID_DEVICE;
  switch (attribute) {  // an H100's
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK:
      *value = 1024;
      return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X:
      *value = 2147483647;
      return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y:
      *value = 65535;
      return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK:
      *value = 49152;
      return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
      *value = 132;
      return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR:
      *value = 2048;
      return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
      *value = 9;
      return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
      *value = 0;
      return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN:
      *value = 232448;
      return CUDA_SUCCESS;
    default:
      return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult device_name(char* name, int length, CUdevice dev) {
  if (dev < 0 || dev >= emulated_device_count()) return CUDA_ERROR_INVALID_DEVICE;
  if (length <= 0) return CUDA_ERROR_INVALID_VALUE;
  std::snprintf(name, static_cast<size_t>(length), "kiln emulated CUDA device");
  return CUDA_SUCCESS;
}

CUresult total_memory(size_t* bytes, CUdevice dev) {
  if (dev < 0 || dev >= emulated_device_count()) return CUDA_ERROR_INVALID_DEVICE;
  *bytes = kArenaBytes;
  return CUDA_SUCCESS;
}

CUresult retain_context(CUcontext* ctx, CUdevice dev) {
  if (dev < 0 || dev >= emulated_device_count()) return CUDA_ERROR_INVALID_DEVICE;
  // Any distinct non-null handle: nothing dereferences it.
  *ctx = reinterpret_cast<CUcontext>(static_cast<uintptr_t>(dev + 1) * 64);
  return CUDA_SUCCESS;
}

CUresult set_context(CUcontext ctx) {
  current_context = ctx;
  return CUDA_SUCCESS;
}

CUresult get_context(CUcontext* ctx) {
  *ctx = current_context;
  return CUDA_SUCCESS;
}

CUresult mem_alloc(CUdeviceptr* ptr, size_t nbytes) {
  if (ptr == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return Arena::instance().allocate(ptr, nbytes);
}

CUresult mem_free(CUdeviceptr ptr) { return Arena::instance().release(ptr); }

CUresult host_alloc(void** ptr, size_t nbytes, unsigned) {
  *ptr = std::aligned_alloc(4096, (nbytes + 4095) / 4096 * 4096);
  return *ptr != nullptr ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult host_free(void* ptr) {
  std::free(ptr);
  return CUDA_SUCCESS;
}

// Copies check what a device would: device ranges inside one allocation, host ranges outside
// device memory.
CUresult copy(void* dst, bool dst_device, const void* src, bool src_device, size_t nbytes) {
  Arena& arena = Arena::instance();
  const auto d = reinterpret_cast<uintptr_t>(dst);
  const auto s = reinterpret_cast<uintptr_t>(src);
  if (dst_device ? !arena.owns(d, nbytes) : arena.in_region(d)) return CUDA_ERROR_INVALID_VALUE;
  if (src_device ? !arena.owns(s, nbytes) : arena.in_region(s)) return CUDA_ERROR_INVALID_VALUE;
  if (nbytes == 0) return CUDA_SUCCESS;
  DeviceAccess access;
  std::memmove(dst, src, nbytes);
  return CUDA_SUCCESS;
}

void* as_host(CUdeviceptr p) { return reinterpret_cast<void*>(static_cast<uintptr_t>(p)); }

CUresult htod(CUdeviceptr dst, const void* src, size_t n) {
  return copy(as_host(dst), true, src, false, n);
}
CUresult dtoh(void* dst, CUdeviceptr src, size_t n) {
  return copy(dst, false, as_host(src), true, n);
}
CUresult dtod(CUdeviceptr dst, CUdeviceptr src, size_t n) {
  return copy(as_host(dst), true, as_host(src), true, n);
}
CUresult htod_async(CUdeviceptr dst, const void* src, size_t n, CUstream) {
  return htod(dst, src, n);
}
CUresult dtoh_async(void* dst, CUdeviceptr src, size_t n, CUstream) { return dtoh(dst, src, n); }
CUresult dtod_async(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream) {
  return dtod(dst, src, n);
}

CUresult memset8(CUdeviceptr dst, unsigned char value, size_t n) {
  if (!Arena::instance().owns(static_cast<uintptr_t>(dst), n)) return CUDA_ERROR_INVALID_VALUE;
  DeviceAccess access;
  std::memset(as_host(dst), value, n);
  return CUDA_SUCCESS;
}

// Modules are host code (host_modules.h, built under KILN_EMULATE_CUDA_KERNELS=1); a GPU's
// CUBIN or PTX is refused with CUDA_ERROR_NOT_SUPPORTED.
CUresult function_attribute(CUfunction, int, int) { return CUDA_SUCCESS; }
CUresult launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                unsigned bz, unsigned, CUstream, void** args, void** extra) {
  if (extra != nullptr) return CUDA_ERROR_INVALID_VALUE;
  const unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  return host_launch(f, grid, block, args);
}
CUresult stream_synchronize(CUstream) { return CUDA_SUCCESS; }

// Events complete at once (every emulated operation is synchronous) and measure nothing.
CUresult event_create(CUevent* event, unsigned) {
  *event = reinterpret_cast<CUevent>(new char);
  return CUDA_SUCCESS;
}
CUresult event_destroy(CUevent event) {
  delete reinterpret_cast<char*>(event);
  return CUDA_SUCCESS;
}
CUresult event_record(CUevent, CUstream) { return CUDA_SUCCESS; }
CUresult event_synchronize(CUevent) { return CUDA_SUCCESS; }
CUresult event_elapsed(float* ms, CUevent, CUevent) {
  *ms = 0.0f;
  return CUDA_SUCCESS;
}

CUresult error_string(CUresult result, const char** message) {
  switch (result) {
    case CUDA_SUCCESS:
      *message = "no error";
      return CUDA_SUCCESS;
    case CUDA_ERROR_INVALID_VALUE:
      *message = "invalid argument";
      return CUDA_SUCCESS;
    case CUDA_ERROR_OUT_OF_MEMORY:
      *message = "out of memory";
      return CUDA_SUCCESS;
    case CUDA_ERROR_INVALID_DEVICE:
      *message = "invalid device ordinal";
      return CUDA_SUCCESS;
    case CUDA_ERROR_NOT_SUPPORTED:
      *message =
          "operation not supported (GPU kernels do not run on the emulated CUDA device; its host "
          "kernels need KILN_EMULATE_CUDA_KERNELS=1)";
      return CUDA_SUCCESS;
    case CUDA_ERROR_LAUNCH_FAILED:
      *message = host_launch_error();
      return CUDA_SUCCESS;
    case CUDA_ERROR_INVALID_IMAGE:
      *message = "device kernel image is invalid";
      return CUDA_SUCCESS;
    case CUDA_ERROR_NOT_FOUND:
      *message = "named symbol not found";
      return CUDA_SUCCESS;
    default:
      *message = nullptr;
      return CUDA_ERROR_INVALID_VALUE;
  }
}

}  // namespace

int emulated_device_count() {
  static const int count = [] {
    const char* env = std::getenv("KILN_EMULATE_CUDA");
    if (env == nullptr || *env == '\0') return 0;
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end != '\0' || n < 0 || n > 16)
      throw Error(std::string("KILN_EMULATE_CUDA=") + env +
                  " is not a device count (expected 0 to 16)");
    return static_cast<int>(n);
  }();
  return count;
}

Driver emulated_driver() {
  Driver d{};
  d.cuInit = [](unsigned) { return ok(); };
  d.cuDriverGetVersion = [](int* v) {
    *v = 13000;
    return ok();
  };
  d.cuDeviceGet = device_get;
  d.cuDeviceGetCount = [](int* n) {
    *n = emulated_device_count();
    return ok();
  };
  d.cuDeviceGetAttribute = device_attribute;
  d.cuDeviceGetName = device_name;
  d.cuDeviceTotalMem = total_memory;
  d.cuDevicePrimaryCtxRetain = retain_context;
  d.cuCtxSetCurrent = set_context;
  d.cuCtxGetCurrent = get_context;
  d.cuCtxSynchronize = [] { return ok(); };
  d.cuMemAlloc = mem_alloc;
  d.cuMemFree = mem_free;
  d.cuMemHostAlloc = host_alloc;
  d.cuMemFreeHost = host_free;
  d.cuMemcpyHtoD = htod;
  d.cuMemcpyDtoH = dtoh;
  d.cuMemcpyDtoD = dtod;
  d.cuMemcpyHtoDAsync = htod_async;
  d.cuMemcpyDtoHAsync = dtoh_async;
  d.cuMemcpyDtoDAsync = dtod_async;
  d.cuMemsetD8 = memset8;
  d.cuModuleLoadData = host_module_load;
  d.cuModuleUnload = host_module_unload;
  d.cuModuleGetFunction = host_module_function;
  d.cuFuncSetAttribute = function_attribute;
  d.cuLaunchKernel = launch;
  d.cuStreamSynchronize = stream_synchronize;
  d.cuEventCreate = event_create;
  d.cuEventDestroy = event_destroy;
  d.cuEventRecord = event_record;
  d.cuEventSynchronize = event_synchronize;
  d.cuEventElapsedTime = event_elapsed;
  d.cuGetErrorString = error_string;
  d.cuTensorMapEncodeTiled = nullptr;  // no TMA: the Hopper matmul is never chosen
  return d;
}

DeviceAccess::DeviceAccess() : active_(emulated()) {
  if (active_) Arena::instance().open();
}

DeviceAccess::~DeviceAccess() {
  if (active_) Arena::instance().close();
}

}  // namespace kiln::runtime::cuda
