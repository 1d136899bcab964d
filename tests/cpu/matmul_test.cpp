// The CPU matmul (backends/cpu/matmul.h) and its micro-kernels against a naive triple loop with
// the reference interpreter's semantics: floats summed in double (compared with a tolerance),
// integers in wrapping int64 (compared exactly), bool as any(a & b).
#include "kiln/backends/cpu/matmul.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "kiln/backends/cpu/matmul_kernel.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"
#include "kiln/runtime/thread_pool.h"

namespace kiln::backends::cpu {
namespace {

struct BoolByte {
  uint8_t value;
};

// Calls f(S{}) with the storage type S of `dtype`.
template <class F>
void visit_storage(DType dtype, F&& f) {
  switch (dtype.kind()) {
    case DType::Kind::kFloat32:
      return f(float{});
    case DType::Kind::kFloat64:
      return f(double{});
    case DType::Kind::kFloat16:
      return f(Half{});
    case DType::Kind::kBFloat16:
      return f(BFloat16{});
    case DType::Kind::kInt8:
      return f(int8_t{});
    case DType::Kind::kInt16:
      return f(int16_t{});
    case DType::Kind::kInt32:
      return f(int32_t{});
    case DType::Kind::kInt64:
      return f(int64_t{});
    case DType::Kind::kUInt8:
      return f(uint8_t{});
    case DType::Kind::kBool:
      return f(BoolByte{});
  }
}

template <class S>
constexpr bool kFloating =
    std::is_floating_point_v<S> || std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>;

// What the interpreter computes in: double for floats, int64 for the rest.
template <class S>
using Wide = std::conditional_t<kFloating<S>, double, int64_t>;

template <class S>
Wide<S> widen(S s) {
  if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) {
    return static_cast<float>(s);
  } else if constexpr (std::is_same_v<S, BoolByte>) {
    return s.value != 0 ? 1 : 0;
  } else {
    return static_cast<Wide<S>>(s);
  }
}

template <class S>
S narrow(Wide<S> v) {
  if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) {
    return S(static_cast<float>(v));
  } else if constexpr (std::is_same_v<S, BoolByte>) {
    return BoolByte{static_cast<uint8_t>(v != 0 ? 1 : 0)};
  } else {
    return static_cast<S>(v);
  }
}

// Random values: uniform in [-1, 1] for float32/float64; multiples of 1/8 in [-2, 2] for
// float16/bfloat16 (their products and sums are exact in float, so the only rounding is the
// final one, the same as the interpreter's); every bit pattern for integers (overflow wraps);
// sparse bools, stored as 0, 1, 2 or 255.
template <class S>
S random_value(std::mt19937_64& rng) {
  if constexpr (std::is_floating_point_v<S>) {
    return static_cast<S>(std::uniform_real_distribution<double>(-1, 1)(rng));
  } else if constexpr (kFloating<S>) {
    return S(static_cast<float>(static_cast<int>(rng() % 33) - 16) / 8.0f);
  } else if constexpr (std::is_same_v<S, BoolByte>) {
    const uint64_t r = rng();
    if (r % 5 != 0) return BoolByte{0};
    static constexpr uint8_t kTrue[] = {1, 1, 2, 255};
    return BoolByte{kTrue[(r >> 8) % 4]};
  } else {
    return static_cast<S>(rng());
  }
}

// A batch of matrices and where each element lives.
struct Layout {
  int64_t batch_stride, row_stride, col_stride;
  int64_t at(int64_t p, int64_t i, int64_t j) const {
    return p * batch_stride + i * row_stride + j * col_stride;
  }
};

// The storage extent of a layout for batch x rows x cols (strides >= 0).
int64_t extent(const Layout& l, int64_t batch, int64_t rows, int64_t cols) {
  if (batch == 0 || rows == 0 || cols == 0) return 0;
  return l.at(batch - 1, rows - 1, cols - 1) + 1;
}

enum class Variant { kDense, kTransposedA, kTransposedB, kColumnMajorC, kBroadcastA, kPaddedRows };

std::string variant_name(Variant v) {
  switch (v) {
    case Variant::kDense:
      return "dense";
    case Variant::kTransposedA:
      return "transposed A";
    case Variant::kTransposedB:
      return "transposed B";
    case Variant::kColumnMajorC:
      return "column-major C";
    case Variant::kBroadcastA:
      return "broadcast A";
    case Variant::kPaddedRows:
      return "padded rows";
  }
  return "?";
}

struct Shape {
  int64_t batch, m, k, n;
};

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  return os << s.batch << "x" << s.m << "x" << s.k << "x" << s.n;
}

// Runs matmul for one dtype, shape, layout variant and tuning against the naive loop.
template <class S>
void check(DType dtype, const Shape& s, Variant variant, const MatmulTuning& tuning,
           uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << dtype << " " << s << " " << variant_name(variant));
  const auto [batch, m, k, n] = s;
  Layout la{m * k, k, 1}, lb{k * n, n, 1}, lc{m * n, n, 1};
  switch (variant) {
    case Variant::kDense:
      break;
    case Variant::kTransposedA:
      la = {m * k, 1, m};
      break;
    case Variant::kTransposedB:
      lb = {k * n, 1, k};
      break;
    case Variant::kColumnMajorC:
      lc = {m * n, 1, m};
      break;
    case Variant::kBroadcastA:
      la = {0, k, 1};
      break;
    case Variant::kPaddedRows:
      la = {m * (k + 3), k + 3, 1};
      lb = {k * (n + 5), n + 5, 1};
      lc = {m * (n + 2), n + 2, 1};
      break;
  }
  std::mt19937_64 rng(seed);
  std::vector<S> a(static_cast<size_t>(std::max<int64_t>(extent(la, batch, m, k), 1)));
  std::vector<S> b(static_cast<size_t>(std::max<int64_t>(extent(lb, batch, k, n), 1)));
  for (S& x : a) x = random_value<S>(rng);
  for (S& x : b) x = random_value<S>(rng);
  // C starts as garbage (NaN-like bytes) that must be overwritten, padding included: the
  // padding must survive.
  std::vector<S> c(static_cast<size_t>(std::max<int64_t>(extent(lc, batch, m, n), 1)));
  std::memset(static_cast<void*>(c.data()), 0x7f, c.size() * sizeof(S));
  const std::vector<S> c_before = c;

  matmul(dtype, MatmulOperand{a.data(), la.batch_stride, la.row_stride, la.col_stride},
         MatmulOperand{b.data(), lb.batch_stride, lb.row_stride, lb.col_stride},
         MatmulResult{c.data(), lc.batch_stride, lc.row_stride, lc.col_stride}, batch, m, k, n,
         tuning);

  std::vector<bool> written(c.size(), false);
  int failures = 0;
  for (int64_t p = 0; p < batch; ++p) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        Wide<S> sum = 0;
        double magnitude = 0;  // sum of |a * b|: the scale of rounding errors
        for (int64_t t = 0; t < k; ++t) {
          const Wide<S> x = widen(a[static_cast<size_t>(la.at(p, i, t))]);
          const Wide<S> y = widen(b[static_cast<size_t>(lb.at(p, t, j))]);
          if constexpr (kFloating<S>) {
            sum += x * y;
            magnitude += std::abs(x * y);
          } else {
            sum = static_cast<int64_t>(static_cast<uint64_t>(sum) +
                                       static_cast<uint64_t>(x) * static_cast<uint64_t>(y));
          }
        }
        const size_t at = static_cast<size_t>(lc.at(p, i, j));
        written[at] = true;
        const S got = c[at];
        bool ok;
        std::string expected_text, got_text;
        if constexpr (std::is_floating_point_v<S>) {
          // Accumulated in S, not double: errors grow like sqrt(k) ulps of the magnitude.
          const double eps = std::is_same_v<S, float> ? 1e-5 : 1e-13;
          const double tolerance = eps * std::sqrt(static_cast<double>(k)) * magnitude + 1e-30;
          ok = std::abs(static_cast<double>(got) - sum) <= tolerance;
          expected_text = absl::StrFormat("%.17g", sum);
          got_text = absl::StrFormat("%.17g", static_cast<double>(got));
        } else if constexpr (kFloating<S>) {
          (void)magnitude;
          ok = got.bits == narrow<S>(sum).bits;
          expected_text = absl::StrFormat("%g", static_cast<float>(narrow<S>(sum)));
          got_text = absl::StrFormat("%g", static_cast<float>(got));
        } else if constexpr (std::is_same_v<S, BoolByte>) {
          ok = got.value == narrow<S>(sum).value;
          expected_text = std::to_string(narrow<S>(sum).value);
          got_text = std::to_string(got.value);
        } else {
          ok = got == narrow<S>(sum);
          expected_text = std::to_string(narrow<S>(sum));
          got_text = std::to_string(got);
        }
        if (!ok && ++failures <= 5) {
          ADD_FAILURE() << "c[" << p << "][" << i << "][" << j << "] = " << got_text
                        << ", expected " << expected_text;
        }
      }
    }
  }
  for (size_t at = 0; at < c.size(); ++at) {
    if (!written[at] && std::memcmp(&c[at], &c_before[at], sizeof(S)) != 0 && ++failures <= 5) {
      ADD_FAILURE() << "padding element " << at << " of C was written";
    }
  }
  EXPECT_EQ(failures, 0);
}

void check_dtype(DType dtype, const Shape& s, Variant variant = Variant::kDense,
                 const MatmulTuning& tuning = {}, uint64_t seed = 1) {
  visit_storage(dtype, [&]<class S>(S) { check<S>(dtype, s, variant, tuning, seed); });
}

// Sets the pool size for one scope.
class ScopedThreads {
 public:
  explicit ScopedThreads(int n) : old_(runtime::num_threads()) { runtime::set_num_threads(n); }
  ~ScopedThreads() { runtime::set_num_threads(old_); }

 private:
  int old_;
};

// Shapes around the micro-kernel tiles (mr 4..12, nr 8..32 on x86 hosts), the unroll of the k
// loop (4), powers of two, primes, single rows and columns, and batches for both threading
// schemes (split by batch, split inside a product).
const Shape kShapes[] = {{1, 1, 1, 1},    {1, 7, 13, 5},   {1, 5, 6, 7},    {1, 6, 7, 5},
                         {1, 11, 3, 31},  {1, 12, 4, 32},  {1, 13, 5, 33},  {1, 15, 16, 17},
                         {1, 16, 17, 15}, {1, 17, 15, 16}, {1, 24, 9, 64},  {1, 25, 2, 65},
                         {1, 63, 64, 65}, {1, 64, 65, 63}, {1, 65, 63, 64}, {1, 1, 100, 97},
                         {1, 97, 100, 1}, {1, 1, 1, 300},  {1, 300, 1, 1},  {1, 100, 1, 100},
                         {3, 5, 7, 9},    {4, 13, 17, 33}, {2, 40, 50, 60}, {5, 1, 3, 1},
                         {9, 12, 8, 32},  {1, 37, 300, 41}};

class MatmulDTypeTest : public ::testing::TestWithParam<std::tuple<DType, int>> {
 protected:
  DType dtype() const { return std::get<0>(GetParam()); }
  ScopedThreads threads_{std::get<1>(GetParam())};
};

TEST_P(MatmulDTypeTest, Shapes) {
  uint64_t seed = 0;
  for (const Shape& s : kShapes) check_dtype(dtype(), s, Variant::kDense, {}, ++seed);
}

// Tiny cache blocks: every product crosses several mc, kc and nc block boundaries, so the
// accumulation across k blocks and partial blocks at every level are exercised.
TEST_P(MatmulDTypeTest, SmallBlocks) {
  const MatmulTuning tuning{.mc = 1, .kc = 5, .nc = 1};
  uint64_t seed = 100;
  for (const Shape& s :
       {Shape{1, 30, 23, 70}, Shape{2, 13, 11, 17}, Shape{1, 1, 40, 3}, Shape{3, 29, 4, 35}}) {
    check_dtype(dtype(), s, Variant::kDense, tuning, ++seed);
  }
  check_dtype(dtype(), {1, 50, 37, 90}, Variant::kDense, {.mc = 25, .kc = 9, .nc = 40}, 7);
}

TEST_P(MatmulDTypeTest, StridedOperands) {
  uint64_t seed = 200;
  for (Variant v : {Variant::kTransposedA, Variant::kTransposedB, Variant::kColumnMajorC,
                    Variant::kBroadcastA, Variant::kPaddedRows}) {
    for (const Shape& s : {Shape{1, 7, 13, 5}, Shape{2, 19, 35, 37}, Shape{1, 1, 9, 33}}) {
      check_dtype(dtype(), s, v, {}, ++seed);
    }
  }
}

TEST_P(MatmulDTypeTest, ZeroSizes) {
  for (const Shape& s : {Shape{1, 4, 0, 5}, Shape{3, 7, 0, 1}, Shape{1, 0, 4, 5}, Shape{1, 4, 5, 0},
                         Shape{0, 4, 5, 6}}) {
    check_dtype(dtype(), s);
  }
  check_dtype(dtype(), {2, 3, 0, 4}, Variant::kColumnMajorC);
}

INSTANTIATE_TEST_SUITE_P(AllDTypes, MatmulDTypeTest,
                         ::testing::Combine(::testing::ValuesIn(kAllDTypes),
                                            ::testing::Values(1, 2)),
                         [](const auto& info) {
                           return absl::StrFormat("%s_%dthreads",
                                                  std::string(name(std::get<0>(info.param))),
                                                  std::get<1>(info.param));
                         });

// Larger products across the default cache blocks (kc, mc and nc boundaries) and both
// threading schemes.
TEST(MatmulTest, LargeFloat) {
  for (int threads : {1, 2}) {
    ScopedThreads scoped(threads);
    check_dtype(float32, {1, 257, 520, 800});
    check_dtype(float64, {1, 130, 300, 270});
    check_dtype(float32, {2, 100, 260, 130}, Variant::kTransposedA);
    check_dtype(float32, {3, 70, 90, 100});
  }
}

TEST(MatmulTest, LargeInteger) {
  ScopedThreads scoped(2);
  check_dtype(int32, {1, 129, 300, 100});
  check_dtype(int64, {1, 70, 270, 90});
  check_dtype(int8, {2, 64, 260, 64});
}

TEST(MatmulTest, DenseOverload) {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};  // 2 x 3
  const std::vector<float> b = {1, 0, 0, 1, 1, 1};  // 3 x 2
  std::vector<float> c(4, -1);
  matmul(float32, a.data(), b.data(), c.data(), 1, 2, 3, 2);
  EXPECT_EQ(c, (std::vector<float>{4, 5, 10, 11}));
}

TEST(MatmulTest, Errors) {
  float x = 0;
  EXPECT_THROW(matmul(float32, &x, &x, &x, 1, -1, 1, 1), Error);
  EXPECT_THROW(matmul(float32, &x, &x, &x, -1, 1, 1, 1), Error);
  EXPECT_THROW(matmul(float32, MatmulOperand{&x, 1, 1, 1}, MatmulOperand{&x, 1, 1, 1},
                      MatmulResult{&x, 1, 1, 1}, 1, 1, 1, 1, {.mr = 3, .nr = 5, .lanes = 4}),
               Error);
  EXPECT_THROW(check_matmul_kernel_shape({0, 8, 8, 16}), Error);
  EXPECT_THROW(check_matmul_kernel_shape({4, 12, 8, 16}), Error);
  EXPECT_THROW(check_matmul_kernel_shape({32, 64, 16, 16}), Error);
  EXPECT_THROW(check_matmul_kernel_shape({4, 8, 8, 0}), Error);
  EXPECT_NO_THROW(check_matmul_kernel_shape({4, 8, 8, 1}));
}

// Other micro-kernel shapes than the host's default, through the whole driver: the AVX2 and
// SSE shapes on an AVX-512 host, odd row counts, one vector per row.
TEST(MatmulTest, KernelShapes) {
  const MatmulTuning shapes[] = {
      {.mr = 6, .nr = 16, .lanes = 8},   {.mr = 4, .nr = 8, .lanes = 4},
      {.mr = 5, .nr = 24, .lanes = 8},   {.mr = 1, .nr = 4, .lanes = 4},
      {.mr = 14, .nr = 32, .lanes = 16}, {.mr = 8, .nr = 64, .lanes = 16}};
  for (const MatmulTuning& tuning : shapes) {
    SCOPED_TRACE(absl::StrFormat("%dx%d lanes %d", tuning.mr, tuning.nr, tuning.lanes));
    for (DType dtype : {float32, float64, int32, int64, float16}) {
      check_dtype(dtype, {2, 23, 19, 70}, Variant::kDense, tuning);
    }
  }
}

TEST(MatmulKernelTest, EdgeShapes) {
  const MatmulKernelShape shape{12, 32, 16, 384};
  EXPECT_EQ(matmul_edge_shape(shape, 1, 32), (MatmulKernelShape{4, 32, 16, 384}));
  EXPECT_EQ(matmul_edge_shape(shape, 4, 32), (MatmulKernelShape{4, 32, 16, 384}));
  EXPECT_EQ(matmul_edge_shape(shape, 5, 17), (MatmulKernelShape{8, 32, 16, 384}));
  EXPECT_EQ(matmul_edge_shape(shape, 11, 16), (MatmulKernelShape{12, 16, 16, 384}));
  EXPECT_EQ(matmul_edge_shape(shape, 12, 1), (MatmulKernelShape{12, 16, 16, 384}));
  EXPECT_EQ(matmul_edge_shape({6, 16, 8, 384}, 3, 9), (MatmulKernelShape{4, 16, 8, 384}));
  EXPECT_EQ(matmul_edge_shape({4, 8, 4, 384}, 1, 3), (MatmulKernelShape{2, 4, 4, 384}));
  EXPECT_EQ(matmul_edge_shape({4, 8, 4, 384}, 3, 5), (MatmulKernelShape{4, 8, 4, 384}));
  EXPECT_THROW(matmul_edge_shape(shape, 0, 32), Error);
  EXPECT_THROW(matmul_edge_shape(shape, 13, 32), Error);
  EXPECT_THROW(matmul_edge_shape(shape, 12, 33), Error);
}

// Several user threads multiply at once (they take turns on the pool), and a matmul inside a
// parallel_for chunk runs inline on that chunk's thread.
TEST(MatmulTest, ConcurrentAndNested) {
  ScopedThreads scoped(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      check_dtype(t % 2 == 0 ? float32 : int16, {2, 61, 70, 45}, Variant::kDense, {},
                  static_cast<uint64_t>(t));
    });
  }
  for (std::thread& thread : threads) thread.join();

  constexpr int64_t kBatch = 6, kN = 20;
  std::vector<float> a(kBatch * kN * kN), b(a.size()), c(a.size()), expected(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<float>(i % 7) - 3;
    b[i] = static_cast<float>(i % 5) - 2;
  }
  matmul(float32, a.data(), b.data(), expected.data(), kBatch, kN, kN, kN);
  runtime::parallel_for(0, kBatch, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t at = p * kN * kN;
      matmul(float32, a.data() + at, b.data() + at, c.data() + at, 1, kN, kN, kN);
    }
  });
  EXPECT_EQ(c, expected);  // small integers: exact in any order
}

// The micro-kernel alone: random panels, k around the unroll factor, both store modes.
TEST(MatmulKernelTest, AgainstNaive) {
  std::mt19937_64 rng(5);
  for (MatmulCompute compute : {MatmulCompute::kFloat32, MatmulCompute::kFloat64,
                                MatmulCompute::kInt32, MatmulCompute::kInt64}) {
    const MatmulMicroKernel kernel = matmul_micro_kernel(compute);
    const auto [mr, nr, lanes, a_stride] = kernel.shape;
    SCOPED_TRACE(absl::StrFormat("%s %dx%d", matmul_compute_name(compute), mr, nr));
    ASSERT_EQ(kernel.shape, default_matmul_kernel_shape(compute));
    auto run = [&]<class T>(T) {
      for (int64_t k : {0, 1, 3, 4, 5, 8, 9, 31}) {
        // 64-byte aligned panels, C with a row stride wider than the tile.
        std::vector<T> a(static_cast<size_t>(mr * a_stride)), c(static_cast<size_t>(mr * (nr + 3)));
        std::vector<T> b_storage(static_cast<size_t>(nr * k + 64 / sizeof(T)));
        T* b = b_storage.data();
        while (reinterpret_cast<uintptr_t>(b) % 64 != 0) ++b;
        for (T& x : a) x = static_cast<T>(static_cast<int>(rng() % 19) - 9);
        for (int64_t i = 0; i < nr * k; ++i)
          b[i] = static_cast<T>(static_cast<int>(rng() % 19) - 9);
        for (int64_t accumulate : {0, 1}) {
          for (T& x : c) x = static_cast<T>(static_cast<int>(rng() % 7));
          const std::vector<T> before = c;
          kernel.fn(k, a.data(), b, c.data(), nr + 3, accumulate);
          for (int i = 0; i < mr; ++i) {
            for (int j = 0; j < nr + 3; ++j) {
              T expected = before[static_cast<size_t>(i * (nr + 3) + j)];
              if (j < nr) {
                if (!accumulate) expected = 0;
                for (int64_t p = 0; p < k; ++p) expected += a[i * a_stride + p] * b[p * nr + j];
              }
              ASSERT_EQ(c[static_cast<size_t>(i * (nr + 3) + j)], expected)
                  << "k " << k << " accumulate " << accumulate << " at " << i << "," << j;
            }
          }
        }
      }
    };
    switch (compute) {
      case MatmulCompute::kFloat32:
        run(float{});
        break;
      case MatmulCompute::kFloat64:
        run(double{});
        break;
      case MatmulCompute::kInt32:
        run(int32_t{});
        break;
      case MatmulCompute::kInt64:
        run(int64_t{});
        break;
    }
  }
}

// A printed measurement, not an assertion (run with --gtest_also_run_disabled_tests):
// float32 GFLOP/s of square products, best of several runs, at 1 and 2 threads.
TEST(MatmulBenchmark, DISABLED_Float32Gflops) {
  using Clock = std::chrono::steady_clock;
  for (int threads : {1, 2}) {
    ScopedThreads scoped(threads);
    for (int64_t n : {64, 256, 512, 1024, 2048}) {
      std::vector<float> a(static_cast<size_t>(n * n)), b(a.size()), c(a.size());
      std::mt19937_64 rng(1);
      for (float& x : a) x = std::uniform_real_distribution<float>(-1, 1)(rng);
      for (float& x : b) x = std::uniform_real_distribution<float>(-1, 1)(rng);
      const int reps = n <= 256 ? 200 : n <= 1024 ? 20 : 5;
      double best = 1e30;
      for (int r = 0; r < reps; ++r) {
        const auto start = Clock::now();
        matmul(float32, a.data(), b.data(), c.data(), 1, n, n, n);
        best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
      }
      std::cout << absl::StrFormat("matmul float32 %4d^3, %d threads: %7.1f GFLOP/s\n", n, threads,
                                   2.0 * n * n * n / best * 1e-9);
    }
  }
}

}  // namespace
}  // namespace kiln::backends::cpu
