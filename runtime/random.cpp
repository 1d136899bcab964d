#include "kiln/runtime/random.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numbers>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>

#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"
#include "kiln/runtime/random_avx2_lane.h"

// Every rounding step below is the one PyTorch's compiled kernels perform, and several of them are
// fused multiply-adds in PyTorch's binary. Contracting any other a * b + c here (GCC does so by
// default for C++ on targets with FMA, e.g. -march=native or aarch64) would change results, so
// fusion happens only where std::fma is written out.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace kiln::runtime {

// ---------------------------------------------------------------------------------------------
// Engine

namespace {
constexpr int kTwistOffset = 397;
constexpr uint32_t kTwistMatrix = 0x9908b0dfu;
constexpr uint32_t kUpperBit = 0x80000000u;
constexpr uint32_t kLowerBits = 0x7fffffffu;
}  // namespace

Mt19937::Mt19937(uint32_t seed) {
  state_[0] = seed;
  for (int i = 1; i < kStateSize; ++i) {
    const uint32_t previous = state_[i - 1];
    state_[i] = 1812433253u * (previous ^ (previous >> 30)) + static_cast<uint32_t>(i);
  }
  next_index_ = kStateSize;  // the first draw regenerates the whole state
}

void Mt19937::regenerate_state() {
  for (int i = 0; i < kStateSize; ++i) {
    const uint32_t joined = (state_[i] & kUpperBit) | (state_[(i + 1) % kStateSize] & kLowerBits);
    state_[i] = state_[(i + kTwistOffset) % kStateSize] ^ (joined >> 1) ^
                ((joined & 1u) != 0 ? kTwistMatrix : 0u);
  }
  next_index_ = 0;
}

uint32_t Mt19937::operator()() {
  if (next_index_ == kStateSize) regenerate_state();
  uint32_t y = state_[next_index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

// ---------------------------------------------------------------------------------------------
// Generator

Generator::Generator(uint64_t seed) : seed_(seed), engine_(static_cast<uint32_t>(seed)) {}

void Generator::manual_seed(uint64_t seed) {
  seed_ = seed;
  engine_ = Mt19937(static_cast<uint32_t>(seed));
  next_double_normal_.reset();
  next_float_normal_.reset();
}

uint64_t Generator::seed_nondeterministically() {
  std::random_device device;
  const uint64_t seed = (static_cast<uint64_t>(device()) << 32) | device();
  manual_seed(seed);
  return seed;
}

uint64_t Generator::random64() {
  const uint64_t high = engine_();
  const uint64_t low = engine_();
  return (high << 32) | low;
}

Generator& default_cpu_generator() {
  static Generator* generator = [] {
    auto* g = new Generator();  // never destroyed: other statics may draw during exit
    g->seed_nondeterministically();
    return g;
  }();
  return *generator;
}

// ---------------------------------------------------------------------------------------------
// Element types

namespace {

template <class T>
struct FloatingTraits;
template <>
struct FloatingTraits<float> {
  using Compute = float;  // the type PyTorch's transforms compute in (dist_acctype)
  static constexpr int kDigits = 24;
  static constexpr double kMax = std::numeric_limits<float>::max();
  static constexpr const char* kTypeMetaName = "float";  // how PyTorch prints the dtype in errors
  static constexpr const char* kScalarTypeName = "Float";
};
template <>
struct FloatingTraits<double> {
  using Compute = double;
  static constexpr int kDigits = 53;
  static constexpr double kMax = std::numeric_limits<double>::max();
  static constexpr const char* kTypeMetaName = "double";
  static constexpr const char* kScalarTypeName = "Double";
};
template <>
struct FloatingTraits<Half> {
  using Compute = float;
  static constexpr int kDigits = 11;
  static constexpr double kMax = 65504.0;
  static constexpr const char* kTypeMetaName = "c10::Half";
  static constexpr const char* kScalarTypeName = "Half";
};
template <>
struct FloatingTraits<BFloat16> {
  using Compute = float;
  static constexpr int kDigits = 8;
  static constexpr double kMax = 3.3895313892515355e38;  // 0x7f7f
  static constexpr const char* kTypeMetaName = "c10::BFloat16";
  static constexpr const char* kScalarTypeName = "BFloat16";
};

template <class T>
constexpr bool kIsFloating = std::is_same_v<T, float> || std::is_same_v<T, double> ||
                             std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

template <class T>
struct IntegerTraits;
template <>
struct IntegerTraits<int8_t> {
  static constexpr const char* kTypeMetaName = "signed char";
};
template <>
struct IntegerTraits<int16_t> {
  static constexpr const char* kTypeMetaName = "short int";
};
template <>
struct IntegerTraits<int32_t> {
  static constexpr const char* kTypeMetaName = "int";
};
template <>
struct IntegerTraits<int64_t> {
  static constexpr const char* kTypeMetaName = "long int";
};
template <>
struct IntegerTraits<uint8_t> {
  static constexpr const char* kTypeMetaName = "unsigned char";
};

// Rounds a float to T (round to nearest even, as c10::Half / c10::BFloat16 do).
template <class T>
T round_from_float(float value) {
  if constexpr (std::is_same_v<T, float>) {
    return value;
  } else {
    return T(value);
  }
}

// Rounds a double to T the way a C++ conversion to c10's 16-bit types does: through float.
template <class T>
T round_from_double(double value) {
  if constexpr (std::is_same_v<T, double>) {
    return value;
  } else {
    return round_from_float<T>(static_cast<float>(value));
  }
}

template <class T>
typename FloatingTraits<T>::Compute widen(T value) {
  return static_cast<typename FloatingTraits<T>::Compute>(value);
}

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;  // default stream formatting, as c10::str prints doubles
  (out << ... << parts);
  return out.str();
}

// ---------------------------------------------------------------------------------------------
// Uniform

// A uniform draw in [0, 1): the low `digits` bits of one engine output (two for double) times
// 2^-digits, so every value is exactly representable in T.
template <class T>
typename FloatingTraits<T>::Compute uniform_unit(Generator& generator) {
  constexpr int kDigits = FloatingTraits<T>::kDigits;
  if constexpr (std::is_same_v<T, double>) {
    constexpr uint64_t kMask = (uint64_t{1} << kDigits) - 1;
    return static_cast<double>(generator.random64() & kMask) * (1.0 / (uint64_t{1} << kDigits));
  } else {
    constexpr uint32_t kMask = (uint32_t{1} << kDigits) - 1;
    return static_cast<float>(generator.random() & kMask) * (1.0f / (uint32_t{1} << kDigits));
  }
}

}  // namespace

template <class T>
UniformBounds uniform_bounds(double from, double to) {
  static_assert(kIsFloating<T>, "uniform_bounds is for floating-point types");
  using Traits = FloatingTraits<T>;
  const double max = Traits::kMax;
  if (!(from >= -max && from <= max)) {
    throw Error(concat("from is out of bounds for ", Traits::kTypeMetaName));
  }
  if (!(to >= -max && to <= max)) {
    throw Error(concat("to is out of bounds for ", Traits::kTypeMetaName));
  }
  if (!(from <= to)) {
    throw Error(concat("uniform_ expects to return a [from, to) range, but found from=", from,
                       " > to=", to));
  }
  if (!(to - from <= max)) {
    throw Error(concat("uniform_ expects to-from <= std::numeric_limits<", Traits::kScalarTypeName,
                       ">::max(), but found to=", to, " and from=", from,
                       " which result in to-from to exceed the limit"));
  }
  // PyTorch rounds the bounds to T and also computes their difference in T.
  const T from_t = round_from_double<T>(from);
  const T to_t = round_from_double<T>(to);
  return UniformBounds{
      static_cast<double>(widen(from_t)), static_cast<double>(widen(to_t)),
      static_cast<double>(widen(round_from_double<T>(widen(to_t) - widen(from_t))))};
}

template <class T>
void fill_uniform(Generator& generator, T* data, int64_t n, double from, double to) {
  const UniformBounds bounds = uniform_bounds<T>(from, to);
  using Compute = typename FloatingTraits<T>::Compute;
  const auto low = static_cast<Compute>(bounds.from);
  const auto width = static_cast<Compute>(bounds.width);
  for (int64_t i = 0; i < n; ++i) {
    // A fused multiply-add in PyTorch's AVX2 build.
    data[i] = round_from_double<T>(std::fma(uniform_unit<T>(generator), width, low));
  }
}

// ---------------------------------------------------------------------------------------------
// Normal

namespace {

constexpr double kPi = std::numbers::pi;

// at::normal_distribution<double>: Box-Muller in double. The sine half is kept for the next call,
// on this or any later fill, until manual_seed.
double normal_scalar(Generator& generator, double mean, double std) {
  std::optional<double>& cached = generator.cached_double_normal();
  double standard;
  if (cached) {
    standard = *cached;
    cached.reset();
  } else {
    const double u1 = uniform_unit<double>(generator);
    const double u2 = uniform_unit<double>(generator);
    const double radius = std::sqrt(-2.0 * std::log(1.0 - u2));
    const double theta = 2.0 * kPi * u1;
    cached = radius * std::sin(theta);
    standard = radius * std::cos(theta);
  }
  return std::fma(standard, std, mean);  // `* std + mean` is fused in PyTorch's binary
}

template <class T>
void normal_fill_scalar(Generator& generator, T* data, int64_t n, double mean, double std) {
  for (int64_t i = 0; i < n; ++i)
    data[i] = round_from_double<T>(normal_scalar(generator, mean, std));
}

// One block of PyTorch's normal_fill_16 for double: d[j] and d[j + 8] hold uniforms and become
// the cosine and sine normals of the pair.
void box_muller_block16(double* d, double mean, double std) {
  for (int j = 0; j < 8; ++j) {
    const double u1 = 1.0 - d[j];  // (0, 1] for the logarithm
    const double u2 = d[j + 8];
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * kPi * u2;
    d[j] = std::fma(radius * std::cos(theta), std, mean);  // fused in PyTorch's binary too
    d[j + 8] = std::fma(radius * std::sin(theta), std, mean);
  }
}

// normal_fill_16 instantiated for c10::Half: the arithmetic is float (the final `* std + mean`
// fused), but every named intermediate is a Half and so rounds to 11 bits, and theta is computed
// in double.
void box_muller_block16(Half* d, Half mean, Half std) {
  for (int j = 0; j < 8; ++j) {
    const Half u1(1.0f - static_cast<float>(d[j]));
    const Half u2 = d[j + 8];
    const Half radius(std::sqrt(-2.0f * std::log(static_cast<float>(u1))));
    const Half theta = round_from_double<Half>(2.0 * kPi * static_cast<float>(u2));
    const float r = static_cast<float>(radius);
    const float t = static_cast<float>(theta);
    d[j] = Half(std::fma(r * std::cos(t), static_cast<float>(std), static_cast<float>(mean)));
    d[j + 8] = Half(std::fma(r * std::sin(t), static_cast<float>(std), static_cast<float>(mean)));
  }
}

// normal_fill_16 instantiated for c10::BFloat16. c10 declares std::log, std::sqrt, std::cos and
// std::sin overloads for BFloat16 that return BFloat16, and BFloat16 arithmetic with an int or
// another BFloat16 yields a BFloat16, so unlike Half every step rounds to 8 bits.
void box_muller_block16(BFloat16* d, BFloat16 mean, BFloat16 std) {
  const auto bf = [](float v) { return BFloat16(v); };
  const auto f = [](BFloat16 v) { return static_cast<float>(v); };
  for (int j = 0; j < 8; ++j) {
    const BFloat16 u1 = bf(1.0f - f(d[j]));
    const BFloat16 u2 = d[j + 8];
    const BFloat16 log_u1 = bf(std::log(f(u1)));
    const BFloat16 minus_two_log_u1 = bf(-2.0f * f(log_u1));
    const BFloat16 radius = bf(std::sqrt(f(minus_two_log_u1)));
    const BFloat16 theta = round_from_double<BFloat16>(2.0 * kPi * f(u2));
    const BFloat16 cosine = bf(std::cos(f(theta)));
    const BFloat16 sine = bf(std::sin(f(theta)));
    const BFloat16 scaled_cosine = bf(f(bf(f(radius) * f(cosine))) * f(std));
    const BFloat16 scaled_sine = bf(f(bf(f(radius) * f(sine))) * f(std));
    d[j] = bf(f(scaled_cosine) + f(mean));
    d[j + 8] = bf(f(scaled_sine) + f(mean));
  }
}

void box_muller_block16(float* d, float mean, float std) {
  avx2_lane::box_muller_block16(d, mean, std);
}

// PyTorch's normal_fill: fill with uniforms, transform each whole block of 16, and when n is not a
// multiple of 16 redraw the last 16 slots (overlapping the last full block) and transform them.
template <class T>
void normal_fill_blocks(Generator& generator, T* data, int64_t n, double mean, double std) {
  const T mean_t = round_from_double<T>(mean);
  const T std_t = round_from_double<T>(std);
  for (int64_t i = 0; i < n; ++i) data[i] = round_from_double<T>(uniform_unit<T>(generator));
  for (int64_t i = 0; i + 16 <= n; i += 16) box_muller_block16(data + i, mean_t, std_t);
  if (n % 16 != 0) {
    T* tail = data + n - 16;
    for (int i = 0; i < 16; ++i) tail[i] = round_from_double<T>(uniform_unit<T>(generator));
    box_muller_block16(tail, mean_t, std_t);
  }
}

void check_std(double std) {
  if (!(std >= 0.0)) throw Error(concat("normal expects std >= 0.0, but found std ", std));
}

}  // namespace

template <class T>
void fill_normal(Generator& generator, T* data, int64_t n, double mean, double std) {
  static_assert(kIsFloating<T>, "fill_normal fills floating-point buffers");
  check_std(std);
  if (n >= 16) {
    normal_fill_blocks(generator, data, n, mean, std);
  } else {
    normal_fill_scalar(generator, data, n, mean, std);
  }
}

template <class T>
void fill_normal_noncontiguous(Generator& generator, T* data, int64_t n, double mean, double std) {
  static_assert(kIsFloating<T>, "fill_normal_noncontiguous fills floating-point buffers");
  check_std(std);
  normal_fill_scalar(generator, data, n, mean, std);
}

// ---------------------------------------------------------------------------------------------
// Integers in a range

namespace {

// int64 -> T as static_cast<scalar_t>(int64_t) compiles in PyTorch (through float for 16-bit
// floating types).
template <class T>
T from_int64(int64_t value) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return T(static_cast<float>(value));
  } else {
    return static_cast<T>(value);
  }
}

// T -> int64 as PyTorch's x86 binary converts: a value that is infinite or outside int64 becomes
// INT64_MIN (what cvttss2si / cvttsd2si return), which the range updates below then act on.
template <class T>
int64_t to_int64(T value) {
  const double wide = static_cast<double>(widen(value));
  if (!(wide >= -0x1p63 && wide < 0x1p63)) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(wide);
}

int bit_length_minus_one(int64_t magnitude) {
  int n = 0;
  while (magnitude >>= 1) ++n;
  return n;
}

// PyTorch's update_from / update_to: when low + 1 (high - 1) rounds in T to a value outside
// [low, high), move the bound inward to the neighbouring representable value so that results
// stay inside the range after rounding.
template <class T>
int64_t tighten_low(int64_t low) {
  const int64_t rounded = to_int64(from_int64<T>(low + 1));
  if (rounded < low) {
    const int n = bit_length_minus_one(std::abs(low + 1));
    low = rounded + (int64_t{1} << (n - FloatingTraits<T>::kDigits + 1));
  }
  return low;
}

template <class T>
int64_t tighten_high(int64_t high) {
  const int64_t rounded = to_int64(from_int64<T>(high - 1));
  if (rounded >= high) {
    const int n = bit_length_minus_one(std::abs(high - 1));
    high = rounded - (int64_t{1} << (n - FloatingTraits<T>::kDigits + 1));
  }
  return high;
}

template <class T>
void check_range_fits(int64_t low, int64_t high_inclusive) {
  if constexpr (kIsFloating<T>) {
    const double max = FloatingTraits<T>::kMax;
    const char* name = FloatingTraits<T>::kTypeMetaName;
    const auto fits = [max](int64_t v) {
      return static_cast<double>(v) >= -max && static_cast<double>(v) <= max;
    };
    if (!fits(low)) throw Error(concat("from is out of bounds for ", name));
    if (!fits(high_inclusive)) throw Error(concat("to - 1 is out of bounds for ", name));
  } else {
    const int64_t min = std::numeric_limits<T>::lowest();
    const int64_t max = static_cast<int64_t>(std::numeric_limits<T>::max());
    const char* name = IntegerTraits<T>::kTypeMetaName;
    if (low < min || low > max) throw Error(concat("from is out of bounds for ", name));
    if (high_inclusive < min || high_inclusive > max) {
      throw Error(concat("to - 1 is out of bounds for ", name));
    }
  }
}

}  // namespace

template <class T>
IntegerRange random_from_to_range(int64_t low, int64_t high) {
  if (low >= high) {
    throw Error(
        concat("random_ expects 'from' to be less than 'to', but got from=", low, " >= to=", high));
  }
  if constexpr (kIsFloating<T>) {
    low = tighten_low<T>(low);
    high = tighten_high<T>(high);
    if (low >= high) {
      throw Error(concat(
          "random_ expects 'from' casted to dtype to be less than 'to' casted to dtype, but got "
          "from=",
          low, " >= to=", high));
    }
  }
  check_range_fits<T>(low, high - 1);
  return IntegerRange{low, static_cast<uint64_t>(high) - static_cast<uint64_t>(low)};
}

template <class T>
void fill_random_from_to(Generator& generator, T* data, int64_t n, int64_t low, int64_t high) {
  const IntegerRange checked = random_from_to_range<T>(low, high);
  const uint64_t range = checked.range;
  low = checked.low;
  // Types that can hold 2^32 distinct values draw 64 bits for wide ranges; the others cannot have
  // such a range after the bounds check (float16 only reaches 65504).
  constexpr bool kCanDrawWide = std::is_same_v<T, int64_t> || std::is_same_v<T, double> ||
                                std::is_same_v<T, float> || std::is_same_v<T, BFloat16>;
  const bool draw_wide = kCanDrawWide && range >= (uint64_t{1} << 32);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t bits = draw_wide ? generator.random64() : generator.random();
    data[i] = from_int64<T>(static_cast<int64_t>(bits % range + static_cast<uint64_t>(low)));
  }
}

#define KILN_INSTANTIATE_FLOATING(T)                                                   \
  template void fill_uniform<T>(Generator&, T*, int64_t, double, double);              \
  template void fill_normal<T>(Generator&, T*, int64_t, double, double);               \
  template void fill_normal_noncontiguous<T>(Generator&, T*, int64_t, double, double); \
  template void fill_random_from_to<T>(Generator&, T*, int64_t, int64_t, int64_t);     \
  template UniformBounds uniform_bounds<T>(double, double);                            \
  template IntegerRange random_from_to_range<T>(int64_t, int64_t);
KILN_INSTANTIATE_FLOATING(float)
KILN_INSTANTIATE_FLOATING(double)
KILN_INSTANTIATE_FLOATING(Half)
KILN_INSTANTIATE_FLOATING(BFloat16)
#undef KILN_INSTANTIATE_FLOATING

template void fill_random_from_to<int8_t>(Generator&, int8_t*, int64_t, int64_t, int64_t);
template IntegerRange random_from_to_range<int8_t>(int64_t, int64_t);
template void fill_random_from_to<int16_t>(Generator&, int16_t*, int64_t, int64_t, int64_t);
template IntegerRange random_from_to_range<int16_t>(int64_t, int64_t);
template void fill_random_from_to<int32_t>(Generator&, int32_t*, int64_t, int64_t, int64_t);
template IntegerRange random_from_to_range<int32_t>(int64_t, int64_t);
template void fill_random_from_to<int64_t>(Generator&, int64_t*, int64_t, int64_t, int64_t);
template IntegerRange random_from_to_range<int64_t>(int64_t, int64_t);
template void fill_random_from_to<uint8_t>(Generator&, uint8_t*, int64_t, int64_t, int64_t);
template IntegerRange random_from_to_range<uint8_t>(int64_t, int64_t);

}  // namespace kiln::runtime
