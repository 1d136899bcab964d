#include "kiln/runtime/random.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"

namespace kiln::runtime {
namespace {

// ---- The fixture format (tests/runtime/random_cases.inc, written by make_random_cases.py) ----

enum class Op { kSeed, kRand, kRandn, kRandnNoncontiguous, kRandint };
enum class Elem { kFloat32, kFloat64, kFloat16, kBFloat16, kInt64, kInt32, kInt16, kInt8, kUInt8 };

// One call on the generator. Floating results are compared by bit pattern, integer results by
// value, both exactly: every path reproduces PyTorch's rounding, its AVX2 float kernel included.
struct Step {
  Op op = Op::kSeed;
  Elem elem = Elem::kFloat32;
  int64_t n = 0;
  double a = 0;  // from / mean
  double b = 0;  // to / std
  int64_t low = 0;
  int64_t high = 0;
  uint64_t seed = 0;
  std::vector<uint64_t> bits;   // floating element types
  std::vector<int64_t> values;  // integer element types
};

// A sequence of calls on one fresh Generator (default seed until a kSeed step).
struct RandomCase {
  const char* name;
  std::vector<Step> steps;
};

struct ErrorCase {
  Op op = Op::kRand;
  Elem elem = Elem::kFloat32;
  double a = 0;
  double b = 0;
  int64_t low = 0;
  int64_t high = 0;
  const char* message = "";
};

#include "runtime/random_cases.inc"

// Calls body(T{}) with the element type named by elem.
template <class Body>
void with_element_type(Elem elem, Body&& body) {
  switch (elem) {
    case Elem::kFloat32:
      return body(float{});
    case Elem::kFloat64:
      return body(double{});
    case Elem::kFloat16:
      return body(Half{});
    case Elem::kBFloat16:
      return body(BFloat16{});
    case Elem::kInt64:
      return body(int64_t{});
    case Elem::kInt32:
      return body(int32_t{});
    case Elem::kInt16:
      return body(int16_t{});
    case Elem::kInt8:
      return body(int8_t{});
    case Elem::kUInt8:
      return body(uint8_t{});
  }
}

template <class T>
constexpr bool kFloating =
    std::is_floating_point_v<T> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

template <class T>
uint64_t bits_of(T value) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return value.bits;
  } else {
    std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t> bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
  }
}

template <class T>
T from_bits(uint64_t bits) {
  T value;
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    value.bits = static_cast<uint16_t>(bits);
  } else {
    const auto narrow = static_cast<std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>>(bits);
    std::memcpy(&value, &narrow, sizeof value);
  }
  return value;
}

template <class T>
std::string describe_bits(uint64_t bits) {
  double value;
  if constexpr (std::is_same_v<T, double>) {
    value = from_bits<double>(bits);
  } else {
    value = static_cast<float>(from_bits<T>(bits));
  }
  char text[64];
  std::snprintf(text, sizeof text, "%.17g (bits 0x%llx)", value,
                static_cast<unsigned long long>(bits));
  return text;
}

template <class T>
std::vector<T> run_step(Generator& generator, const Step& step) {
  std::vector<T> data(static_cast<size_t>(step.n));
  if constexpr (kFloating<T>) {
    switch (step.op) {
      case Op::kRand:
        fill_uniform(generator, data.data(), step.n, step.a, step.b);
        break;
      case Op::kRandn:
        fill_normal(generator, data.data(), step.n, step.a, step.b);
        break;
      case Op::kRandnNoncontiguous:
        fill_normal_noncontiguous(generator, data.data(), step.n, step.a, step.b);
        break;
      default:
        break;
    }
  }
  if (step.op == Op::kRandint) {
    fill_random_from_to(generator, data.data(), step.n, step.low, step.high);
  }
  return data;
}

TEST(Random, MatchesPyTorch) {
  for (const RandomCase& random_case : kRandomCases) {
    SCOPED_TRACE(random_case.name);
    Generator generator;
    for (size_t s = 0; s < random_case.steps.size(); ++s) {
      const Step& step = random_case.steps[s];
      if (step.op == Op::kSeed) {
        generator.manual_seed(step.seed);
        continue;
      }
      SCOPED_TRACE("step " + std::to_string(s));
      with_element_type(step.elem, [&](auto zero) {
        using T = decltype(zero);
        const std::vector<T> actual = run_step<T>(generator, step);
        if constexpr (kFloating<T>) {
          ASSERT_EQ(actual.size(), step.bits.size());
          for (size_t i = 0; i < actual.size(); ++i) {
            ASSERT_EQ(bits_of(actual[i]), step.bits[i])
                << "element " << i << ": got " << describe_bits<T>(bits_of(actual[i]))
                << ", PyTorch has " << describe_bits<T>(step.bits[i]);
          }
        } else {
          ASSERT_EQ(actual.size(), step.values.size());
          for (size_t i = 0; i < actual.size(); ++i) {
            ASSERT_EQ(static_cast<int64_t>(actual[i]), step.values[i]) << "element " << i;
          }
        }
      });
    }
  }
}

TEST(Random, ErrorsUsePyTorchWording) {
  for (const ErrorCase& error : kErrorCases) {
    SCOPED_TRACE(error.message);
    Generator generator(0);
    with_element_type(error.elem, [&](auto zero) {
      using T = decltype(zero);
      std::vector<T> data(3);
      try {
        if constexpr (kFloating<T>) {
          if (error.op == Op::kRand) fill_uniform(generator, data.data(), 3, error.a, error.b);
          if (error.op == Op::kRandn) fill_normal(generator, data.data(), 3, error.a, error.b);
        }
        if (error.op == Op::kRandint) {
          fill_random_from_to(generator, data.data(), 3, error.low, error.high);
        }
        ADD_FAILURE() << "no error";
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), error.message);
      }
    });
  }
}

TEST(Random, InitialSeedIsTheFullSeed) {
  Generator generator;
  EXPECT_EQ(generator.initial_seed(), Generator::kDefaultSeed);
  for (auto [given, expected] : kInitialSeeds) {
    generator.manual_seed(given);
    EXPECT_EQ(generator.initial_seed(), expected);
  }
}

// The value the notes give, to 4 decimals, independent of the fixture.
TEST(Random, NotesCheckValue) {
  Generator generator;
  generator.manual_seed(0);
  float values[6];
  fill_normal(generator, values, 6, 0.0, 1.0);
  const float expected[6] = {1.5410f, -0.2934f, -2.1788f, 0.5684f, -1.0845f, -1.3986f};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(values[i], expected[i], 5e-5) << i;
}

// ---- Engine and generator properties ----

TEST(Mt19937, SameStreamAsStdMt19937) {
  for (uint32_t seed : {0u, 1u, 5489u, 42u, 0xffffffffu, 67280421u}) {
    Mt19937 ours(seed);
    std::mt19937 standard(seed);
    for (int i = 0; i < 5000; ++i)
      ASSERT_EQ(ours(), standard()) << "seed " << seed << " draw " << i;
  }
}

TEST(Mt19937, TenThousandthOutputOfTheDefaultSeed) {
  Mt19937 engine(5489);  // the C++ standard's conformance check
  uint32_t value = 0;
  for (int i = 0; i < 10000; ++i) value = engine();
  EXPECT_EQ(value, 4123659995u);
}

TEST(Generator, OnlyTheLow32BitsOfTheSeedReachTheEngine) {
  Generator wide(0x1234'0000'0007ULL);
  Generator narrow(7);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(wide.random(), narrow.random());
  EXPECT_EQ(wide.initial_seed(), 0x1234'0000'0007ULL);
}

TEST(Generator, Random64PutsTheFirstDrawHigh) {
  Generator a(11);
  Generator b(11);
  for (int i = 0; i < 10; ++i) {
    const uint64_t high = b.random();
    const uint64_t low = b.random();
    ASSERT_EQ(a.random64(), (high << 32) | low);
  }
}

TEST(Generator, ManualSeedRestartsTheStreamAndDropsCachedNormals) {
  Generator generator(3);
  double first[3];
  fill_normal(generator, first, 3, 0.0, 1.0);
  EXPECT_TRUE(generator.cached_double_normal().has_value());  // three draws leave one sample over
  generator.cached_float_normal() = 1.0f;
  generator.manual_seed(3);
  EXPECT_FALSE(generator.cached_double_normal().has_value());
  EXPECT_FALSE(generator.cached_float_normal().has_value());
  double again[3];
  fill_normal(generator, again, 3, 0.0, 1.0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(first[i], again[i]);
}

TEST(Generator, DefaultConstructedUsesPyTorchsDefaultSeed) {
  Generator fresh;
  Generator seeded(0);
  seeded.manual_seed(Generator::kDefaultSeed);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(fresh.random(), seeded.random());
}

TEST(Generator, SeedNondeterministicallyReportsTheSeedItUsed) {
  Generator generator;
  const uint64_t seed = generator.seed_nondeterministically();
  EXPECT_EQ(generator.initial_seed(), seed);
  Generator replay(seed);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(generator.random(), replay.random());
}

TEST(Generator, DefaultCpuGeneratorIsOneInstance) {
  EXPECT_EQ(&default_cpu_generator(), &default_cpu_generator());
}

TEST(Random, EmptyFillsDrawNothing) {
  Generator used(5);
  Generator untouched(5);
  fill_uniform<float>(used, nullptr, 0, 0.0, 1.0);
  fill_normal<double>(used, nullptr, 0, 0.0, 1.0);
  fill_random_from_to<int64_t>(used, nullptr, 0, 0, 10);
  EXPECT_EQ(used.random(), untouched.random());
  EXPECT_FALSE(used.cached_double_normal().has_value());
}

TEST(Random, RandintStaysInRange) {
  Generator generator(1);
  std::vector<int8_t> values(2000);
  fill_random_from_to(generator, values.data(), 2000, -128, 128);
  bool saw_low = false;
  bool saw_high = false;
  for (int8_t v : values) {
    saw_low |= v == -128;
    saw_high |= v == 127;
  }
  EXPECT_TRUE(saw_low && saw_high);
}

}  // namespace
}  // namespace kiln::runtime
