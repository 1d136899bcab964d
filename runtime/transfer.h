// Copies between the memories of two devices (host memory or a CUDA device's), whichever they
// are: Tensor::to's copy, and a compiled program's moves between the graphs of two devices.
#pragma once

#include <cstddef>
#include <memory>

#include "kiln/runtime/buffer.h"
#include "kiln/runtime/device.h"

namespace kiln::runtime {

// Copies `nbytes` from `src` (memory of `from`) to `dst` (memory of `to`); complete when it
// returns. Between two GPUs the bytes go through the host.
void copy_bytes(void* dst, Device to, const void* src, Device from, size_t nbytes);

// A new buffer on `to` holding `nbytes` bytes of `from`, starting `offset` bytes in.
std::shared_ptr<Buffer> copy_to_device(const Buffer& from, size_t offset, size_t nbytes, Device to);

}  // namespace kiln::runtime
