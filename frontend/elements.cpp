#include "kiln/frontend/elements.h"

#include <cmath>
#include <cstring>

#include "kiln/ir/scalar.h"
#include "kiln/runtime/half.h"

namespace kiln::frontend {
namespace {

template <class T>
T load(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
void store(void* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

}  // namespace

double load_double(const void* p, DType dtype) {
  switch (dtype.kind()) {
    case DType::Kind::kFloat32:
      return load<float>(p);
    case DType::Kind::kFloat64:
      return load<double>(p);
    case DType::Kind::kFloat16:
      return Half::to_float(load<uint16_t>(p));
    case DType::Kind::kBFloat16:
      return BFloat16::to_float(load<uint16_t>(p));
    default:
      return static_cast<double>(load_int64(p, dtype));
  }
}

int64_t load_int64(const void* p, DType dtype) {
  switch (dtype.kind()) {
    case DType::Kind::kInt8:
      return load<int8_t>(p);
    case DType::Kind::kInt16:
      return load<int16_t>(p);
    case DType::Kind::kInt32:
      return load<int32_t>(p);
    case DType::Kind::kInt64:
      return load<int64_t>(p);
    case DType::Kind::kUInt8:
      return load<uint8_t>(p);
    case DType::Kind::kBool:
      return load<uint8_t>(p) != 0;
    default:
      return Scalar(load_double(p, dtype)).to_int64();
  }
}

void store_double(void* p, DType dtype, double v) {
  switch (dtype.kind()) {
    case DType::Kind::kFloat32:
      return store<float>(p, static_cast<float>(v));
    case DType::Kind::kFloat64:
      return store<double>(p, v);
    case DType::Kind::kFloat16:
      return store<uint16_t>(p, Half::from_float(static_cast<float>(v)));
    case DType::Kind::kBFloat16:
      return store<uint16_t>(p, BFloat16::from_float(static_cast<float>(v)));
    case DType::Kind::kBool:
      return store<uint8_t>(p, v != 0.0 ? 1 : 0);
    default:
      return store_int64(p, dtype, Scalar(v).to_int64());
  }
}

void store_int64(void* p, DType dtype, int64_t v) {
  const auto u = static_cast<uint64_t>(v);  // wrap to the narrower widths without UB
  switch (dtype.kind()) {
    case DType::Kind::kInt8:
      return store<uint8_t>(p, static_cast<uint8_t>(u));
    case DType::Kind::kInt16:
      return store<uint16_t>(p, static_cast<uint16_t>(u));
    case DType::Kind::kInt32:
      return store<uint32_t>(p, static_cast<uint32_t>(u));
    case DType::Kind::kInt64:
      return store<int64_t>(p, v);
    case DType::Kind::kUInt8:
      return store<uint8_t>(p, static_cast<uint8_t>(u));
    case DType::Kind::kBool:
      return store<uint8_t>(p, v != 0 ? 1 : 0);
    default:
      return store_double(p, dtype, static_cast<double>(v));
  }
}

}  // namespace kiln::frontend
