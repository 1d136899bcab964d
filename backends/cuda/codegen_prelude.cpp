// The helpers every generated CUDA kernel starts with (codegen.h's cuda_prelude()). They
// restate runtime/half.h and backends/interp/element.h in CUDA C, bit for bit.
#include "kiln/backends/cuda/codegen.h"

namespace kiln::backends::cuda {

std::string_view cuda_prelude() {
  static constexpr std::string_view kPrelude = R"CUDA(
typedef long long i64;
typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;

#define KI __device__ __forceinline__

// float16 -> float (Half::to_float)
KI float k_h2f(u16 h) {
  const u32 sign = (u32)(h & 0x8000u) << 16;
  const u32 e = (h >> 10) & 0x1fu;
  const u32 mant = h & 0x3ffu;
  if (e == 0) {
    const float v = (float)mant * 5.9604644775390625e-08f;
    return sign ? -v : v;
  }
  if (e == 31) return __uint_as_float(sign | 0x7f800000u | (mant << 13));
  return __uint_as_float(sign | ((e + 112u) << 23) | (mant << 13));
}
// float -> float16, round to nearest even (Half::from_float)
KI u16 k_f2h(float f) {
  const u32 x = __float_as_uint(f);
  const u32 sign = (x >> 16) & 0x8000u;
  const u32 a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) return (u16)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u : 0u));
  if (a >= 0x477ff000u) return (u16)(sign | 0x7c00u);
  if (a < 0x38800000u) {
    const float scaled = __fmul_rn(__uint_as_float(a), 16777216.0f);
    const float magic = 8388608.0f;
    const u32 r = (u32)__fsub_rn(__fadd_rn(scaled, magic), magic);
    return (u16)(sign | r);
  }
  const u32 odd = (a >> 13) & 1u;
  const u32 rounded = a + 0xfffu + odd;
  return (u16)(sign | ((rounded - 0x38000000u) >> 13));
}
KI float k_b2f(u16 b) { return __uint_as_float((u32)b << 16); }
// float -> bfloat16, round to nearest even (BFloat16::from_float)
KI u16 k_f2b(float f) {
  const u32 x = __float_as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (u16)((x >> 16) | 0x40u);
  const u32 lsb = (x >> 16) & 1u;
  return (u16)((x + 0x7fffu + lsb) >> 16);
}
// Truncation toward zero, saturating, NaN -> 0 (float_to_int64)
KI i64 k_f2i(double x) {
  if (x != x) return 0;
  if (x >= 9223372036854775808.0) return 9223372036854775807ll;
  if (x < -9223372036854775808.0) return (i64)(-9223372036854775807ll - 1);
  return (i64)x;
}
KI i64 k_add(i64 a, i64 b) { return (i64)((u64)a + (u64)b); }
KI i64 k_sub(i64 a, i64 b) { return (i64)((u64)a - (u64)b); }
KI i64 k_mul(i64 a, i64 b) { return (i64)((u64)a * (u64)b); }
KI i64 k_div(i64 a, i64 b, int* err) {
  if (b == 0) {
    atomicExch(err, 1);
    return 0;
  }
  if (b == -1) return k_sub(0, a);
  return a / b;
}
KI i64 k_ipow(i64 base, i64 e) {
  if (e < 0) {
    if (base == 1) return 1;
    if (base == -1) return (e & 1) ? -1 : 1;
    return 0;
  }
  u64 result = 1, factor = (u64)base;
  for (u64 n = (u64)e; n != 0; n >>= 1) {
    if (n & 1) result *= factor;
    factor *= factor;
  }
  return (i64)result;
}
// NaN wins (the first one), ties keep a: the interpreter's maximum/minimum
KI float k_maxf(float a, float b) { return a != a ? a : (b != b ? b : (a < b ? b : a)); }
KI double k_maxd(double a, double b) { return a != a ? a : (b != b ? b : (a < b ? b : a)); }
KI float k_minf(float a, float b) { return a != a ? a : (b != b ? b : (b < a ? b : a)); }
KI double k_mind(double a, double b) { return a != a ? a : (b != b ? b : (b < a ? b : a)); }
KI i64 k_maxi(i64 a, i64 b) { return a < b ? b : a; }
KI i64 k_mini(i64 a, i64 b) { return b < a ? b : a; }

template <class T, int N>
struct alignas(sizeof(T) * N) KVec {
  T v[N];
};
)CUDA";
  return kPrelude;
}

}  // namespace kiln::backends::cuda
