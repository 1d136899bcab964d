// avx_mathfun.h's log256_ps and sincos256_ps and PyTorch's normal_fill_16_AVX2, one lane.
#include "kiln/runtime/random_avx2_lane.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>

// As in random.cpp: only the written-out std::fma calls fuse; any other contraction of
// a * b + c would change the replayed lane's results.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace kiln::runtime::avx2_lane {
namespace {

constexpr double kPi = std::numbers::pi;

constexpr float kOne = 1.0f;
constexpr float kHalf = 0.5f;
constexpr float kSqrtHalf = 0x1.6a09e6p-1f;  // 0.707106781186547524
constexpr float kLogP[9] = {0x1.204376p-4f,  -0x1.d7a37p-4f,  0x1.de4a34p-4f,
                            -0x1.fcba9ep-4f, 0x1.23d37ep-3f,  -0x1.555ca0p-3f,
                            0x1.999d58p-3f,  -0x1.fffff8p-3f, 0x1.555554p-2f};
constexpr float kLogQ1 = -0x1.bd0106p-13f;  // -2.12194440e-4: log(2) - 0.693359375
constexpr float kLogQ2 = 0x1.63p-1f;        // 0.693359375
constexpr float kFourOverPi = 0x1.45f306p+0f;
constexpr float kMinusPiOver4Parts[3] = {-0x1.92p-1f, -0x1.fb4p-13f, -0x1.4442d2p-25f};
constexpr float kCosP[3] = {0x1.99eb9cp-16f, -0x1.6c0c34p-10f, 0x1.55554ap-5f};
constexpr float kSinP[3] = {-0x1.9943f2p-13f, 0x1.11073cp-7f, -0x1.555546p-3f};
constexpr uint32_t kSignBit = 0x80000000u;

float bits_to_float(uint32_t bits) { return std::bit_cast<float>(bits); }
uint32_t float_to_bits(float value) { return std::bit_cast<uint32_t>(value); }

// log256_ps: split x into 2^e * m with m in [sqrt(1/2), sqrt(2)), then a degree-9 polynomial in
// m-1.
float log(float x) {
  const bool invalid = x <= 0.0f;
  x = std::max(x, std::numeric_limits<float>::min());  // denormals are cut off
  const int32_t biased_exponent = static_cast<int32_t>(float_to_bits(x) >> 23);
  const float mantissa = bits_to_float((float_to_bits(x) & ~0x7f800000u) | float_to_bits(kHalf));
  float e = static_cast<float>(biased_exponent - 0x7f) + kOne;
  const bool below_sqrt_half = mantissa < kSqrtHalf;
  const float doubled_part = below_sqrt_half ? mantissa : 0.0f;
  e = e - (below_sqrt_half ? kOne : 0.0f);
  x = doubled_part + (mantissa - kOne);  // m - 1, or 2m - 1 with e lowered by one

  float y = kLogP[0];
  for (int i = 1; i < 9; ++i) y = std::fma(y, x, kLogP[i]);
  const float z = x * x;
  y = y * x;
  y = std::fma(y, z, e * kLogQ1);
  y = std::fma(-z, kHalf, y);
  x = x + y;
  x = std::fma(e, kLogQ2, x);
  return invalid ? bits_to_float(0xffffffffu) : x;  // the kernel ORs an all-ones mask in
}

// sincos256_ps: reduce |x| by the octant (pi/4 in three parts), evaluate both Cephes polynomials,
// pick per octant and fix the signs.
void sincos(float theta, float& sine, float& cosine) {
  uint32_t sine_sign = float_to_bits(theta) & kSignBit;
  float x = std::fabs(theta);
  int32_t octant = static_cast<int32_t>(x * kFourOverPi);  // truncates, like cvttps2dq
  octant = (octant + 1) & ~1;
  const float y = static_cast<float>(octant);
  sine_sign ^= static_cast<uint32_t>(octant & 4) << 29;
  const uint32_t cosine_sign = static_cast<uint32_t>(~(octant - 2) & 4) << 29;
  // Near 0, pi and 2 pi (octant 0, 4, 8) the sine polynomial gives the sine; near pi / 2 and
  // 3 pi / 2 it gives the cosine.
  const bool sine_from_sine_polynomial = (octant & 2) == 0;

  for (float part : kMinusPiOver4Parts) x = std::fma(y, part, x);
  const float z = x * x;

  float cos_poly = std::fma(kCosP[0], z, kCosP[1]);
  cos_poly = std::fma(cos_poly, z, kCosP[2]);
  cos_poly = cos_poly * z;
  cos_poly = std::fma(cos_poly, z, -(z * kHalf));
  cos_poly = cos_poly + kOne;

  float sin_poly = std::fma(kSinP[0], z, kSinP[1]);
  sin_poly = std::fma(sin_poly, z, kSinP[2]);
  sin_poly = sin_poly * z;
  sin_poly = std::fma(sin_poly, x, x);

  // The kernel picks with bit masks and then adds the picked and the zeroed parts; doing the same
  // additions keeps the sign of a zero result identical.
  const float sine_part = sine_from_sine_polynomial ? sin_poly : 0.0f;
  const float cosine_part = sine_from_sine_polynomial ? 0.0f : cos_poly;
  const float sine_unsigned = sine_part + cosine_part;
  const float cosine_unsigned = (sin_poly - sine_part) + (cos_poly - cosine_part);
  sine = bits_to_float(float_to_bits(sine_unsigned) ^ sine_sign);
  cosine = bits_to_float(float_to_bits(cosine_unsigned) ^ cosine_sign);
}

}  // namespace

void box_muller_block16(float* d, float mean, float std) {
  const float two_pi = static_cast<float>(2.0 * kPi);
  for (int j = 0; j < 8; ++j) {
    const float u1 = kOne - d[j];
    const float theta = two_pi * d[j + 8];
    const float radius = std::sqrt(avx2_lane::log(u1) * -2.0f);
    float sine;
    float cosine;
    sincos(theta, sine, cosine);
    d[j] = std::fma(radius * cosine, std, mean);
    d[j + 8] = std::fma(radius * sine, std, mean);
  }
}

}  // namespace kiln::runtime::avx2_lane
