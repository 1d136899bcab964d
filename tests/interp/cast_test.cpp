// cast between every pair of dtypes, float -> integer truncation and wraparound, truthiness,
// and round-to-nearest-even into float16 and bfloat16.
#include <cmath>
#include <limits>

#include "interp_test_util.h"

namespace kiln::backends::interp::testing {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// Casts a buffer of `from` values to `to` and returns the result buffer.
BufferPtr cast_buffer(DType from, DType to, BufferPtr input, int64_t n) {
  Graph g;
  const ValueId x = g.add_input(type(from, {n}));
  g.set_outputs({add(g, Op::cast, {x}, ir::CastAttrs{to})});
  return run(g, {std::move(input)})[0];
}

std::vector<double> cast(DType from, DType to, const std::vector<double>& values) {
  return decode(to,
                cast_buffer(from, to, encode(from, values), static_cast<int64_t>(values.size())));
}

TEST(InterpCast, EveryPairOfDTypes) {
  // Values exact in every dtype except bool (which keeps only truth).
  const std::vector<double> values{0, 1, 2, 100};
  for (DType from : kAllDTypes) {
    for (DType to : kAllDTypes) {
      SCOPED_TRACE(::testing::Message() << from << " -> " << to);
      std::vector<double> expected;
      for (double v : decode(from, encode(from, values)))
        expected.push_back(to == boolean ? v != 0 : v);
      expect_values(cast(from, to, values), expected);
    }
  }
}

TEST(InterpCast, FloatToIntegerTruncatesThenWraps) {
  // Truncate toward zero into int64 (NaN -> 0, saturating), then keep the low bits.
  const std::vector<double> in{-1.0, 2.9, -2.9, kNaN, 1e30, -1e30, 300.5, kInf, -kInf};
  for (DType from : {float32, float64}) {
    SCOPED_TRACE(::testing::Message() << from);
    expect_values(cast(from, uint8, in), {255, 2, 254, 0, 255, 0, 44, 255, 0});
    expect_values(cast(from, int8, in), {-1, 2, -2, 0, -1, 0, 44, -1, 0});
    expect_values(cast(from, int16, in), {-1, 2, -2, 0, -1, 0, 300, -1, 0});
    expect_values(cast(from, int32, in), {-1, 2, -2, 0, -1, 0, 300, -1, 0});
    const auto as_int64 = values_of<int64_t>(cast_buffer(from, int64, encode(from, in), 9));
    const int64_t max = std::numeric_limits<int64_t>::max();
    const int64_t min = std::numeric_limits<int64_t>::min();
    EXPECT_EQ(as_int64, (std::vector<int64_t>{-1, 2, -2, 0, max, min, 300, max, min}));
  }
  expect_values(cast(float16, int8, {-1.5, 65504, kNaN}),
                {-1, static_cast<double>(wrap_to(int8, 65504)), 0});
  expect_values(cast(bfloat16, uint8, {-3.5, 256}), {253, 0});
}

TEST(InterpCast, IntegerToIntegerWraps) {
  expect_values(cast(int64, uint8, {-1, 256, 257, 1000}), {255, 0, 1, 232});
  expect_values(cast(int32, int8, {128, -129, 255}), {-128, 127, -1});
  expect_values(cast(uint8, int8, {255, 128}), {-1, -128});
  expect_values(cast(int8, uint8, {-1, -128}), {255, 128});
  expect_values(cast(int16, int64, {-32768}), {-32768});
}

TEST(InterpCast, AnythingToBoolIsNonzero) {
  // Truth is tested before any narrowing: 0.5 and 256 are true, -0.0 is false, NaN is true.
  expect_values(cast(float32, boolean, {0, 0.5, -0.0, kNaN, kInf, -1e-30}), {0, 1, 0, 1, 1, 1});
  expect_values(cast(float64, boolean, {1e-300, 0}), {1, 0});
  expect_values(cast(float16, boolean, {0, 0.25}), {0, 1});
  expect_values(cast(int16, boolean, {0, 256, -1}), {0, 1, 1});
  expect_values(cast(int64, boolean, {0, 4096}), {0, 1});
  expect_values(cast(uint8, boolean, {0, 128}), {0, 1});
}

TEST(InterpCast, BoolToNumbersIsZeroOrOne) {
  for (DType to : kAllDTypes) expect_values(cast(boolean, to, {0, 1}), {0, 1});
  // Any nonzero byte in a bool buffer reads as true.
  auto raw = buffer_of<uint8_t>({0, 1, 7});
  expect_values(decode(int32, cast_buffer(boolean, int32, raw, 3)), {0, 1, 1});
}

TEST(InterpCast, FloatToFloat16RoundsToNearestEven) {
  const double one = 1.0;
  const std::vector<double> in{
      one + std::ldexp(1, -11),      // halfway between 1 and 1 + 2^-10: even is 1
      one + 3 * std::ldexp(1, -11),  // halfway between 1 + 2^-10 and 1 + 2^-9: even is the latter
      one + std::ldexp(1, -11) + std::ldexp(1, -20),  // above halfway: rounds up
      65504,                                          // largest finite
      65519,                                          // rounds down to 65504
      65520,                                          // rounds to inf
      std::ldexp(1, -24),                             // smallest subnormal
      std::ldexp(1, -25),      // halfway to the smallest subnormal: even is 0
      3 * std::ldexp(1, -25),  // halfway between subnormals 1 and 2: even is 2
      -0.0,
      -kInf,
  };
  // float64 and float32 sources give the same bits: every input is exact in float32.
  for (DType from : {float32, float64}) {
    SCOPED_TRACE(::testing::Message() << from);
    const auto bits = values_of<uint16_t>(cast_buffer(from, float16, encode(from, in), 11));
    EXPECT_EQ(bits, (std::vector<uint16_t>{0x3C00, 0x3C02, 0x3C01, 0x7BFF, 0x7BFF, 0x7C00, 0x0001,
                                           0x0000, 0x0002, 0x8000, 0xFC00}));
  }
  const auto nan = cast(float32, float16, {kNaN});
  EXPECT_TRUE(std::isnan(nan[0]));
  // int64 -> float16 rounds too: 2049 is halfway between 2048 and 2050.
  expect_values(cast(int64, float16, {2049, 2051, 70000}), {2048, 2052, kInf});
}

TEST(InterpCast, FloatToBFloat16RoundsToNearestEven) {
  const std::vector<double> in{
      1.0 + std::ldexp(1, -8),                       // halfway between 1 and 1 + 2^-7: even is 1
      1.0 + 3 * std::ldexp(1, -8),                   // halfway: even is 1 + 2^-6
      1.0 + std::ldexp(1, -8) + std::ldexp(1, -16),  // above halfway: up
      -2.0,
      3.4e38,  // beyond halfway from the largest finite bfloat16 (3.3895e38): inf
  };
  const auto bits = values_of<uint16_t>(cast_buffer(float32, bfloat16, encode(float32, in), 5));
  EXPECT_EQ(bits, (std::vector<uint16_t>{0x3F80, 0x3F82, 0x3F81, 0xC000, 0x7F80}));
  const auto nan = cast(float64, bfloat16, {kNaN});
  EXPECT_TRUE(std::isnan(nan[0]));
}

TEST(InterpCast, BetweenFloatTypes) {
  expect_values(cast(float64, float32, {0.1, 1e40, -1e-50}),
                {static_cast<double>(0.1f), kInf, -0.0});
  expect_values(cast(float16, float32, {0.1}), {0.0999755859375});
  // 1/3 in bfloat16 is 0x3EAB = 0.333984375, exact in float16.
  expect_values(cast(bfloat16, float16, {1.0 / 3.0}), {0.333984375});
  expect_values(cast(float32, float64, {kNaN, -kInf}), {kNaN, -kInf});
}

}  // namespace
}  // namespace kiln::backends::interp::testing
