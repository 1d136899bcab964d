#include "kiln/runtime/cuda/cuda_allocator.h"

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kiln/runtime/cuda/driver.h"
#include "kiln/runtime/error.h"

namespace kiln::runtime::cuda {
namespace {

constexpr size_t kSmallGranule = 512;
constexpr size_t kLargeLimit = size_t{1} << 20;
constexpr size_t kLargeGranule = size_t{2} << 20;

struct Pool {
  std::map<size_t, std::vector<CUdeviceptr>> free;  // size class -> cached blocks
  MemoryStats stats;
};

std::mutex& pool_mutex() {
  static std::mutex m;
  return m;
}

// Never destroyed: buffers may be freed during static destruction.
Pool& pool(int index) {
  static auto* pools = new std::map<int, Pool>();
  return (*pools)[index];
}

void release_cached(Pool& p, int index) {
  const Driver* d = driver();
  if (d == nullptr) return;
  ensure_context(index);
  for (auto& [size, blocks] : p.free)
    for (CUdeviceptr ptr : blocks) d->cuMemFree(ptr);
  p.free.clear();
  p.stats.bytes_cached = 0;
}

}  // namespace

size_t cuda_size_class(size_t nbytes) {
  if (nbytes > (size_t{1} << 62))
    throw Error("CUDA out of memory: cannot allocate " + std::to_string(nbytes) + " bytes");
  if (nbytes == 0) return kSmallGranule;
  const size_t granule = nbytes < kLargeLimit ? kSmallGranule : kLargeGranule;
  return (nbytes + granule - 1) / granule * granule;
}

void* cuda_allocate(size_t nbytes, int index) {
  const Driver& d = require_driver();
  const size_t size = cuda_size_class(nbytes);
  std::lock_guard<std::mutex> lock(pool_mutex());
  Pool& p = pool(index);
  CUdeviceptr ptr = 0;
  auto it = p.free.find(size);
  if (it != p.free.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
    p.stats.bytes_cached -= static_cast<int64_t>(size);
  } else {
    ensure_context(index);
    CUresult r = d.cuMemAlloc(&ptr, size);
    if (r == CUDA_ERROR_OUT_OF_MEMORY) {
      release_cached(p, index);
      r = d.cuMemAlloc(&ptr, size);
    }
    if (r == CUDA_ERROR_OUT_OF_MEMORY)
      throw Error("CUDA out of memory. Tried to allocate " + std::to_string(nbytes) +
                  " bytes on cuda:" + std::to_string(index) + " (" +
                  std::to_string(p.stats.bytes_in_use) + " bytes in use by kiln)");
    check(r, "cuMemAlloc");
    ++p.stats.num_allocations;
  }
  p.stats.bytes_in_use += static_cast<int64_t>(nbytes);
  if (p.stats.bytes_in_use > p.stats.peak_bytes_in_use)
    p.stats.peak_bytes_in_use = p.stats.bytes_in_use;
  return reinterpret_cast<void*>(ptr);
}

void cuda_free(void* data, size_t nbytes, int index) noexcept {
  if (data == nullptr) return;
  std::lock_guard<std::mutex> lock(pool_mutex());
  Pool& p = pool(index);
  const size_t size = nbytes > (size_t{1} << 62) ? 0 : cuda_size_class(nbytes);
  p.free[size].push_back(reinterpret_cast<CUdeviceptr>(data));
  p.stats.bytes_cached += static_cast<int64_t>(size);
  p.stats.bytes_in_use -= static_cast<int64_t>(nbytes);
}

MemoryStats cuda_memory_stats(int index) {
  std::lock_guard<std::mutex> lock(pool_mutex());
  return pool(index).stats;
}

void cuda_empty_cache(int index) {
  std::lock_guard<std::mutex> lock(pool_mutex());
  release_cached(pool(index), index);
}

void cuda_reset_peak_memory_stats(int index) {
  std::lock_guard<std::mutex> lock(pool_mutex());
  Pool& p = pool(index);
  p.stats.peak_bytes_in_use = p.stats.bytes_in_use;
}

}  // namespace kiln::runtime::cuda
