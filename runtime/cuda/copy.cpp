#include "kiln/runtime/cuda/copy.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "kiln/runtime/cuda/driver.h"

namespace kiln::runtime::cuda {
namespace {

CUdeviceptr dptr(const void* p) { return reinterpret_cast<CUdeviceptr>(p); }

// Two pinned buffers and an event per buffer, shared by all copies (one at a time).
struct Staging {
  std::mutex mutex;
  void* buffer[2] = {nullptr, nullptr};
  CUevent done[2] = {nullptr, nullptr};
};

Staging& staging(const Driver& d) {
  static Staging* s = [&] {
    auto* st = new Staging();  // never freed: pinned memory lives as long as the process
    for (int i = 0; i < 2; ++i) {
      check(d.cuMemHostAlloc(&st->buffer[i], kStagingChunk, CU_MEMHOSTALLOC_PORTABLE),
            "cuMemHostAlloc");
      check(d.cuEventCreate(&st->done[i], CU_EVENT_DEFAULT), "cuEventCreate");
    }
    return st;
  }();
  return *s;
}

}  // namespace

void copy_host_to_device(void* device_dst, const void* host_src, size_t nbytes, int index) {
  if (nbytes == 0) return;
  const Driver& d = require_driver();
  ensure_context(index);
  if (nbytes <= kPinnedThreshold) {
    check(d.cuMemcpyHtoD(dptr(device_dst), host_src, nbytes), "cuMemcpyHtoD");
    return;
  }
  Staging& s = staging(d);
  std::lock_guard<std::mutex> lock(s.mutex);
  const auto* src = static_cast<const char*>(host_src);
  bool used[2] = {false, false};
  int k = 0;
  for (size_t pos = 0; pos < nbytes; pos += kStagingChunk, k ^= 1) {
    const size_t n = std::min(kStagingChunk, nbytes - pos);
    if (used[k]) check(d.cuEventSynchronize(s.done[k]), "cuEventSynchronize");
    std::memcpy(s.buffer[k], src + pos, n);
    check(d.cuMemcpyHtoDAsync(dptr(device_dst) + pos, s.buffer[k], n, nullptr),
          "cuMemcpyHtoDAsync");
    check(d.cuEventRecord(s.done[k], nullptr), "cuEventRecord");
    used[k] = true;
  }
  check(d.cuStreamSynchronize(nullptr), "cuStreamSynchronize");
}

void copy_device_to_host(void* host_dst, const void* device_src, size_t nbytes, int index) {
  if (nbytes == 0) return;
  const Driver& d = require_driver();
  ensure_context(index);
  if (nbytes <= kPinnedThreshold) {
    check(d.cuMemcpyDtoH(host_dst, dptr(device_src), nbytes), "cuMemcpyDtoH");
    return;
  }
  Staging& s = staging(d);
  std::lock_guard<std::mutex> lock(s.mutex);
  auto* dst = static_cast<char*>(host_dst);
  // Chunk c goes to buffer c % 2; the CPU drains chunk c - 1 while chunk c is in flight.
  const size_t chunks = (nbytes + kStagingChunk - 1) / kStagingChunk;
  auto enqueue = [&](size_t c) {
    const size_t pos = c * kStagingChunk;
    const size_t n = std::min(kStagingChunk, nbytes - pos);
    check(d.cuMemcpyDtoHAsync(s.buffer[c % 2], dptr(device_src) + pos, n, nullptr),
          "cuMemcpyDtoHAsync");
    check(d.cuEventRecord(s.done[c % 2], nullptr), "cuEventRecord");
  };
  enqueue(0);
  for (size_t c = 0; c < chunks; ++c) {
    if (c + 1 < chunks) enqueue(c + 1);
    check(d.cuEventSynchronize(s.done[c % 2]), "cuEventSynchronize");
    const size_t pos = c * kStagingChunk;
    std::memcpy(dst + pos, s.buffer[c % 2], std::min(kStagingChunk, nbytes - pos));
  }
}

void copy_device_to_device(void* device_dst, const void* device_src, size_t nbytes, int index) {
  if (nbytes == 0) return;
  const Driver& d = require_driver();
  ensure_context(index);
  check(d.cuMemcpyDtoDAsync(dptr(device_dst), dptr(device_src), nbytes, nullptr),
        "cuMemcpyDtoDAsync");
}

void synchronize(int index) {
  const Driver& d = require_driver();
  ensure_context(index);
  check(d.cuCtxSynchronize(), "cuCtxSynchronize");
}

}  // namespace kiln::runtime::cuda
