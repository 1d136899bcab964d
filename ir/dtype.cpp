#include "kiln/ir/dtype.h"

#include <ostream>

namespace kiln {
namespace {

struct DTypeInfo {
  DType dtype;
  size_t itemsize;
  std::string_view name;
  std::string_view short_name;
};

constexpr DTypeInfo kInfo[] = {
    {float32, 4, "float32", "f32"}, {float64, 8, "float64", "f64"},
    {float16, 2, "float16", "f16"}, {bfloat16, 2, "bfloat16", "bf16"},
    {int8, 1, "int8", "i8"},        {int16, 2, "int16", "i16"},
    {int32, 4, "int32", "i32"},     {int64, 8, "int64", "i64"},
    {uint8, 1, "uint8", "u8"},      {boolean, 1, "bool", "b8"},
};
static_assert(std::size(kInfo) == DType::kNumKinds);

const DTypeInfo& info(DType t) { return kInfo[static_cast<int>(t.kind())]; }

}  // namespace

size_t itemsize(DType t) { return info(t).itemsize; }

bool is_floating_point(DType t) {
  return t == float32 || t == float64 || t == float16 || t == bfloat16;
}

bool is_integral(DType t, bool include_bool) {
  if (t == boolean) return include_bool;
  return !is_floating_point(t);
}

std::string_view name(DType t) { return info(t).name; }
std::string_view short_name(DType t) { return info(t).short_name; }

std::optional<DType> dtype_from_short_name(std::string_view s) {
  for (const auto& i : kInfo)
    if (i.short_name == s) return i.dtype;
  return std::nullopt;
}

std::optional<DType> dtype_from_name(std::string_view s) {
  for (const auto& i : kInfo)
    if (i.name == s) return i.dtype;
  return std::nullopt;
}

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == boolean) return b;
  if (b == boolean) return a;
  const bool fa = is_floating_point(a), fb = is_floating_point(b);
  if (fa != fb) return fa ? a : b;
  if (fa) {
    // Both floating: the wider wins; float16 with bfloat16 meets at float32.
    if (a == float64 || b == float64) return float64;
    if (a == float32 || b == float32) return float32;
    return float32;  // float16 + bfloat16
  }
  // Both integral, neither bool.
  if (a == uint8 || b == uint8) {
    DType other = a == uint8 ? b : a;
    if (other == int8) return int16;
    return other;  // int16/int32/int64 hold every uint8
  }
  return itemsize(a) >= itemsize(b) ? a : b;
}

std::ostream& operator<<(std::ostream& os, DType t) { return os << name(t); }

}  // namespace kiln
