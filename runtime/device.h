// Devices: cpu and cuda:N.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace kiln {

class Device {
 public:
  enum class Type : uint8_t { kCPU, kCUDA };

  constexpr Device(Type type, int index = 0)
      : type_(type), index_(type == Type::kCPU ? 0 : index) {}
  // "cpu", "cuda", "cuda:1"; throws kiln::Error on anything else.
  explicit Device(std::string_view spec);
  explicit Device(const char* spec) : Device(std::string_view(spec)) {}

  constexpr Type type() const { return type_; }
  constexpr int index() const { return index_; }
  constexpr bool is_cpu() const { return type_ == Type::kCPU; }
  constexpr bool is_cuda() const { return type_ == Type::kCUDA; }
  // "cpu", "cuda:0"
  std::string str() const;

  friend constexpr bool operator==(Device a, Device b) {
    return a.type_ == b.type_ && a.index_ == b.index_;
  }
  friend constexpr bool operator!=(Device a, Device b) { return !(a == b); }

 private:
  Type type_;
  int index_;
};

inline constexpr Device cpu{Device::Type::kCPU};
inline constexpr Device cuda{Device::Type::kCUDA, 0};

// True when the CUDA driver (libcuda.so.1, loaded at run time) is present and reports at least
// one device.
bool cuda_is_available();
// The number of CUDA devices (torch.cuda.device_count()): 0 without a driver.
int cuda_device_count();
// Throws kiln::Error when `device` is a CUDA device that this machine lacks: CUDA unavailable,
// or an index past the last device. `what` names the call ("cannot create a tensor on cuda:1").
void check_device_exists(Device device, std::string_view what);

// The device of tensors created without one (torch.set_default_device): creation functions,
// modules' parameters and data loaders made with no `.device` use it. cpu until set.
// Process-wide; tensors already made keep their device.
void set_default_device(Device device);
Device get_default_device();

std::ostream& operator<<(std::ostream& os, Device d);

}  // namespace kiln
