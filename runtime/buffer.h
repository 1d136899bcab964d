// Buffers: raw device memory, either owned (from the allocator) or borrowed from the caller
// (from_blob). Storages, views and dtypes live above this layer; a buffer is just bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kiln/runtime/device.h"

namespace kiln::runtime {

class Buffer {
  struct Key {
    explicit Key() = default;
  };

 public:
  // Owned, 64-byte aligned, uninitialized memory from the device's caching allocator (on the
  // CPU: runtime/cpu_allocator.h; on cuda:N: runtime/cuda/cuda_allocator.h, and data() is then
  // a device address, never to be dereferenced on the host). nbytes may be 0 (data() is still
  // a valid pointer).
  static std::shared_ptr<Buffer> allocate(size_t nbytes, Device device = cpu);
  // Caller-owned memory: never freed by kiln; writes land in the caller's memory.
  static std::shared_ptr<Buffer> borrow(void* data, size_t nbytes, Device device = cpu);

  // For make_shared only (Key is private): use allocate or borrow.
  Buffer(Key, void* data, size_t nbytes, Device device, bool borrowed)
      : data_(data), nbytes_(nbytes), device_(device), borrowed_(borrowed) {}
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();

  void* data() const { return data_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool borrowed() const { return borrowed_; }

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  bool borrowed_;
};

// The device allocator's counters (all zero for a device without one yet). Borrowed buffers
// never count.
struct MemoryStats {
  int64_t bytes_in_use = 0;       // requested bytes of the owned buffers alive now
  int64_t peak_bytes_in_use = 0;  // the maximum of bytes_in_use since start or the last reset
  int64_t bytes_cached = 0;       // freed blocks held for reuse (their size-class bytes)
  int64_t num_allocations = 0;    // blocks obtained from the system (cache misses), cumulative
};
MemoryStats memory_stats(Device device = cpu);
// Returns every cached block of the device to the system (live buffers are untouched).
void empty_cache(Device device = cpu);
// Restarts peak_bytes_in_use from the current bytes_in_use.
void reset_peak_memory_stats(Device device = cpu);

}  // namespace kiln::runtime
