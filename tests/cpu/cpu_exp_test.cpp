// The CPU backend's inline float exp (backends/cpu/codegen_exp.cpp) against the correctly
// rounded value: a sweep over the float bit patterns, the edges of its range (overflow,
// subnormal results, underflow to zero) and the special values. Exhaustively (stride 1, 30 s
// on 2 cores) it is within 1 ulp everywhere, 0.4% of all floats 1 ulp off; the sweep here keeps
// every 509th pattern.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu/cpu_test_util.h"
#include "gtest/gtest.h"

namespace kiln::backends::cpu::testing {
namespace {

int64_t ordered(float f) {
  int32_t b;
  std::memcpy(&b, &f, 4);
  return b < 0 ? -static_cast<int64_t>(b & 0x7fffffff) : b;
}

// exp(x) rounded once to float: double's exp is within an ulp of double, 2^-29 of a float ulp,
// so only a value within that of a float half-way point could round differently, and the
// sweep's inputs hit none (the test would report such a case as 1 ulp, which is allowed).
float correctly_rounded_exp(float x) {
  return static_cast<float>(std::exp(static_cast<double>(x)));
}

// op(x) for every element on the CPU backend, as a float32 graph of one op.
std::vector<float> run_unary(Op op, const std::vector<float>& xs) {
  Graph g;
  const Shape shape = {static_cast<int64_t>(xs.size())};
  const ValueId in = g.add_input(TensorType{float32, shape});
  g.set_outputs({add(g, op, {in})});
  BufferPtr buffer = runtime::Buffer::allocate(xs.size() * sizeof(float));
  std::memcpy(buffer->data(), xs.data(), xs.size() * sizeof(float));
  CpuBackend cpu(test_cache());
  const std::vector<BufferPtr> out = cpu.run(g, {buffer});
  std::vector<float> result(xs.size());
  std::memcpy(result.data(), out.at(0)->data(), xs.size() * sizeof(float));
  return result;
}

TEST(CpuExp, WithinOneUlpOfCorrectlyRoundedOverASweepOfEveryFloat) {
  std::vector<float> xs;
  for (uint64_t bits = 0; bits < (uint64_t{1} << 32); bits += 509) {
    const uint32_t b = static_cast<uint32_t>(bits);
    float x;
    std::memcpy(&x, &b, 4);
    xs.push_back(x);
  }
  const std::vector<float> got = run_unary(Op::exp, xs);
  int64_t worst = 0;
  int64_t off_by_one = 0;
  int64_t nonzero_subnormal = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const float want = correctly_rounded_exp(xs[i]);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got[i])) << "exp(" << xs[i] << ") = " << got[i];
      continue;
    }
    const int64_t ulps = std::llabs(ordered(want) - ordered(got[i]));
    ASSERT_LE(ulps, 1) << "exp(" << std::hexfloat << xs[i] << "): want " << want << ", got "
                       << got[i];
    worst = std::max(worst, ulps);
    off_by_one += ulps;
    if (want > 0 && want < std::numeric_limits<float>::min()) ++nonzero_subnormal;
  }
  // The sweep must reach the interesting parts of the range, and the method is not exact.
  EXPECT_GT(nonzero_subnormal, 100);
  EXPECT_EQ(worst, 1);
  EXPECT_LT(off_by_one, static_cast<int64_t>(xs.size()) / 100);
}

TEST(CpuExp, RangeEdgesAndSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float largest_finite_input = 88.72283172607421875f;  // exp is just below FLT_MAX
  const std::vector<float> xs = {0.0f,
                                 -0.0f,
                                 1.0f,
                                 -1.0f,
                                 inf,
                                 -inf,
                                 nan,
                                 -nan,
                                 largest_finite_input,
                                 std::nextafter(largest_finite_input, inf),
                                 89.0f,
                                 1e30f,
                                 -87.33654f,  // the smallest normal result
                                 -100.0f,
                                 -103.2789f,
                                 -103.972084f,  // subnormal results, down to the smallest one
                                 -104.0f,
                                 -1e30f,  // below half the smallest subnormal: +0
                                 0.34657359f,
                                 -0.34657359f,  // |r| at the edge of the reduced range
                                 1e-30f,
                                 -1e-30f};
  const std::vector<float> got = run_unary(Op::exp, xs);
  for (size_t i = 0; i < xs.size(); ++i) {
    const float want = correctly_rounded_exp(xs[i]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got[i])) << "exp(" << xs[i] << ")";
      continue;
    }
    EXPECT_LE(std::llabs(ordered(want) - ordered(got[i])), 1)
        << "exp(" << std::hexfloat << xs[i] << "): want " << want << ", got " << got[i];
    // The edges are exact: overflow, zero and one are not approximations.
    if (std::isinf(want) || want == 0.0f || want == 1.0f) {
      EXPECT_EQ(want, got[i]) << "exp(" << xs[i] << ")";
    }
  }
  EXPECT_TRUE(std::isfinite(got[8]));
  EXPECT_TRUE(std::isinf(got[9]));
}

TEST(CpuExp, SigmoidUsesTheSameExpAndSaturates) {
  const std::vector<float> xs = {-200.0f, -88.0f, -10.0f, -1.0f, 0.0f, 0.5f, 10.0f, 17.0f, 200.0f};
  const std::vector<float> got = run_unary(Op::sigmoid, xs);
  for (size_t i = 0; i < xs.size(); ++i) {
    const double want = 1.0 / (1.0 + std::exp(-static_cast<double>(xs[i])));
    EXPECT_LE(std::llabs(ordered(static_cast<float>(want)) - ordered(got[i])), 2)
        << "sigmoid(" << xs[i] << ") = " << got[i] << ", want " << want;
  }
  EXPECT_EQ(got.front(), 0.0f);
  EXPECT_EQ(got.back(), 1.0f);
}

}  // namespace
}  // namespace kiln::backends::cpu::testing
