// Random numbers on CUDA devices, drawn as PyTorch draws them: the kernels restate ATen's
// distribution_nullary_kernel (aten/src/ATen/native/cuda/DistributionTemplates.h) over curand's
// Philox4x32-10, so after manual_seed(s) rand / randn / randint / uniform_ / normal_ on cuda:N
// give PyTorch's numbers bit for bit (normal: see below).
//
// The scheme (random_launch): 256-thread blocks, a grid of min(ceil(n / 256), SMs * (max
// threads per SM / 256)) blocks, and an offset increment of 4 * ceil(n / (threads * unroll)) per
// launch. Thread t starts Philox at counter (offset / 4, t) under key seed (curand_init(seed,
// t, offset)); its k-th engine call is the Philox block of counter (offset / 4 + k, t). Each
// call yields `unroll` values (4 floats or 32-bit integers, 2 doubles or 64-bit integers) for
// the elements i, i + T, ..., i + (unroll - 1) T of a grid-stride loop of stride T * unroll
// (T the thread count), so the values an element receives depend on the grid, hence on the GPU.
//
// The modules compile with --fmad=true, as nvcc compiles PyTorch: every multiply-add nvcc
// contracts is written as an explicit fma, and libdevice's log (double) contracts as in
// PyTorch's build. The normal kernels use __sincosf / sincospi as curand does; those (and
// logf/log) are reproduced on the host only within a few ulps.
#pragma once

#include <cstdint>
#include <string>

#include "kiln/ir/dtype.h"
#include "kiln/runtime/philox.h"

namespace kiln::backends::cuda {

enum class RandomKind {
  kUniform,       // uniform_(from, to): a = from, b = to, c = to - from (runtime::uniform_bounds)
  kNormal,        // normal_(mean, std): a = mean, b = std
  kRandomFromTo,  // random_(low, high): low + bits % range (runtime::random_from_to_range)
  kBernoulli,     // bernoulli_(p): a = p (floating dtypes)
};

// One fill of a contiguous buffer of `dtype`.
struct RandomFill {
  RandomKind kind = RandomKind::kUniform;
  DType dtype = float32;
  double a = 0, b = 0, c = 0;
  int64_t low = 0;
  uint64_t range = 1;
};

// The engine call a fill makes per loop step, as PyTorch chooses it.
enum class RandomDraw {
  kUniform4,        // curand_uniform4: 4 floats in (0, 1]
  kUniform2Double,  // curand_uniform2_double: 2 doubles in (0, 1]
  kNormal4,         // curand_normal4: 4 floats, Box-Muller
  kNormal2Double,   // curand_normal2_double: 2 doubles, Box-Muller
  kBits4,           // curand4: 4 32-bit integers (random_ with range < 2^28)
  kBits2x64,        // curand4 as 2 64-bit integers (range >= 2^28)
};
RandomDraw random_draw(const RandomFill& fill);
// Values per engine call (PyTorch's unroll factor): 4 or 2.
int random_unroll(RandomDraw draw);

// PyTorch's calc_execution_policy.
struct RandomLaunch {
  unsigned grid = 0;
  unsigned block = 0;
  uint64_t counter_offset = 0;  // the generator's increment (philox_cuda_state's argument)
};
RandomLaunch random_launch(int64_t numel, int unroll, int multiprocessors,
                           int max_threads_per_multiprocessor);

// The CUDA C source of the kernel of (kind, dtype, draw), with function random_kernel_symbol.
// Its one parameter is RandomParams (random_kernels.cpp). Throws kiln::Error for a dtype the
// kind does not take (floating kinds take float32/float64/float16/bfloat16).
std::string random_kernel_source(RandomKind kind, DType dtype, RandomDraw draw);
std::string random_kernel_symbol(RandomKind kind, DType dtype, RandomDraw draw);

// Fills `numel` elements (spanning less than 2 GiB) at device address `out` on cuda:index,
// asynchronously on the default stream, drawing from runtime::cuda_generator(index). Returns the
// state it used.
runtime::PhiloxState fill_random(int index, void* out, int64_t numel, const RandomFill& fill);

}  // namespace kiln::backends::cuda
