// Element types. DType is a closed class type (no default constructor, no integer
// conversions) so that a DType can never be confused with a size or a scalar argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string_view>

namespace kiln {

class DType {
 public:
  enum class Kind : uint8_t {
    kFloat32,
    kFloat64,
    kFloat16,
    kBFloat16,
    kInt8,
    kInt16,
    kInt32,
    kInt64,
    kUInt8,
    kBool,
  };
  static constexpr int kNumKinds = 10;

  constexpr explicit DType(Kind kind) : kind_(kind) {}
  constexpr Kind kind() const { return kind_; }
  friend constexpr bool operator==(DType a, DType b) { return a.kind_ == b.kind_; }
  friend constexpr bool operator!=(DType a, DType b) { return a.kind_ != b.kind_; }

 private:
  Kind kind_;
};

inline constexpr DType float32{DType::Kind::kFloat32};
inline constexpr DType float64{DType::Kind::kFloat64};
inline constexpr DType float16{DType::Kind::kFloat16};
inline constexpr DType bfloat16{DType::Kind::kBFloat16};
inline constexpr DType int8{DType::Kind::kInt8};
inline constexpr DType int16{DType::Kind::kInt16};
inline constexpr DType int32{DType::Kind::kInt32};
inline constexpr DType int64{DType::Kind::kInt64};
inline constexpr DType uint8{DType::Kind::kUInt8};
inline constexpr DType boolean{DType::Kind::kBool};

// Every dtype, in Kind order (for tables and tests that sweep all dtypes).
inline constexpr DType kAllDTypes[] = {float32, float64, float16, bfloat16, int8,
                                       int16,   int32,   int64,   uint8,    boolean};

size_t itemsize(DType t);
bool is_floating_point(DType t);
// Integral in PyTorch's sense; bool counts only when include_bool is set.
bool is_integral(DType t, bool include_bool = false);
// PyTorch-facing name without the `torch.` prefix: "float32", "int64", "bool".
std::string_view name(DType t);
// Short name used by the textual IR: "f32", "i64", "b8".
std::string_view short_name(DType t);
std::optional<DType> dtype_from_short_name(std::string_view s);
std::optional<DType> dtype_from_name(std::string_view s);

// torch.promote_types for two dtypes.
DType promote_types(DType a, DType b);

std::ostream& operator<<(std::ostream& os, DType t);

}  // namespace kiln
