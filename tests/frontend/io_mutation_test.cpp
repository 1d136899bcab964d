// A deterministic mutation fuzzer over the loaders, run in the normal suite (and under ASan and
// UBSan in build-asan): valid safetensors and PyTorch files with bits flipped, fields
// overwritten with boundary values, bytes inserted, erased and truncated. Each mutant must load
// or throw kiln::Error; anything else (another exception, a crash, a sanitizer report) fails.
// The libFuzzer target tests/fuzz/load_fuzzer.cpp explores further (tools/run-fuzzers.sh).
#include <random>

#include "io_test_util.h"

namespace kiln {
namespace {

using namespace kiln::testing;  // NOLINT

Bytes mutate(Bytes b, std::mt19937_64& gen) {
  auto pick = [&](uint64_t n) { return n == 0 ? 0 : static_cast<size_t>(gen() % n); };
  const int rounds = 1 + static_cast<int>(gen() % 3);
  for (int r = 0; r < rounds; ++r) {
    switch (gen() % 7) {
      case 0:  // flip bits
        for (int i = 0, n = 1 + static_cast<int>(gen() % 8); i < n && !b.empty(); ++i)
          b[pick(b.size())] ^= static_cast<uint8_t>(1u << (gen() % 8));
        break;
      case 1: {  // a byte set to a boundary value
        static constexpr uint8_t kBytes[] = {0, 1, 0x7F, 0x80, 0xFF, '{', '(', 't', 'R', '.'};
        if (!b.empty()) b[pick(b.size())] = kBytes[gen() % std::size(kBytes)];
        break;
      }
      case 2: {  // a little-endian field set to a boundary value
        const uint64_t kValues[] = {
            0,          1,        0xFFFF,       0x7FFFFFFF,        0x80000000,
            0xFFFFFFFF, b.size(), b.size() + 1, uint64_t{1} << 63, ~uint64_t{0}};
        const int width = 1 << (1 + gen() % 3);
        if (b.size() >= static_cast<size_t>(width))
          set_le(b, pick(b.size() - static_cast<size_t>(width) + 1),
                 kValues[gen() % std::size(kValues)], width);
        break;
      }
      case 3:  // truncate
        b.resize(pick(b.size() + 1));
        break;
      case 4: {  // insert random bytes
        Bytes extra(1 + gen() % 16);
        for (uint8_t& x : extra) x = static_cast<uint8_t>(gen());
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size() + 1)), extra.begin(),
                 extra.end());
        break;
      }
      case 5: {  // erase a range
        if (b.empty()) break;
        const size_t at = pick(b.size());
        const size_t n = std::min<size_t>(b.size() - at, 1 + gen() % 32);
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at),
                b.begin() + static_cast<std::ptrdiff_t>(at + n));
        break;
      }
      case 6: {  // duplicate a chunk elsewhere
        if (b.empty()) break;
        const size_t at = pick(b.size());
        const size_t n = std::min<size_t>(b.size() - at, 1 + gen() % 64);
        const Bytes chunk(b.begin() + static_cast<std::ptrdiff_t>(at),
                          b.begin() + static_cast<std::ptrdiff_t>(at + n));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size() + 1)), chunk.begin(),
                 chunk.end());
        break;
      }
    }
  }
  return b;
}

std::vector<std::pair<std::string, Bytes>> seeds() {
  std::vector<std::pair<std::string, Bytes>> out;
  for (const char* name : {"linear.pth", "all_dtypes.pth", "views.pth", "parameters.pth",
                           "linear_protocol4.pth", "layout.safetensors", "reference.safetensors"})
    out.emplace_back(name, read_file(data_dir() + "/" + name));
  // Small hand-built ones: mutations of a short file reach every structure more often.
  out.emplace_back(
      "small.pth",
      torch_archive(state_dict_pickle({{"w", "FloatStorage", "0", 4, 1, {2, 2}, {1, 2}}}),
                    {{"0", float_bytes({1, 2, 3, 4})}}, "a"));
  out.emplace_back("small.safetensors",
                   safetensors_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                    R"("b":{"dtype":"BOOL","shape":[],"data_offsets":[8,9]}})",
                                    Bytes(9, 1)));
  return out;
}

TEST(LoadMutations, EveryMutantLoadsOrThrowsKilnError) {
  constexpr int kPerSeed = 700;
  std::mt19937_64 gen(20240531);
  int loaded = 0, refused = 0;
  for (const auto& [name, seed] : seeds()) {
    ASSERT_FALSE(seed.empty()) << name;
    for (int i = 0; i < kPerSeed; ++i) {
      const Bytes mutant = mutate(seed, gen);
      try {
        const StateDict sd =
            io::load_from_memory(mutant, "mutant", cpu, {.max_output_bytes = 64 << 20});
        for (const auto& [key, t] : sd)
          ASSERT_EQ(raw_bytes(t).size(), static_cast<size_t>(t.numel()) * itemsize(t.dtype()));
        ++loaded;
      } catch (const Error& e) {
        ASSERT_NE(std::string(e.what()).find("kiln::load: mutant: "), std::string::npos)
            << e.what();
        ++refused;
      } catch (const std::exception& e) {
        FAIL() << name << " mutant " << i << " threw a non-kiln exception: " << e.what();
      }
    }
  }
  // Both outcomes occur: mutations of tensor data still load, structural ones are refused.
  EXPECT_GT(loaded, 100);
  EXPECT_GT(refused, 1000);
  RecordProperty("loaded", loaded);
  RecordProperty("refused", refused);
}

}  // namespace
}  // namespace kiln
