// Buffers: raw device memory, either owned (from the allocator) or borrowed from the caller
// (from_blob). Storages, views and dtypes live above this layer; a buffer is just bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kiln/runtime/device.h"

namespace kiln::runtime {

class Buffer {
 public:
  // Owned, 64-byte aligned, uninitialized memory.
  static std::shared_ptr<Buffer> allocate(size_t nbytes, Device device = cpu);
  // Caller-owned memory: never freed by kiln; writes land in the caller's memory.
  static std::shared_ptr<Buffer> borrow(void* data, size_t nbytes, Device device = cpu);

  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();

  void* data() const { return data_; }
  template <class T>
  T* as() const { return static_cast<T*>(data_); }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool borrowed() const { return borrowed_; }

 private:
  Buffer(void* data, size_t nbytes, Device device, bool borrowed)
      : data_(data), nbytes_(nbytes), device_(device), borrowed_(borrowed) {}
  void* data_;
  size_t nbytes_;
  Device device_;
  bool borrowed_;
};

struct MemoryStats {
  int64_t bytes_in_use = 0;  // owned buffers alive now
  int64_t peak_bytes_in_use = 0;
  int64_t bytes_cached = 0;  // freed blocks kept for reuse (0 until the caching allocator)
  int64_t num_allocations = 0;
};
MemoryStats memory_stats(Device device = cpu);

}  // namespace kiln::runtime
