#include "kiln/runtime/device.h"

#include <atomic>
#include <charconv>
#include <ostream>

#include "kiln/runtime/cuda/driver.h"
#include "kiln/runtime/error.h"

namespace kiln {

Device::Device(std::string_view spec) : type_(Type::kCPU), index_(0) {
  if (spec == "cpu") return;
  if (spec.substr(0, 4) == "cuda") {
    type_ = Type::kCUDA;
    if (spec.size() == 4) return;
    if (spec[4] == ':' && spec.size() > 5) {
      auto r = std::from_chars(spec.data() + 5, spec.data() + spec.size(), index_);
      if (r.ec == std::errc() && r.ptr == spec.data() + spec.size() && index_ >= 0) return;
    }
  }
  throw Error("Invalid device string: '" + std::string(spec) +
              "' (expected 'cpu', 'cuda' or 'cuda:N')");
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index_); }

bool cuda_is_available() { return runtime::cuda::device_count() > 0; }

int cuda_device_count() { return runtime::cuda::device_count(); }

void check_device_exists(Device device, std::string_view what) {
  if (!device.is_cuda()) return;
  const int count = cuda_device_count();
  if (count == 0)
    throw Error(std::string(what) + ": CUDA is not available (no CUDA driver or no GPU)");
  if (device.index() >= count)
    throw Error(std::string(what) + ": CUDA error: invalid device ordinal (" +
                std::to_string(count) + " CUDA device(s) present)");
}

namespace {
// -1: cpu, n >= 0: cuda:n (one word, so that reads need no lock).
std::atomic<int> default_device_code{-1};
}  // namespace

void set_default_device(Device device) {
  default_device_code.store(device.is_cpu() ? -1 : device.index(), std::memory_order_relaxed);
}

Device get_default_device() {
  const int code = default_device_code.load(std::memory_order_relaxed);
  return code < 0 ? cpu : Device(Device::Type::kCUDA, code);
}

std::ostream& operator<<(std::ostream& os, Device d) { return os << d.str(); }

}  // namespace kiln
