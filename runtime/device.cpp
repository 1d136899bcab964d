#include "kiln/runtime/device.h"

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

std::string Device::str() const {
  return is_cpu() ? "cpu" : "cuda:" + std::to_string(index_);
}

bool cuda_is_available() { return runtime::cuda::device_count() > 0; }

std::ostream& operator<<(std::ostream& os, Device d) { return os << d.str(); }

}  // namespace kiln
