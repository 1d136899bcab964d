// Helpers for the CPU backend's differential tests: graphs built with Graph::add, input data
// with the values that break sloppy code (signed zeros, NaN, infinities, half-way cases,
// subnormals, values outside the integer ranges), and a comparison of every output of the
// CpuBackend with the reference interpreter's, element by element on the stored bits.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kiln/backends/cpu/cpu_backend.h"
#include "kiln/backends/cpu/jit.h"
#include "kiln/backends/cpu/kernel_cache.h"
#include "kiln/backends/interp/interpreter.h"
#include "kiln/ir/graph.h"
#include "kiln/runtime/buffer.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"
#include "kiln/runtime/thread_pool.h"

namespace kiln::backends::cpu::testing {

using ir::Graph;
using ir::Op;
using ir::TensorType;
using ir::ValueId;

// Graph::add that throws: a test graph that does not type-check is a bug in the test.
inline ValueId add(Graph& g, Op op, std::vector<ValueId> inputs, ir::Attrs attrs = ir::NoAttrs{}) {
  auto id = g.add(op, inputs, std::move(attrs));
  if (!id.ok()) throw std::runtime_error(id.status().ToString());
  return *id;
}

enum class Data {
  kSpecial,    // special values mixed with random ones in [-20, 20] (ints: wide range)
  kSmallInts,  // integers in [-3, 3] (bool: 0/1): many ties, for argmax/argmin and where
  kPositive,   // floats in (0, 4], ints in [1, 9], bools true
  kModerate,   // kSpecial without float magnitudes above 65520 (NaN and infinities stay):
               // sums that do not cancel catastrophically, so the order of additions that
               // lanes (codegen_reduce.cpp) change cannot matter beyond rounding
};

inline const std::vector<double>& special_floats() {
  static const std::vector<double> values = {0.0,
                                             -0.0,
                                             1.0,
                                             -1.0,
                                             0.5,
                                             -0.5,
                                             1.5,
                                             2.5,
                                             -2.5,
                                             3.7,
                                             -3.7,
                                             1e-3,
                                             100.0,
                                             -100.0,
                                             65504.0,
                                             65520.0,
                                             1e5,
                                             3e9,
                                             -3e9,
                                             1e19,
                                             -1e19,
                                             1e-7,
                                             6e-8,
                                             1e-40,
                                             127.5,
                                             255.5,
                                             -128.5,
                                             1.0 / 3.0,
                                             1e30,
                                             -1e30,
                                             std::numeric_limits<double>::infinity(),
                                             -std::numeric_limits<double>::infinity(),
                                             std::numeric_limits<double>::quiet_NaN()};
  return values;
}

inline const std::vector<int64_t>& special_ints() {
  static const std::vector<int64_t> values = {0,
                                              1,
                                              -1,
                                              2,
                                              -2,
                                              7,
                                              -7,
                                              100,
                                              -100,
                                              127,
                                              -128,
                                              128,
                                              255,
                                              256,
                                              32767,
                                              -32768,
                                              65535,
                                              2147483647,
                                              -2147483648LL,
                                              4294967295LL,
                                              (int64_t{1} << 40) + 3,
                                              std::numeric_limits<int64_t>::max(),
                                              std::numeric_limits<int64_t>::min()};
  return values;
}

// n elements of `dtype`, reproducible from `seed`.
inline BufferPtr make_data(DType dtype, int64_t n, uint32_t seed, Data kind = Data::kSpecial) {
  std::mt19937 rng(seed);
  const size_t size = itemsize(dtype);
  BufferPtr buffer = runtime::Buffer::allocate(static_cast<size_t>(n) * size);
  auto* out = static_cast<unsigned char*>(buffer->data());
  auto pick = [&](size_t count) { return static_cast<size_t>(rng() % count); };
  for (int64_t i = 0; i < n; ++i) {
    unsigned char bytes[8] = {};
    if (is_floating_point(dtype)) {
      double v = 0;
      if (kind == Data::kSmallInts) {
        v = static_cast<double>(static_cast<int>(pick(7)) - 3);
      } else if (kind == Data::kPositive) {
        v = 4.0 * (static_cast<double>(rng() % 1000000) + 1.0) / 1000000.0;
      } else if (pick(10) < 3) {
        v = special_floats()[pick(special_floats().size())];
        if (kind == Data::kModerate && std::fabs(v) > 65520.0 && std::isfinite(v)) v = 0.25;
      } else {
        v = -20.0 + 40.0 * static_cast<double>(rng()) / 4294967296.0;
      }
      const float f = static_cast<float>(v);
      if (dtype == float64) {
        std::memcpy(bytes, &v, 8);
      } else if (dtype == float32) {
        std::memcpy(bytes, &f, 4);
      } else {
        const uint16_t h = dtype == float16 ? Half::from_float(f) : BFloat16::from_float(f);
        std::memcpy(bytes, &h, 2);
      }
    } else if (dtype == boolean) {
      bytes[0] = kind == Data::kPositive ? 1 : static_cast<unsigned char>(pick(2));
    } else {
      int64_t v = 0;
      if (kind == Data::kSmallInts) {
        v = static_cast<int64_t>(pick(7)) - 3;
      } else if (kind == Data::kPositive) {
        v = static_cast<int64_t>(pick(9)) + 1;
      } else if (pick(10) < 3) {
        v = special_ints()[pick(special_ints().size())];
      } else {
        v = static_cast<int64_t>(pick(2001)) - 1000;
      }
      std::memcpy(bytes, &v, 8);  // little endian: the low bytes are the truncation
    }
    std::memcpy(out + static_cast<size_t>(i) * size, bytes, size);
  }
  return buffer;
}

// Restores the pool size on scope exit.
class ThreadCount {
 public:
  explicit ThreadCount(int n) : old_(runtime::num_threads()) { runtime::set_num_threads(n); }
  ~ThreadCount() { runtime::set_num_threads(old_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int old_;
};

// Allowed differences between two floating outputs: within `ulps` units in the last place of
// the stored dtype, or within `relative` of max(1, |expected|). Integers and bool are exact.
struct Tolerance {
  int64_t ulps = 0;
  double relative = 0.0;
};
// libmvec's vector exp/log/sin/cos/pow are within 4 ulp of libm's correctly rounded scalars.
inline constexpr Tolerance kTranscendental{4, 0.0};
// Floating sums: double accumulation in another order than the interpreter's pairwise tree.
inline constexpr Tolerance kFloatSum{1, 1e-6};

inline bool float_bits(DType dtype, const unsigned char* p, int64_t* ordered, double* value) {
  // Maps the bit pattern onto a line where adjacent floats are adjacent integers.
  auto order = [](uint64_t bits, int width) {
    const uint64_t sign = uint64_t{1} << (width - 1);
    const uint64_t magnitude = bits & (sign - 1);
    return (bits & sign) != 0 ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
  };
  if (dtype == float64) {
    uint64_t b;
    std::memcpy(&b, p, 8);
    std::memcpy(value, &b, 8);
    *ordered = order(b, 64);
  } else if (dtype == float32) {
    uint32_t b;
    float f;
    std::memcpy(&b, p, 4);
    std::memcpy(&f, p, 4);
    *value = f;
    *ordered = order(b, 32);
  } else {
    uint16_t b;
    std::memcpy(&b, p, 2);
    *value = dtype == float16 ? Half::to_float(b) : BFloat16::to_float(b);
    *ordered = order(b, 16);
  }
  return std::isnan(*value);
}

// "" when `got` matches `want` within the tolerance, else the first differences.
inline std::string compare_buffers(DType dtype, const BufferPtr& want, const BufferPtr& got,
                                   Tolerance tol) {
  if (want->nbytes() != got->nbytes())
    return "sizes differ: " + std::to_string(want->nbytes()) + " vs " +
           std::to_string(got->nbytes());
  const size_t size = itemsize(dtype);
  const auto* w = static_cast<const unsigned char*>(want->data());
  const auto* g = static_cast<const unsigned char*>(got->data());
  std::ostringstream report;
  report.precision(17);
  int reported = 0;
  for (size_t i = 0; i < want->nbytes() / size && reported < 5; ++i) {
    const unsigned char* a = w + i * size;
    const unsigned char* b = g + i * size;
    if (std::memcmp(a, b, size) == 0) continue;
    if (!is_floating_point(dtype)) {
      int64_t x = 0, y = 0;
      std::memcpy(&x, a, size);
      std::memcpy(&y, b, size);
      report << "  element " << i << ": interpreter bytes " << x << ", cpu " << y << "\n";
      ++reported;
      continue;
    }
    int64_t oa = 0, ob = 0;
    double va = 0, vb = 0;
    const bool nan_a = float_bits(dtype, a, &oa, &va);
    const bool nan_b = float_bits(dtype, b, &ob, &vb);
    if (nan_a && nan_b) continue;  // NaN payloads are not specified by IEEE
    if (!nan_a && !nan_b) {
      const int64_t ulps = oa > ob ? oa - ob : ob - oa;
      if (tol.ulps > 0 && ulps <= tol.ulps) continue;
      if (tol.relative > 0 && std::isfinite(va) &&
          std::fabs(va - vb) <= tol.relative * std::max(1.0, std::fabs(va)))
        continue;
    }
    report << "  element " << i << ": interpreter " << va << ", cpu " << vb << "\n";
    ++reported;
  }
  return report.str();
}

// "" when the buffers hold the same bits, except that any NaN matches any NaN: which operand's
// NaN an instruction passes on, and so its sign and payload, depends on the instructions the
// code generator picked (AVX2 and AVX-512 builds of one kernel differ), and IEEE leaves it open.
inline std::string compare_bits(DType dtype, const BufferPtr& want, const BufferPtr& got) {
  return compare_buffers(dtype, want, got, Tolerance{});
}

// The kernel cache of these tests: memory only (no disk, so kernels compiled by an older build
// of the code generator are never loaded), and not KernelCache::instance(), whose creation
// other tests of this binary observe.
inline KernelCache& test_cache() {
  static KernelCache* const cache = new KernelCache(std::nullopt, Jit::instance());
  return *cache;
}

// Runs `g` on the interpreter and on `cpu` and expects every output to match.
inline void expect_matches_interpreter(Backend& cpu, const Graph& g,
                                       const std::vector<BufferPtr>& inputs, Tolerance tol = {},
                                       const std::string& what = "") {
  interp::Interpreter interpreter;
  const std::vector<BufferPtr> want = interpreter.run(g, inputs);
  const std::vector<BufferPtr> got = cpu.run(g, inputs);
  ASSERT_EQ(want.size(), got.size());
  for (size_t o = 0; o < want.size(); ++o) {
    const DType dtype = g.node(g.outputs()[o]).type.dtype;
    const std::string diff = compare_buffers(dtype, want[o], got[o], tol);
    EXPECT_TRUE(diff.empty()) << what << " output " << o << " (" << dtype << "):\n"
                              << diff << "graph:\n"
                              << ir::to_string(g);
  }
}

// The same on a CpuBackend of its own over test_cache().
inline void expect_matches_interpreter(const Graph& g, const std::vector<BufferPtr>& inputs,
                                       Tolerance tol = {}, const std::string& what = "") {
  CpuBackend cpu(test_cache());
  expect_matches_interpreter(cpu, g, inputs, tol, what);
}

}  // namespace kiln::backends::cpu::testing
