// A host restatement of the CUDA random kernels (random_kernels.h): the same grid, the same
// per-thread Philox counters, curand's conversions and ATen's transforms, element by element.
// Uniform, integer and Bernoulli values are exact; normal values use the host's
// logf/sqrtf/sinf/cosf (log/sin/cos for double) where the device uses libdevice and __sincosf /
// sincospi, so they agree only within a few ulps. It is the oracle of the device random tests,
// and it fills random tensors on the emulated CUDA device (runtime/cuda/emulated_driver.h).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kiln/backends/cuda/random_kernels.h"
#include "kiln/runtime/half.h"
#include "kiln/runtime/philox.h"

namespace kiln::backends::cuda::random_host {

// The engine call `call` (0, 1, ...) of thread `thread` after curand_init(seed, thread, offset).
inline std::array<uint32_t, 4> philox_call(const runtime::PhiloxState& state, uint64_t thread,
                                           uint64_t call) {
  const uint64_t counter = state.offset / 4 + call;
  return runtime::philox4x32_10(
      {static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32),
       static_cast<uint32_t>(thread), static_cast<uint32_t>(thread >> 32)},
      {static_cast<uint32_t>(state.seed), static_cast<uint32_t>(state.seed >> 32)});
}

inline float unit_float(uint32_t x) { return std::fma(static_cast<float>(x), 0x1p-32f, 0x1p-33f); }
inline double unit_double(uint32_t x, uint32_t y) {
  const uint64_t z = static_cast<uint64_t>(x) ^ (static_cast<uint64_t>(y) << 21);
  return std::fma(static_cast<double>(z), 0x1p-53, 0x1p-54);
}

// float -> the dtype's value, widened back to double (round to nearest even).
inline double round_to(DType dtype, double v) {
  if (dtype == float16) return static_cast<float>(Half(static_cast<float>(v)));
  if (dtype == bfloat16) return static_cast<float>(BFloat16(static_cast<float>(v)));
  if (dtype == float32) return static_cast<float>(v);
  return v;
}

// int64 -> the dtype, as ATen's static_cast<scalar_t>(int64_t), as int64 (integers) or double.
inline double int_to(DType dtype, int64_t v) {
  if (dtype == float64) return static_cast<double>(v);
  if (is_floating_point(dtype)) return round_to(dtype, static_cast<double>(static_cast<float>(v)));
  if (dtype == int8) return static_cast<int8_t>(v);
  if (dtype == int16) return static_cast<int16_t>(v);
  if (dtype == int32) return static_cast<int32_t>(v);
  if (dtype == uint8) return static_cast<uint8_t>(v);
  if (dtype == boolean) return v != 0 ? 1 : 0;
  return static_cast<double>(v);
}

// The raw values one engine call yields (as double; 64-bit integers in `wide`).
struct Draw {
  double v[4] = {};
  uint64_t wide[2] = {};
};

inline Draw draw(RandomDraw kind, const std::array<uint32_t, 4>& x) {
  Draw d;
  switch (kind) {
    case RandomDraw::kUniform4:
      for (int i = 0; i < 4; ++i) d.v[i] = unit_float(x[i]);
      break;
    case RandomDraw::kUniform2Double:
      d.v[0] = unit_double(x[0], x[1]);
      d.v[1] = unit_double(x[2], x[3]);
      break;
    case RandomDraw::kNormal4:
      for (int pair = 0; pair < 2; ++pair) {
        const float scale = 2.3283064e-10f * 6.2831855f;
        const float u = unit_float(x[2 * pair]);
        const float v = std::fma(static_cast<float>(x[2 * pair + 1]), scale, scale / 2);
        const float s = std::sqrt(-2.0f * std::log(u));
        d.v[2 * pair] = std::sin(v) * s;
        d.v[2 * pair + 1] = std::cos(v) * s;
      }
      break;
    case RandomDraw::kNormal2Double: {
      const double u = unit_double(x[0], x[1]);
      const uint64_t zy = static_cast<uint64_t>(x[2]) ^ (static_cast<uint64_t>(x[3]) << 21);
      const double v = std::fma(static_cast<double>(zy), 0x1p-52, 0x1p-53);
      const double s = std::sqrt(-2.0 * std::log(u));
      d.v[0] = std::sin(v * 3.14159265358979323846) * s;
      d.v[1] = std::cos(v * 3.14159265358979323846) * s;
      break;
    }
    case RandomDraw::kBits4:
      for (int i = 0; i < 4; ++i) d.v[i] = x[i];
      break;
    case RandomDraw::kBits2x64:
      d.wide[0] = (static_cast<uint64_t>(x[0]) << 32) | x[1];
      d.wide[1] = (static_cast<uint64_t>(x[2]) << 32) | x[3];
      break;
  }
  return d;
}

// ATen's transform of one raw value into element `e`'s value (widened to double).
inline double transform(const RandomFill& f, RandomDraw kind, const Draw& d, int ii) {
  const bool f32 = kind == RandomDraw::kUniform4 || kind == RandomDraw::kNormal4;
  switch (f.kind) {
    case RandomKind::kUniform: {
      const double value =
          f32 ? round_to(f.dtype, std::fma(static_cast<float>(d.v[ii]), static_cast<float>(f.c),
                                           static_cast<float>(f.a)))
              : std::fma(d.v[ii], f.c, f.a);
      return value == f.b ? f.a : value;
    }
    case RandomKind::kNormal:
      return f32 ? round_to(f.dtype, std::fma(static_cast<float>(d.v[ii]), static_cast<float>(f.b),
                                              static_cast<float>(f.a)))
                 : std::fma(d.v[ii], f.b, f.a);
    case RandomKind::kRandomFromTo: {
      const uint64_t bits =
          kind == RandomDraw::kBits2x64 ? d.wide[ii] : static_cast<uint64_t>(d.v[ii]);
      return int_to(f.dtype, static_cast<int64_t>(bits % f.range + static_cast<uint64_t>(f.low)));
    }
    case RandomKind::kBernoulli:
      return f32 ? (static_cast<float>(d.v[ii]) < static_cast<float>(f.a) ? 1 : 0)
                 : (d.v[ii] < f.a ? 1 : 0);
  }
  return 0;
}

// Integer results exactly (int64 values that a double cannot hold): as transform, for
// kRandomFromTo into int64.
inline int64_t transform_int64(const RandomFill& f, RandomDraw kind, const Draw& d, int ii) {
  const uint64_t bits = kind == RandomDraw::kBits2x64 ? d.wide[ii] : static_cast<uint64_t>(d.v[ii]);
  return static_cast<int64_t>(bits % f.range + static_cast<uint64_t>(f.low));
}

// Every element of a fill of `numel` elements launched with `grid` blocks of 256 threads from
// `state`: the kernel's grid-stride loop, run thread by thread.
template <class Value, class Transform>
std::vector<Value> emulate_with(const RandomFill& fill, int64_t numel, unsigned grid,
                                const runtime::PhiloxState& state, Transform&& t) {
  const RandomDraw kind = random_draw(fill);
  const int unroll = random_unroll(kind);
  const int64_t threads = int64_t{256} * grid;
  const int64_t step = threads * unroll;
  const int64_t rounded = ((numel - 1) / step + 1) * step;
  std::vector<Value> out(static_cast<size_t>(numel));
  for (int64_t thread = 0; thread < threads; ++thread) {
    uint64_t call = 0;
    for (int64_t li = thread; li < rounded; li += step) {
      const Draw d = draw(kind, philox_call(state, static_cast<uint64_t>(thread), call++));
      for (int ii = 0; ii < unroll; ++ii) {
        const int64_t e = li + threads * ii;
        if (e < numel) out[static_cast<size_t>(e)] = t(fill, kind, d, ii);
      }
    }
  }
  return out;
}

inline std::vector<double> emulate(const RandomFill& fill, int64_t numel, unsigned grid,
                                   const runtime::PhiloxState& state) {
  return emulate_with<double>(fill, numel, grid, state, transform);
}
inline std::vector<int64_t> emulate_int64(const RandomFill& fill, int64_t numel, unsigned grid,
                                          const runtime::PhiloxState& state) {
  return emulate_with<int64_t>(fill, numel, grid, state, transform_int64);
}

}  // namespace kiln::backends::cuda::random_host
