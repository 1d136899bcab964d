#include "kiln/runtime/buffer.h"

#include <memory>

#include "kiln/runtime/cpu_allocator.h"
#include "kiln/runtime/cuda/cuda_allocator.h"
#include "kiln/runtime/error.h"

namespace kiln::runtime {

std::shared_ptr<Buffer> Buffer::allocate(size_t nbytes, Device device) {
  if (device.is_cuda()) {
    void* data = cuda::cuda_allocate(nbytes, device.index());
    try {
      return std::make_shared<Buffer>(Key(), data, nbytes, device, false);
    } catch (...) {
      cuda::cuda_free(data, nbytes, device.index());
      throw;
    }
  }
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
  if (borrowed_) return;
  if (device_.is_cuda()) {
    cuda::cuda_free(data_, nbytes_, device_.index());
  } else {
    cpu_free(data_, nbytes_);
  }
}

MemoryStats memory_stats(Device device) {
  if (device.is_cuda()) return cuda::cuda_memory_stats(device.index());
  return cpu_memory_stats();
}

void empty_cache(Device device) {
  if (device.is_cuda()) {
    cuda::cuda_empty_cache(device.index());
  } else {
    cpu_empty_cache();
  }
}

void reset_peak_memory_stats(Device device) {
  if (device.is_cuda()) {
    cuda::cuda_reset_peak_memory_stats(device.index());
  } else {
    cpu_reset_peak_memory_stats();
  }
}

}  // namespace kiln::runtime
