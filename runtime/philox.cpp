#include "kiln/runtime/philox.h"

#include <map>
#include <memory>
#include <optional>
#include <random>

namespace kiln::runtime {

namespace {

constexpr uint32_t kMultiplier0 = 0xD2511F53u;
constexpr uint32_t kMultiplier1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;  // the golden ratio's fraction
constexpr uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1

std::array<uint32_t, 4> round(const std::array<uint32_t, 4>& c, const std::array<uint32_t, 2>& k) {
  const uint64_t p0 = static_cast<uint64_t>(kMultiplier0) * c[0];
  const uint64_t p1 = static_cast<uint64_t>(kMultiplier1) * c[2];
  const auto hi = [](uint64_t p) { return static_cast<uint32_t>(p >> 32); };
  const auto lo = [](uint64_t p) { return static_cast<uint32_t>(p); };
  return {hi(p1) ^ c[1] ^ k[0], lo(p1), hi(p0) ^ c[3] ^ k[1], lo(p0)};
}

struct Registry {
  std::mutex mutex;
  std::map<int, std::unique_ptr<PhiloxGenerator>> generators;
  std::optional<uint64_t> seed;  // the last seed_cuda_generators
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: generators outlive other statics
  return *r;
}

}  // namespace

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter,
                                      std::array<uint32_t, 2> key) {
  for (int i = 0; i < 10; ++i) {
    if (i > 0) {
      key[0] += kWeyl0;
      key[1] += kWeyl1;
    }
    counter = round(counter, key);
  }
  return counter;
}

PhiloxGenerator& cuda_generator(int index) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::unique_ptr<PhiloxGenerator>& g = r.generators[index];
  if (g == nullptr) {
    uint64_t seed = 0;
    if (r.seed) {
      seed = *r.seed;
    } else {
      std::random_device device;
      seed = (static_cast<uint64_t>(device()) << 32) | device();
    }
    g = std::make_unique<PhiloxGenerator>(seed);
  }
  return *g;
}

void seed_cuda_generators(uint64_t seed) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.seed = seed;
  for (auto& [index, g] : r.generators) {
    std::lock_guard<std::mutex> g_lock(g->mutex());
    g->manual_seed(seed);
  }
}

}  // namespace kiln::runtime
