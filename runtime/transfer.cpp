#include "kiln/runtime/transfer.h"

#include <cstring>

#include "kiln/runtime/cuda/copy.h"

namespace kiln::runtime {

void copy_bytes(void* dst, Device to, const void* src, Device from, size_t nbytes) {
  if (from.is_cpu() && to.is_cpu()) {
    if (nbytes > 0) std::memcpy(dst, src, nbytes);
  } else if (from.is_cpu()) {
    cuda::copy_host_to_device(dst, src, nbytes, to.index());
  } else if (to.is_cpu()) {
    cuda::copy_device_to_host(dst, src, nbytes, from.index());
  } else if (from == to) {
    cuda::copy_device_to_device(dst, src, nbytes, to.index());
  } else {
    auto host = Buffer::allocate(nbytes);
    cuda::copy_device_to_host(host->data(), src, nbytes, from.index());
    cuda::copy_host_to_device(dst, host->data(), nbytes, to.index());
  }
}

std::shared_ptr<Buffer> copy_to_device(const Buffer& from, size_t offset, size_t nbytes,
                                       Device to) {
  auto out = Buffer::allocate(nbytes, to);
  copy_bytes(out->data(), to, static_cast<const char*>(from.data()) + offset, from.device(),
             nbytes);
  return out;
}

}  // namespace kiln::runtime
