// Private to the interpreter: how one element of each dtype is stored and computed on.
//
// Every dtype has a storage type (its bytes in a buffer) and a compute type (what arithmetic
// runs in): float32, float16 and bfloat16 compute in float, float64 in double, and every
// integer dtype and bool in int64 (wrapping arithmetic; the result is truncated to the stored
// width on store). Kernels are templates over the storage type, so the per-element code is a
// direct call with no virtual dispatch; visit_dtype() picks the instantiation once per node.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "kiln/ir/dtype.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"

namespace kiln::backends::interp {

// bool's storage: one byte holding 0 or 1 (a distinct type so that it never aliases uint8).
struct Bool8 {
  uint8_t value;
};

template <class S>
struct ComputeOf {
  using type = int64_t;  // every integer dtype and bool
};
template <>
struct ComputeOf<float> {
  using type = float;
};
template <>
struct ComputeOf<Half> {
  using type = float;
};
template <>
struct ComputeOf<BFloat16> {
  using type = float;
};
template <>
struct ComputeOf<double> {
  using type = double;
};
template <class S>
using compute_t = typename ComputeOf<S>::type;

template <class S>
inline constexpr bool is_floating_storage = std::is_floating_point_v<compute_t<S>>;

// Buffers may be borrowed from callers with any alignment, so every access goes through memcpy
// (compilers turn it into a plain load).
template <class S>
compute_t<S> load(const std::byte* data, int64_t i) {
  S s;
  std::memcpy(&s, data + static_cast<size_t>(i) * sizeof(S), sizeof(S));
  if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) {
    return static_cast<float>(s);
  } else if constexpr (std::is_same_v<S, Bool8>) {
    return s.value != 0 ? 1 : 0;
  } else {
    return static_cast<compute_t<S>>(s);
  }
}

// Stores v rounded (float16/bfloat16: to nearest even) or truncated to the stored width
// (integers: two's complement wraparound, well defined in C++20); bool stores v != 0.
template <class S>
void store(std::byte* data, int64_t i, compute_t<S> v) {
  S s;
  if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) {
    s = S(v);
  } else if constexpr (std::is_same_v<S, Bool8>) {
    s.value = v != 0 ? 1 : 0;
  } else {
    s = static_cast<S>(v);
  }
  std::memcpy(data + static_cast<size_t>(i) * sizeof(S), &s, sizeof(S));
}

// Calls f(std::type_identity<S>{}) with the storage type S of `dtype`.
template <class F>
decltype(auto) visit_dtype(DType dtype, F&& f) {
  switch (dtype.kind()) {
    case DType::Kind::kFloat32:
      return f(std::type_identity<float>{});
    case DType::Kind::kFloat64:
      return f(std::type_identity<double>{});
    case DType::Kind::kFloat16:
      return f(std::type_identity<Half>{});
    case DType::Kind::kBFloat16:
      return f(std::type_identity<BFloat16>{});
    case DType::Kind::kInt8:
      return f(std::type_identity<int8_t>{});
    case DType::Kind::kInt16:
      return f(std::type_identity<int16_t>{});
    case DType::Kind::kInt32:
      return f(std::type_identity<int32_t>{});
    case DType::Kind::kInt64:
      return f(std::type_identity<int64_t>{});
    case DType::Kind::kUInt8:
      return f(std::type_identity<uint8_t>{});
    case DType::Kind::kBool:
      return f(std::type_identity<Bool8>{});
  }
  throw Error("interp: unknown dtype");
}

// ---- wrapping int64 arithmetic: done in uint64, where overflow is defined ----

inline int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
inline int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

// Truncates toward zero, saturating at the int64 range, NaN -> 0: never undefined.
inline int64_t float_to_int64(double x) {
  if (std::isnan(x)) return 0;
  if (x >= 9223372036854775808.0) return std::numeric_limits<int64_t>::max();  // 2^63
  if (x < -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(x);
}

// Converts between compute types (float, double, int64) with cast semantics; callers casting to
// bool test v != 0 on the source value instead (0.5 is true, not truncated to 0).
template <class To, class From>
To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    return float_to_int64(static_cast<double>(v));
  } else {
    return static_cast<To>(v);
  }
}

// Copies n bytes; a zero-size copy may come with null pointers (empty borrowed buffers).
inline void copy_bytes(std::byte* dst, const std::byte* src, size_t n) {
  if (n > 0) std::memcpy(dst, src, n);
}

}  // namespace kiln::backends::interp
