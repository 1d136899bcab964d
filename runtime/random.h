// The CPU random number generator: after manual_seed(s), rand / randn / randint draw exactly the
// numbers PyTorch 1.13's CPU generator draws (same engine, same transforms, same code paths).
//
// The runtime layer knows no DType, so the fill functions are templates over the element type:
// float, double, kiln::Half, kiln::BFloat16 (floating) and int8_t, int16_t, int32_t, int64_t,
// uint8_t (integer; fill_random_from_to only).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>

namespace kiln::runtime {

// The 32-bit Mersenne Twister (Matsumoto & Nishimura 1998, 2002 initialisation): the same
// stream as std::mt19937, which PyTorch also reimplements.
class Mt19937 {
 public:
  explicit Mt19937(uint32_t seed);
  uint32_t operator()();

 private:
  static constexpr int kStateSize = 624;
  void regenerate_state();

  std::array<uint32_t, kStateSize> state_;
  int next_index_;
};

// PyTorch's CPUGeneratorImpl: an mt19937 seeded with the low 32 bits of the seed, plus the second
// Box-Muller sample kept for the next scalar normal draw.
//
// Nothing here locks, the fill functions below included: whoever may share the generator between
// threads holds mutex() around manual_seed and each whole fill (PyTorch's kernels hold it for
// the whole fill too, so a fill's numbers never interleave with another's).
class Generator {
 public:
  static constexpr uint64_t kDefaultSeed = 67280421310721ULL;  // torch.Generator()'s seed

  explicit Generator(uint64_t seed = kDefaultSeed);
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // Restarts the engine from `seed` and forgets the cached normal samples (torch.manual_seed).
  // A negative Python seed arrives here as its two's-complement uint64, as in PyTorch.
  void manual_seed(uint64_t seed);
  // Reseeds from std::random_device and returns the new seed (torch.seed()).
  uint64_t seed_nondeterministically();
  // The full 64-bit seed last given, although the engine only uses its low 32 bits.
  uint64_t initial_seed() const { return seed_; }

  uint32_t random() { return engine_(); }
  // Two draws, the first in the high half.
  uint64_t random64();

  // Box-Muller produces two normals; the scalar path returns one and keeps the other here. PyTorch
  // keeps one slot per precision; CPU randn only uses the double one.
  std::optional<double>& cached_double_normal() { return next_double_normal_; }
  std::optional<float>& cached_float_normal() { return next_float_normal_; }

  std::mutex& mutex() { return mutex_; }

 private:
  uint64_t seed_;
  Mt19937 engine_;
  std::optional<double> next_double_normal_;
  std::optional<float> next_float_normal_;
  std::mutex mutex_;
};

// The process-wide generator behind torch.rand & co. Like PyTorch's, it starts from a
// non-deterministic seed; call manual_seed for reproducible numbers.
Generator& default_cpu_generator();

// torch.rand / Tensor.uniform_(from, to) on n elements. Floating T only. Throws kiln::Error on
// the bounds PyTorch rejects (from > to, from or to outside T, to - from overflowing T).
template <class T>
void fill_uniform(Generator& generator, T* data, int64_t n, double from, double to);

// torch.randn / Tensor.normal_(mean, std) on a contiguous buffer of n elements. Floating T only.
// As in PyTorch, 16 or more elements take the vectorised Box-Muller fill (for float, a bit-exact
// scalar replay of PyTorch's AVX2 kernel), fewer take the scalar path with the cached sample.
// Throws kiln::Error when std < 0.
template <class T>
void fill_normal(Generator& generator, T* data, int64_t n, double mean, double std);

// Tensor.normal_ on a tensor that is not contiguous: PyTorch then draws every element through the
// scalar path whatever the size. `data` holds the elements in the order they are visited.
template <class T>
void fill_normal_noncontiguous(Generator& generator, T* data, int64_t n, double mean, double std);

// uniform_(from, to)'s bounds as PyTorch prepares them for T: checked (kiln::Error with PyTorch's
// messages), rounded to T, and their difference rounded to T; each value is exact in T. The
// CUDA kernels (backends/cuda/random_kernels.h) take these.
struct UniformBounds {
  double from = 0, to = 0, width = 0;
};
template <class T>
UniformBounds uniform_bounds(double from, double to);

// random_(low, high)'s range for T, checked and (floating T) tightened as PyTorch does: the
// values are low + bits % range.
struct IntegerRange {
  int64_t low = 0;
  uint64_t range = 0;
};
template <class T>
IntegerRange random_from_to_range(int64_t low, int64_t high);

// torch.randint(low, high) / Tensor.random_(low, high): integers in [low, high), stored as T (any
// of the types above; floating T receives the integer values). Throws kiln::Error when high <= low
// or when the range does not fit T, with PyTorch's messages.
template <class T>
void fill_random_from_to(Generator& generator, T* data, int64_t n, int64_t low, int64_t high);

}  // namespace kiln::runtime
