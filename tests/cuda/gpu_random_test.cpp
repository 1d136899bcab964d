// Random numbers on the device against the host emulation of the same scheme
// (cuda/random_reference.h): uniform, integer and Bernoulli values bit for bit, normal values
// within the emulation's tolerance, the generator's offsets between calls, and manual_seed.
// Every test skips without a GPU. (PyTorch's own numbers: tools/gpu_random_check.py.)
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cuda/gpu_skip.h"
#include "cuda/random_reference.h"
#include "kiln/backends/cuda/random_kernels.h"
#include "kiln/kiln.h"
#include "kiln/runtime/cuda/driver.h"
#include "kiln/runtime/philox.h"
#include "kiln/runtime/random.h"

namespace kiln {
namespace {

using backends::cuda::RandomFill;
using backends::cuda::RandomKind;

unsigned grid_for(const RandomFill& f, int64_t n) {
  const auto& props = runtime::cuda::device_properties(0);
  return backends::cuda::random_launch(
             n, backends::cuda::random_unroll(backends::cuda::random_draw(f)),
             props.multiprocessors, props.max_threads_per_multiprocessor)
      .grid;
}

uint64_t offset_now() { return runtime::cuda_generator(0).offset(); }

std::vector<double> host_values(const Tensor& t) {
  const Tensor h = t.to(float64).cpu().contiguous();
  const double* p = h.data_ptr<double>();
  return std::vector<double>(p, p + h.numel());
}

// Runs draw() after manual_seed(seed) and checks it against the emulation of `fill`.
template <class Draw>
void expect_matches(const RandomFill& fill, int64_t n, uint64_t seed, Draw&& draw,
                    bool exact = true) {
  SCOPED_TRACE(::testing::Message() << name(fill.dtype) << " n=" << n);
  manual_seed(seed);
  const uint64_t before = offset_now();
  const Tensor t = draw();
  const std::vector<double> got = host_values(t);
  const std::vector<double> want = testing::emulate(fill, n, grid_for(fill, n), {seed, before});
  ASSERT_EQ(got.size(), want.size());
  int64_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const bool ok =
        exact ? got[i] == want[i]
              : std::abs(got[i] - want[i]) <= testing::normal_tolerance(fill.dtype, want[i]);
    if (!ok && bad++ < 5)
      ADD_FAILURE() << "element " << i << ": device " << got[i] << ", host " << want[i];
  }
  EXPECT_EQ(bad, 0);
}

RandomFill uniform_fill(DType dtype, double from, double to, double width) {
  RandomFill f;
  f.kind = RandomKind::kUniform;
  f.dtype = dtype;
  f.a = from;
  f.b = to;
  f.c = width;
  return f;
}

TEST(CudaRandom, UniformMatchesHostEmulation) {
  GPU_KERNELS_OR_SKIP();
  for (DType dtype : {float32, float64, float16, bfloat16}) {
    for (int64_t n : {1, 1000, 3'000'001}) {
      expect_matches(uniform_fill(dtype, 0, 1, 1), n, 7,
                     [&] { return rand({n}, {.dtype = dtype, .device = cuda}); });
    }
  }
  // uniform_(-2, 3) on a parameter-like tensor (nn::init).
  expect_matches(uniform_fill(float32, -2, 3, 5), 4096, 11, [] {
    Tensor w = empty({64, 64}, {.device = cuda});
    return nn::init::uniform_(w, -2, 3);
  });
}

TEST(CudaRandom, NormalMatchesHostEmulationWithinUlps) {
  GPU_KERNELS_OR_SKIP();
  for (DType dtype : {float32, float64, float16, bfloat16}) {
    RandomFill f;
    f.kind = RandomKind::kNormal;
    f.dtype = dtype;
    f.b = 1;
    for (int64_t n : {3, 1001, 2'500'000}) {
      expect_matches(
          f, n, 5, [&] { return randn({n}, {.dtype = dtype, .device = cuda}); }, false);
    }
    f.a = 1.5;
    f.b = 0.25;
    expect_matches(
        f, 999, 6,
        [&] {
          Tensor w = empty({999}, {.dtype = dtype, .device = cuda});
          return nn::init::normal_(w, 1.5, 0.25);
        },
        false);
  }
}

TEST(CudaRandom, RandintMatchesHostEmulationExactly) {
  GPU_KERNELS_OR_SKIP();
  struct Case {
    DType dtype;
    int64_t low, high;
  };
  const Case cases[] = {{int64, 0, 10},          {int64, -5, 1 << 20},        {int32, 0, 1 << 30},
                        {uint8, 0, 256},         {int8, -128, 128},           {int16, -7, 7},
                        {float32, -100, 100},    {float16, 0, 2048},          {bfloat16, 0, 256},
                        {float64, 0, 1LL << 40}, {int32, -(1 << 27), 1 << 27}};
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.low << ".." << c.high);
    RandomFill f;
    f.kind = RandomKind::kRandomFromTo;
    f.dtype = c.dtype;
    // Every bound above is exact in its dtype: no tightening (random_from_to_range).
    f.low = c.low;
    f.range = static_cast<uint64_t>(c.high) - static_cast<uint64_t>(c.low);
    expect_matches(f, 5000, 3, [&] {
      return randint(c.low, c.high, {5000}, {.dtype = c.dtype, .device = cuda});
    });
  }
  // 64-bit integers beyond a double's 53 bits: compared as int64.
  manual_seed(8);
  const uint64_t before = offset_now();
  const int64_t low = -(int64_t{1} << 62), high = int64_t{1} << 62;
  const Tensor t = randint(low, high, {3000}, {.dtype = int64, .device = cuda}).cpu();
  RandomFill f;
  f.kind = RandomKind::kRandomFromTo;
  f.dtype = int64;
  f.low = low;
  f.range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  const std::vector<int64_t> want = testing::emulate_int64(f, 3000, grid_for(f, 3000), {8, before});
  const int64_t* got = t.data_ptr<int64_t>();
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << i;
}

TEST(CudaRandom, OffsetsAdvanceAndManualSeedResets) {
  GPU_OR_SKIP();
  const int64_t n = 3'000'000;
  const auto& props = runtime::cuda::device_properties(0);
  const auto launch = backends::cuda::random_launch(n, 4, props.multiprocessors,
                                                    props.max_threads_per_multiprocessor);
  manual_seed(21);
  EXPECT_EQ(offset_now(), 0u);
  const Tensor a = rand({n}, {.device = cuda});
  EXPECT_EQ(offset_now(), launch.counter_offset);
  const Tensor b = rand({n}, {.device = cuda});
  EXPECT_EQ(offset_now(), 2 * launch.counter_offset);
  (void)randn({5}, {.device = cuda});
  EXPECT_EQ(offset_now(), 2 * launch.counter_offset + 4);
  EXPECT_FALSE(equal(a.cpu(), b.cpu()));
  // The second draw is the emulation at the advanced offset.
  const std::vector<double> want =
      testing::emulate(uniform_fill(float32, 0, 1, 1), n, launch.grid, {21, launch.counter_offset});
  const std::vector<double> got = host_values(b);
  for (size_t i = 0; i < want.size(); i += 997) ASSERT_EQ(got[i], want[i]) << i;
  // The CPU generator is untouched by CUDA draws; manual_seed restarts both.
  manual_seed(21);
  EXPECT_EQ(offset_now(), 0u);
  EXPECT_TRUE(equal(rand({n}, {.device = cuda}).cpu(), a.cpu()));
}

TEST(CudaRandom, LikeDrawsOnTheTensorsDevice) {
  GPU_OR_SKIP();
  const Tensor x = zeros({3, 5}, {.dtype = float16, .device = cuda});
  manual_seed(4);
  const Tensor r = rand_like(x);
  EXPECT_EQ(r.device(), cuda);
  EXPECT_EQ(r.dtype(), float16);
  manual_seed(4);
  EXPECT_TRUE(equal(r.cpu(), rand({3, 5}, {.dtype = float16, .device = cuda}).cpu()));
  EXPECT_EQ(randn_like(x).device(), cuda);
}

TEST(CudaRandom, DropoutMaskIsBernoulliOnTheDevice) {
  GPU_OR_SKIP();
  const int64_t n = 100'000;
  RandomFill f;
  f.kind = RandomKind::kBernoulli;
  f.dtype = float32;
  f.a = 0.75;
  manual_seed(13);
  const uint64_t before = offset_now();
  const Tensor x = ones({n}, {.device = cuda});
  const Tensor y = nn::functional::dropout(x, 0.25, true);
  const std::vector<double> mask = testing::emulate(f, n, grid_for(f, n), {13, before});
  const std::vector<double> got = host_values(y);
  const double kept = static_cast<double>(static_cast<float>(1.0 / 0.75));
  int64_t ones_seen = 0;
  for (size_t i = 0; i < mask.size(); ++i) {
    ASSERT_EQ(got[i], mask[i] != 0 ? kept : 0.0) << i;
    ones_seen += mask[i] != 0;
  }
  EXPECT_NEAR(static_cast<double>(ones_seen) / n, 0.75, 0.01);
}

TEST(CudaRandom, KaimingUniformOnCudaParameters) {
  GPU_OR_SKIP();
  Tensor w = empty({64, 100}, {.device = cuda});
  manual_seed(17);
  const uint64_t before = offset_now();
  nn::init::kaiming_uniform_(w, std::sqrt(5.0));
  // torch.nn.init's arithmetic, operation for operation.
  const double a = std::sqrt(5.0);
  const double bound = std::sqrt(3.0) * (std::sqrt(2.0 / (1 + a * a)) / std::sqrt(100.0));
  const runtime::UniformBounds b = runtime::uniform_bounds<float>(-bound, bound);
  const std::vector<double> want =
      testing::emulate(uniform_fill(float32, b.from, b.to, b.width), 6400,
                       grid_for(uniform_fill(float32, 0, 1, 1), 6400), {17, before});
  EXPECT_EQ(host_values(w), want);
}

}  // namespace
}  // namespace kiln
