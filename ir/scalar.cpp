#include "kiln/ir/scalar.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>

namespace kiln {

int64_t Scalar::to_int64() const {
  if (kind_ != Kind::kFloat) return i_;
  if (std::isnan(d_)) return 0;
  if (d_ >= 9.2233720368547758e18) return std::numeric_limits<int64_t>::max();
  if (d_ <= -9.2233720368547758e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(d_);
}

DType Scalar::default_dtype() const {
  switch (kind_) {
    case Kind::kBool:
      return boolean;
    case Kind::kInt:
      return int64;
    case Kind::kFloat:
      return float32;
  }
  return float32;
}

bool operator==(const Scalar& a, const Scalar& b) {
  if (a.kind_ != b.kind_) return false;
  if (a.kind_ != Scalar::Kind::kFloat) return a.i_ == b.i_;
  // Bitwise, so that NaN constants compare equal to themselves (CSE relies on this).
  return std::memcmp(&a.d_, &b.d_, sizeof(double)) == 0;
}

std::ostream& operator<<(std::ostream& os, const Scalar& s) {
  switch (s.kind()) {
    case Scalar::Kind::kBool:
      return os << (s.to_bool() ? "true" : "false");
    case Scalar::Kind::kInt:
      return os << s.to_int64();
    case Scalar::Kind::kFloat:
      break;
  }
  return os << s.to_double();
}

}  // namespace kiln
