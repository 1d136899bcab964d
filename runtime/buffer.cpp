#include "kiln/runtime/buffer.h"

#include <atomic>
#include <algorithm>
#include <cstdlib>
#include <new>

#include "kiln/runtime/error.h"

namespace kiln::runtime {
namespace {

constexpr size_t kAlignment = 64;

struct Counters {
  std::atomic<int64_t> in_use{0};
  std::atomic<int64_t> peak{0};
  std::atomic<int64_t> allocations{0};
};
Counters& cpu_counters() {
  static Counters c;
  return c;
}

}  // namespace

std::shared_ptr<Buffer> Buffer::allocate(size_t nbytes, Device device) {
  if (!device.is_cpu()) throw Error("Buffer::allocate: device " + device.str() + " is not available");
  const size_t rounded = (std::max<size_t>(nbytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (p == nullptr) throw Error("out of memory allocating " + std::to_string(nbytes) + " bytes");
  Counters& c = cpu_counters();
  const int64_t now = c.in_use += static_cast<int64_t>(nbytes);
  int64_t peak = c.peak.load();
  while (now > peak && !c.peak.compare_exchange_weak(peak, now)) {
  }
  ++c.allocations;
  return std::shared_ptr<Buffer>(new Buffer(p, nbytes, device, false));
}

std::shared_ptr<Buffer> Buffer::borrow(void* data, size_t nbytes, Device device) {
  return std::shared_ptr<Buffer>(new Buffer(data, nbytes, device, true));
}

Buffer::~Buffer() {
  if (borrowed_) return;
  std::free(data_);
  cpu_counters().in_use -= static_cast<int64_t>(nbytes_);
}

MemoryStats memory_stats(Device device) {
  MemoryStats s;
  if (!device.is_cpu()) return s;
  const Counters& c = cpu_counters();
  s.bytes_in_use = c.in_use.load();
  s.peak_bytes_in_use = c.peak.load();
  s.num_allocations = c.allocations.load();
  return s;
}

}  // namespace kiln::runtime
