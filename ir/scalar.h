// A Python-like scalar: bool, integer (held as int64) or floating (held as double).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <type_traits>

#include "kiln/ir/dtype.h"

namespace kiln {

class Scalar {
 public:
  enum class Kind : uint8_t { kBool, kInt, kFloat };

  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
  Scalar(T v) {  // NOLINT(google-explicit-constructor): scalars convert like Python numbers
    if constexpr (std::is_same_v<T, bool>) {
      kind_ = Kind::kBool;
      i_ = v ? 1 : 0;
    } else if constexpr (std::is_integral_v<T>) {
      kind_ = Kind::kInt;
      i_ = static_cast<int64_t>(v);
    } else {
      kind_ = Kind::kFloat;
      d_ = static_cast<double>(v);
    }
  }

  Kind kind() const { return kind_; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_integral() const { return kind_ == Kind::kInt; }
  bool is_floating_point() const { return kind_ == Kind::kFloat; }

  double to_double() const { return kind_ == Kind::kFloat ? d_ : static_cast<double>(i_); }
  // Truncates floating values toward zero (saturating, NaN -> 0) like a checked C cast.
  int64_t to_int64() const;
  bool to_bool() const { return kind_ == Kind::kFloat ? d_ != 0.0 : i_ != 0; }

  // The dtype a Python scalar of this kind takes on its own: bool, int64 or float32.
  DType default_dtype() const;

  friend bool operator==(const Scalar& a, const Scalar& b);

 private:
  Kind kind_ = Kind::kInt;
  int64_t i_ = 0;
  double d_ = 0.0;
};

std::ostream& operator<<(std::ostream& os, const Scalar& s);

}  // namespace kiln
