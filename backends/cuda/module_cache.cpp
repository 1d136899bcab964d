#include "kiln/backends/cuda/module_cache.h"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kiln/backends/cpu/build_id.h"
#include "kiln/backends/cpu/disk_cache.h"
#include "kiln/backends/cpu/kernel_cache.h"
#include "kiln/backends/cuda/host_kernels.h"
#include "kiln/backends/cuda/nvrtc.h"
#include "kiln/runtime/cuda/driver.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::cuda {
namespace {

using runtime::cuda::CUfunction;
using runtime::cuda::CUmodule;

std::mutex& mutex() {
  static std::mutex m;
  return m;
}

struct Cache {
  std::map<std::pair<int, std::string>, CUmodule> modules;                    // (device, key)
  std::map<std::tuple<int, std::string, std::string>, CUfunction> functions;  // + symbol
  std::unique_ptr<cpu::DiskCache> disk;
  ModuleCacheStats stats;
};

Cache& cache() {
  static Cache* c = [] {
    auto* cache = new Cache();  // never destroyed: modules live as long as the process
    if (const std::optional<std::filesystem::path> dir = cpu::KernelCache::default_directory())
      cache->disk = std::make_unique<cpu::DiskCache>(*dir / "cuda");
    return cache;
  }();
  return *c;
}

CUmodule load(const std::string& image) {
  const runtime::cuda::Driver& d = runtime::cuda::require_driver();
  CUmodule module = nullptr;
  runtime::cuda::check(d.cuModuleLoadData(&module, image.data()), "cuModuleLoadData");
  return module;
}

CompiledModule gpu_module(const std::string& src, const std::string& symbol, int arch,
                          NvrtcFlags flags) {
  try {
    return nvrtc_compile(src, symbol, arch, /*cubin=*/true, flags);
  } catch (const Error&) {
    // NVRTC may not know this GPU: PTX for a target it does, JIT-compiled by the driver
    // (architecture-specific code has no other target than the device's own).
    return nvrtc_compile(src, symbol, flags.arch_specific ? arch : 90, /*cubin=*/false, flags);
  }
}

// The emulated device's modules are host code (host_kernels.h), cached on disk like CUBINs.
CompiledModule host_module(const std::string& src) {
  CompiledModule m;
  m.image = host_module_image(src);
  m.is_cubin = true;
  return m;
}

}  // namespace

std::string module_disk_key(const std::string& key, int arch, NvrtcFlags flags,
                            const std::string& compiler) {
  // Only CUBINs are stored, so the options are the CUBIN compile's.
  return absl::StrCat("kiln-cuda-module/2\n", absl::StrJoin(nvrtc_options(arch, true, flags), " "),
                      "\n", compiler, "\nkiln ", KILN_VERSION, " build ", cpu::kiln_build_id(),
                      "\n", key);
}

CUfunction cuda_function(int index, const std::string& key, const std::string& symbol,
                         const std::function<std::string()>& source, NvrtcFlags flags) {
  runtime::cuda::ensure_context(index);
  std::lock_guard<std::mutex> lock(mutex());
  Cache& c = cache();
  const auto fkey = std::make_tuple(index, key, symbol);
  if (auto it = c.functions.find(fkey); it != c.functions.end()) {
    ++c.stats.memory_hits;
    return it->second;
  }
  CUmodule module = nullptr;
  if (auto it = c.modules.find({index, key}); it != c.modules.end()) module = it->second;
  if (module == nullptr) {
    const runtime::cuda::DeviceProperties& props = runtime::cuda::device_properties(index);
    const int arch = props.major * 10 + props.minor;
    const bool host = kernels_run_on_host();
    const std::string disk_key = module_disk_key(
        key, arch, flags,
        host ? absl::StrCat("host ", host_module_id()) : absl::StrCat("nvrtc ", nvrtc_version()));
    if (c.disk) {
      cpu::DiskReadResult r = c.disk->read(disk_key);
      if (r.status == cpu::DiskReadResult::Status::kHit) {
        try {
          module = load(r.payload);
          ++c.stats.disk_hits;
        } catch (const Error&) {
          module = nullptr;  // a cubin the driver refuses: compile afresh
        }
      }
    }
    if (module == nullptr) {
      const std::string src = source();
      const CompiledModule m = host ? host_module(src) : gpu_module(src, symbol, arch, flags);
      ++c.stats.compiles;
      module = load(m.image);
      if (c.disk && m.is_cubin) {
        std::string error;
        c.disk->write(disk_key, m.image, &error);  // an unwritable cache costs a compile
      }
    }
    c.modules.emplace(std::make_pair(index, key), module);
  }
  CUfunction f = nullptr;
  runtime::cuda::check(
      runtime::cuda::require_driver().cuModuleGetFunction(&f, module, symbol.c_str()),
      "cuModuleGetFunction");
  c.functions.emplace(fkey, f);
  return f;
}

ModuleCacheStats module_cache_stats() {
  std::lock_guard<std::mutex> lock(mutex());
  return cache().stats;
}

}  // namespace kiln::backends::cuda
