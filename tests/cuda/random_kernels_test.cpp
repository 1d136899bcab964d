// The Philox generator and the CUDA random kernels without a GPU: Random123's known answers for
// Philox4x32-10, the generator's offsets and seeding, PyTorch's launch policy and engine
// choices, the host emulation's own invariants, and every random kernel through NVRTC.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>

#include "cuda/nvrtc_test_cache.h"
#include "cuda/random_reference.h"
#include "kiln/backends/cuda/nvrtc.h"
#include "kiln/backends/cuda/random_kernels.h"
#include "kiln/kiln.h"
#include "kiln/runtime/philox.h"

namespace kiln {
namespace {

using backends::cuda::random_draw;
using backends::cuda::random_launch;
using backends::cuda::RandomDraw;
using backends::cuda::RandomFill;
using backends::cuda::RandomKind;

// Random123's kat_vectors, "philox4x32 10": counter, key -> output.
TEST(Philox, KnownAnswerVectors) {
  struct Case {
    std::array<uint32_t, 4> counter;
    std::array<uint32_t, 2> key;
    std::array<uint32_t, 4> expected;
  };
  const Case cases[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Case& c : cases) EXPECT_EQ(runtime::philox4x32_10(c.counter, c.key), c.expected);
}

TEST(Philox, GeneratorOffsetsAdvanceInMultiplesOfFour) {
  runtime::PhiloxGenerator g(42);
  EXPECT_EQ(g.philox_state(4).offset, 0u);
  EXPECT_EQ(g.offset(), 4u);
  EXPECT_EQ(g.philox_state(5).offset, 4u);    // rounded up to 8
  EXPECT_EQ(g.philox_state(10).offset, 12u);  // bernoulli's 10 -> 12
  EXPECT_EQ(g.offset(), 24u);
  const runtime::PhiloxState s = g.philox_state(0);
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(s.offset, 24u);
  g.manual_seed(7);
  EXPECT_EQ(g.seed(), 7u);
  EXPECT_EQ(g.offset(), 0u);
}

TEST(Philox, ManualSeedSeedsEveryDeviceGenerator) {
  runtime::PhiloxGenerator& g0 = runtime::cuda_generator(0);
  {
    std::lock_guard<std::mutex> lock(g0.mutex());
    (void)g0.philox_state(16);
  }
  manual_seed(1234);
  EXPECT_EQ(g0.seed(), 1234u);
  EXPECT_EQ(g0.offset(), 0u);
  // A device first used after manual_seed starts from that seed too (PyTorch seeds lazily).
  runtime::PhiloxGenerator& g5 = runtime::cuda_generator(5);
  EXPECT_EQ(g5.seed(), 1234u);
  EXPECT_EQ(g5.offset(), 0u);
  manual_seed(static_cast<uint64_t>(-1));  // a negative Python seed, two's complement
  EXPECT_EQ(g5.seed(), ~uint64_t{0});
  EXPECT_EQ(initial_seed(), ~uint64_t{0});  // torch.initial_seed is the CPU generator's
}

// calc_execution_policy on an H200 (132 SMs, 2048 threads per SM) and an A100 (108, 2048).
TEST(RandomKernels, LaunchPolicyFollowsPyTorch) {
  auto l = random_launch(1000, 4, 132, 2048);
  EXPECT_EQ(l.block, 256u);
  EXPECT_EQ(l.grid, 4u);
  EXPECT_EQ(l.counter_offset, 4u);
  l = random_launch(10'000'000, 4, 132, 2048);
  EXPECT_EQ(l.grid, 1056u);
  EXPECT_EQ(l.counter_offset, 40u);  // ceil(1e7 / (1056 * 256 * 4)) = 10 calls
  l = random_launch(10'000'000, 2, 108, 2048);
  EXPECT_EQ(l.grid, 864u);
  EXPECT_EQ(l.counter_offset, 92u);  // ceil(1e7 / (864 * 256 * 2)) = 23 calls
  l = random_launch(1, 2, 132, 1536);
  EXPECT_EQ(l.grid, 1u);
  EXPECT_EQ(l.counter_offset, 4u);
}

TEST(RandomKernels, EngineCallsFollowPyTorch) {
  RandomFill f;
  f.kind = RandomKind::kUniform;
  EXPECT_EQ(random_draw(f), RandomDraw::kUniform4);
  f.dtype = float16;
  EXPECT_EQ(random_draw(f), RandomDraw::kUniform4);
  f.dtype = float64;
  EXPECT_EQ(random_draw(f), RandomDraw::kUniform2Double);
  f.kind = RandomKind::kNormal;
  EXPECT_EQ(random_draw(f), RandomDraw::kNormal2Double);
  f.dtype = bfloat16;
  EXPECT_EQ(random_draw(f), RandomDraw::kNormal4);
  f.kind = RandomKind::kBernoulli;
  EXPECT_EQ(random_draw(f), RandomDraw::kUniform4);
  f.kind = RandomKind::kRandomFromTo;
  f.dtype = int64;
  f.range = (uint64_t{1} << 28) - 1;
  EXPECT_EQ(random_draw(f), RandomDraw::kBits4);
  f.range = uint64_t{1} << 28;  // the 64-bit path starts at 2^28 whatever the dtype
  EXPECT_EQ(random_draw(f), RandomDraw::kBits2x64);
  f.dtype = int32;
  EXPECT_EQ(random_draw(f), RandomDraw::kBits2x64);
}

// The emulation visits every element exactly once, each thread's calls in order.
TEST(RandomKernels, HostEmulationCoversEveryElementOnce) {
  RandomFill f;
  f.kind = RandomKind::kRandomFromTo;
  f.dtype = int64;
  f.low = 0;
  f.range = uint64_t{1} << 40;  // 64-bit draws: distinct values with overwhelming probability
  const runtime::PhiloxState state{99, 8};
  for (int64_t n : {1, 255, 256, 2049, 70'001}) {
    const auto l = random_launch(n, 2, 3, 1024);
    const std::vector<int64_t> v = testing::emulate_int64(f, n, l.grid, state);
    ASSERT_EQ(static_cast<int64_t>(v.size()), n);
    EXPECT_EQ(std::set<int64_t>(v.begin(), v.end()).size(), v.size()) << n;
  }
  // Element 0 is thread 0's first call: the Philox block of counter (offset / 4, 0).
  const auto block = runtime::philox4x32_10({2, 0, 0, 0}, {99, 0});
  const std::vector<int64_t> v = testing::emulate_int64(f, 1, 1, state);
  EXPECT_EQ(static_cast<uint64_t>(v[0]),
            ((static_cast<uint64_t>(block[0]) << 32) | block[1]) % f.range);
}

// curand's (0, 1] floats and the bound reversal: uniform values stay in [from, to).
TEST(RandomKernels, HostEmulationUniformIsHalfOpen) {
  EXPECT_EQ(testing::unit_float(0xffffffffu), 1.0f);
  EXPECT_GT(testing::unit_float(0), 0.0f);
  RandomFill f;
  f.kind = RandomKind::kUniform;
  f.dtype = float16;
  f.a = 0;
  f.b = 1;
  f.c = 1;
  const std::vector<double> v = testing::emulate(f, 100'000, 40, {5, 0});
  for (double x : v) {
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
  }
}

// PyTorch splits tensors past 32-bit byte offsets into parts with their own offsets: refused.
TEST(RandomKernels, TensorsOfTwoGiBAreRefused) {
  RandomFill f;
  f.dtype = float32;
  try {
    (void)backends::cuda::fill_random(0, nullptr, (int64_t{1} << 29) + 1, f);
    FAIL() << "expected kiln::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2 GiB"), std::string::npos) << e.what();
  }
}

TEST(RandomKernels, EveryKernelCompiles) {
  if (!backends::cuda::nvrtc_available())
    GTEST_SKIP() << "NVRTC unavailable: " << backends::cuda::why_nvrtc_unavailable();
  const DType floats[] = {float32, float64, float16, bfloat16};
  const DType all[] = {float32, float64, float16, bfloat16, int8,
                       int16,   int32,   int64,   uint8,    boolean};
  int compiled = 0;
  auto compile = [&](RandomKind kind, DType dtype) {
    RandomFill f;
    f.kind = kind;
    f.dtype = dtype;
    std::vector<RandomDraw> draws = {random_draw(f)};
    if (kind == RandomKind::kRandomFromTo) draws = {RandomDraw::kBits4, RandomDraw::kBits2x64};
    for (RandomDraw draw : draws) {
      const std::string symbol = backends::cuda::random_kernel_symbol(kind, dtype, draw);
      SCOPED_TRACE(symbol);
      const auto m =
          test::nvrtc_compile_cached(backends::cuda::random_kernel_source(kind, dtype, draw),
                                     symbol, 90, true, {.fmad = true});
      EXPECT_FALSE(m.image.empty());
      ++compiled;
    }
  };
  for (DType d : floats) {
    compile(RandomKind::kUniform, d);
    compile(RandomKind::kNormal, d);
    compile(RandomKind::kBernoulli, d);
  }
  for (DType d : all) compile(RandomKind::kRandomFromTo, d);
  EXPECT_EQ(compiled, 32);
  EXPECT_THROW(
      backends::cuda::random_kernel_source(RandomKind::kNormal, int32, RandomDraw::kNormal4),
      Error);
}

}  // namespace
}  // namespace kiln
