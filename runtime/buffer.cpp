#include "kiln/runtime/buffer.h"

#include <memory>

#include "kiln/runtime/cpu_allocator.h"
#include "kiln/runtime/error.h"

namespace kiln::runtime {

std::shared_ptr<Buffer> Buffer::allocate(size_t nbytes, Device device) {
  if (!device.is_cpu())
    throw Error("Buffer::allocate: device " + device.str() + " is not available");
  void* data = cpu_allocate(nbytes);
  try {
    return std::make_shared<Buffer>(Key(), data, nbytes, device, false);
  } catch (...) {
    cpu_free(data, nbytes);
    throw;
  }
}

std::shared_ptr<Buffer> Buffer::borrow(void* data, size_t nbytes, Device device) {
  return std::make_shared<Buffer>(Key(), data, nbytes, device, true);
}

Buffer::~Buffer() {
  if (!borrowed_) cpu_free(data_, nbytes_);
}

MemoryStats memory_stats(Device device) {
  if (!device.is_cpu()) return MemoryStats{};
  return cpu_memory_stats();
}

void empty_cache(Device device) {
  if (device.is_cpu()) cpu_empty_cache();
}

void reset_peak_memory_stats(Device device) {
  if (device.is_cpu()) cpu_reset_peak_memory_stats();
}

}  // namespace kiln::runtime
