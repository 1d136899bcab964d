#include "kiln/runtime/cuda/host_modules.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kiln/runtime/cuda/emulated_driver.h"

namespace kiln::runtime::cuda {
namespace {

using LaunchEntry = int (*)(const unsigned*, const unsigned*, void**, char*, size_t, char*, size_t);

// The fibers' stacks (one per thread of a block, at most 1024), each above a guard page:
// reserved once per launching thread and shared by every module.
inline constexpr size_t kMaxThreads = 1024;
inline constexpr size_t kStackSpan = (size_t{256} << 10) + 4096;

char* fiber_stacks() {
  static thread_local char* stacks = [] {
    void* p = mmap(nullptr, kMaxThreads * kStackSpan, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return static_cast<char*>(nullptr);
    for (size_t i = 0; i < kMaxThreads; ++i)
      mprotect(static_cast<char*>(p) + i * kStackSpan, 4096, PROT_NONE);
    return static_cast<char*>(p);
  }();
  return stacks;
}

struct HostFunction {
  LaunchEntry entry = nullptr;
  std::string name;
};

struct HostModule {
  void* handle = nullptr;
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<HostFunction>> functions;
};

thread_local std::string last_error;

}  // namespace

CUresult host_module_load(CUmodule* module, const void* image) {
  const char* bytes = static_cast<const char*>(image);
  const size_t magic = kHostModuleMagic.size();
  if (bytes == nullptr || std::strncmp(bytes, kHostModuleMagic.data(), magic) != 0)
    return CUDA_ERROR_NOT_SUPPORTED;
  char* end = nullptr;
  const unsigned long long size = std::strtoull(bytes + magic, &end, 16);
  if (end != bytes + magic + 16 || *end != '\n') return CUDA_ERROR_INVALID_IMAGE;
  const char* so = end + 1;

  std::string path =
      (std::filesystem::temp_directory_path() / "kiln-host-module-XXXXXX.so").string();
  const int fd = mkstemps(path.data(), 3);
  if (fd < 0) return CUDA_ERROR_INVALID_IMAGE;
  size_t written = 0;
  while (written < size) {
    const ssize_t n = write(fd, so + written, size - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  close(fd);
  void* handle = written == size ? dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL) : nullptr;
  unlink(path.c_str());  // the mapping outlives the file
  // A temporary directory that cannot be written, or a shared object that does not load.
  if (handle == nullptr) return CUDA_ERROR_INVALID_IMAGE;
  auto* m = new HostModule();
  m->handle = handle;
  *module = reinterpret_cast<CUmodule>(m);
  return CUDA_SUCCESS;
}

CUresult host_module_unload(CUmodule module) {
  auto* m = reinterpret_cast<HostModule*>(module);
  if (m == nullptr) return CUDA_ERROR_INVALID_VALUE;
  dlclose(m->handle);
  delete m;
  return CUDA_SUCCESS;
}

CUresult host_module_function(CUfunction* function, CUmodule module, const char* name) {
  auto* m = reinterpret_cast<HostModule*>(module);
  if (m == nullptr || name == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> lock(m->mutex);
  std::unique_ptr<HostFunction>& f = m->functions[name];
  if (f == nullptr) {
    void* entry = dlsym(m->handle, (std::string("kiln_host_launch_") + name).c_str());
    if (entry == nullptr) {
      m->functions.erase(name);
      return CUDA_ERROR_NOT_FOUND;
    }
    f = std::make_unique<HostFunction>();
    f->entry = reinterpret_cast<LaunchEntry>(entry);
    f->name = name;
  }
  *function = reinterpret_cast<CUfunction>(f.get());
  return CUDA_SUCCESS;
}

CUresult host_launch(CUfunction function, const unsigned grid[3], const unsigned block[3],
                     void** args) {
  auto* f = reinterpret_cast<HostFunction*>(function);
  if (f == nullptr) return CUDA_ERROR_INVALID_VALUE;
  char* stacks = fiber_stacks();
  if (stacks == nullptr) {
    last_error = "unspecified launch failure (no memory for the fibers' stacks)";
    return CUDA_ERROR_LAUNCH_FAILED;
  }
  char error[512] = {0};
  int status = 0;
  {
    DeviceAccess access;
    status = f->entry(grid, block, args, stacks, kStackSpan, error, sizeof(error));
  }
  if (status == 0) return CUDA_SUCCESS;
  last_error = std::string("unspecified launch failure (") + f->name + ": " + error + ")";
  return CUDA_ERROR_LAUNCH_FAILED;
}

const char* host_launch_error() { return last_error.c_str(); }

}  // namespace kiln::runtime::cuda
