// The CUDA random number generator: Philox4x32-10 (Salmon et al., "Parallel random numbers: as
// easy as 1, 2, 3", SC 2011) with PyTorch's CUDAGeneratorImpl state, a 64-bit seed and a
// running offset, one generator per CUDA device.
//
// A kernel that draws random numbers asks its device's generator for `increment` numbers per
// thread (philox_state below): it gets the current (seed, offset) and the offset advances by the
// increment rounded up to a multiple of 4, exactly as PyTorch's philox_cuda_state does, so after
// manual_seed(s) every draw starts where PyTorch's would. The kernels themselves live in
// backends/cuda/random_kernels.h; this layer needs no GPU.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

namespace kiln::runtime {

// One Philox4x32-10 block: ten rounds of the 4x32 bijection of `counter` under `key` (the key
// bumped by the Weyl constants between rounds). This is curand's curand_Philox4x32_10 and
// Random123's philox4x32(10); the generated CUDA kernels restate it.
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// The (seed, offset) a kernel launch starts from: thread t's curand_init(seed, t, offset).
struct PhiloxState {
  uint64_t seed = 0;
  uint64_t offset = 0;
};

// PyTorch's CUDAGeneratorImpl outside CUDA-graph capture. Nothing locks: hold mutex() around
// manual_seed and philox_state when the generator may be shared between threads.
class PhiloxGenerator {
 public:
  explicit PhiloxGenerator(uint64_t seed) : seed_(seed) {}
  PhiloxGenerator(const PhiloxGenerator&) = delete;
  PhiloxGenerator& operator=(const PhiloxGenerator&) = delete;

  // torch.cuda.manual_seed: the new seed, offset back to 0.
  void manual_seed(uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
  }
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }

  // The state for a launch whose threads each consume up to `increment` 32-bit numbers; the
  // offset then advances by the increment rounded up to a multiple of 4 (PyTorch keeps offsets
  // multiples of 4 so that every curand4 call starts a fresh Philox block).
  PhiloxState philox_state(uint64_t increment) {
    const PhiloxState state{seed_, offset_};
    offset_ += (increment + 3) / 4 * 4;
    return state;
  }

  std::mutex& mutex() { return mutex_; }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
  std::mutex mutex_;
};

// The default generator of cuda:index, made at the first request. Like PyTorch's, it starts
// from a non-deterministic seed, unless seed_cuda_generators ran before: then from that seed
// (torch.manual_seed seeds devices that CUDA has not initialised yet lazily, to the same effect).
PhiloxGenerator& cuda_generator(int index);

// torch.cuda.manual_seed_all: every device's generator (present and future) restarts from
// `seed` at offset 0.
void seed_cuda_generators(uint64_t seed);

}  // namespace kiln::runtime
