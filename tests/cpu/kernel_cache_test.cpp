#include "kiln/backends/cpu/kernel_cache.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cpu/test_kernels.h"
#include "gtest/gtest.h"
#include "kiln/backends/cpu/build_id.h"
#include "kiln/backends/cpu/disk_cache.h"
#include "kiln/backends/cpu/jit.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::cpu {
namespace {

using testing::build_exp_kernel;
using testing::expect_exp_kernel_works;
using Clock = std::chrono::steady_clock;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Sets an environment variable for one scope, restoring the old value (or its absence).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class KernelCacheTest : public ::testing::Test {
 protected:
  // get_or_compile for the exp kernel with `key`, counting the builder's calls.
  void* get(KernelCache& cache, const std::string& key, float scale = 2.f) {
    const std::string symbol = kernel_symbol(key);
    return cache.get_or_compile(key, symbol, [&] {
      ++builds_;
      return build_exp_kernel(symbol, scale);
    });
  }

  testing::TempDir dir_;
  Jit& jit_ = Jit::instance();
  std::atomic<int> builds_{0};
};

TEST_F(KernelCacheTest, SecondLookupHitsMemory) {
  KernelCache cache(std::nullopt, jit_);
  void* first = get(cache, "memory");
  void* second = get(cache, "memory");
  EXPECT_EQ(first, second);
  EXPECT_EQ(builds_, 1);
  const KernelCacheStats stats = cache.stats();
  EXPECT_EQ(stats.compiles, 1u);
  EXPECT_EQ(stats.memory_hits, 1u);
  EXPECT_EQ(stats.disk_hits + stats.disk_stores, 0u);
  EXPECT_FALSE(cache.disk_path("memory", kernel_symbol("memory")));
  expect_exp_kernel_works(first);
}

TEST_F(KernelCacheTest, FreshInstanceLoadsFromDiskWithoutCompiling) {
  KernelCache writer(dir_.path(), jit_);
  expect_exp_kernel_works(get(writer, "disk"));
  EXPECT_EQ(writer.stats().disk_stores, 1u);
  const std::optional<std::filesystem::path> path = writer.disk_path("disk", kernel_symbol("disk"));
  ASSERT_TRUE(path);
  EXPECT_TRUE(std::filesystem::exists(*path));
  EXPECT_EQ(path->parent_path(), dir_.path() / "cpu");

  KernelCache reader(dir_.path(), jit_);
  const std::string symbol = kernel_symbol("disk");
  void* address = reader.get_or_compile("disk", symbol, [&]() -> llvm::orc::ThreadSafeModule {
    ADD_FAILURE() << "the kernel was rebuilt instead of loaded";
    return build_exp_kernel(symbol);
  });
  expect_exp_kernel_works(address);
  const KernelCacheStats stats = reader.stats();
  EXPECT_EQ(stats.disk_hits, 1u);
  EXPECT_EQ(stats.compiles, 0u);
  EXPECT_EQ(stats.disk_corrupt, 0u);
}

TEST_F(KernelCacheTest, DiskKeyCoversTargetAndVersion) {
  KernelCache cache(dir_.path(), jit_);
  const std::string key = cache.disk_key("structural hash", "kiln_kabc");
  const HostTarget& host = jit_.host();
  for (const std::string& part :
       {std::string("structural hash"), std::string("kiln_kabc"), host.triple, host.cpu,
        host.features, std::string(KILN_TEST_VERSION), kiln_build_id()}) {
    EXPECT_NE(key.find(part), std::string::npos) << part << " missing from\n" << key;
  }
  EXPECT_NE(cache.disk_key("a", "b"), cache.disk_key("a", "c"));
  EXPECT_NE(cache.disk_path("a", "b"), cache.disk_path("b", "b"));
}

// Damages the cached file in one way; the next process must notice, recompile and replace it.
struct Damage {
  const char* name;
  std::function<std::string(const std::string& file, const std::string& disk_key)> apply;
};

class KernelCacheDamageTest : public KernelCacheTest,
                              public ::testing::WithParamInterface<Damage> {};

TEST_P(KernelCacheDamageTest, IsDetectedAndRecompiled) {
  const std::string key = std::string("damaged-") + GetParam().name;
  KernelCache writer(dir_.path(), jit_);
  get(writer, key);
  const std::filesystem::path path = *writer.disk_path(key, kernel_symbol(key));
  write_file(path, GetParam().apply(read_file(path), writer.disk_key(key, kernel_symbol(key))));

  KernelCache victim(dir_.path(), jit_);
  expect_exp_kernel_works(get(victim, key));
  KernelCacheStats stats = victim.stats();
  EXPECT_EQ(stats.disk_corrupt, 1u);
  EXPECT_EQ(stats.disk_hits, 0u);
  EXPECT_EQ(stats.compiles, 1u);
  EXPECT_EQ(stats.disk_stores, 1u);

  // The file was replaced by a good one.
  KernelCache next(dir_.path(), jit_);
  expect_exp_kernel_works(get(next, key));
  stats = next.stats();
  EXPECT_EQ(stats.disk_hits, 1u);
  EXPECT_EQ(stats.compiles + stats.disk_corrupt, 0u);
}

std::string flip(std::string bytes, size_t index) {
  bytes[index] = static_cast<char>(bytes[index] ^ 0x5a);
  return bytes;
}

INSTANTIATE_TEST_SUITE_P(
    Damages, KernelCacheDamageTest,
    ::testing::Values(
        Damage{"payload_byte", [](const std::string& f, auto&) { return flip(f, f.size() - 7); }},
        Damage{"object_header_byte",
               [](const std::string& f, const std::string& k) {
                 return flip(f, kDiskHeaderSize + k.size() + 2);
               }},
        Damage{"checksum_byte", [](const std::string& f, auto&) { return flip(f, 27); }},
        Damage{"magic", [](const std::string& f, auto&) { return flip(f, 0); }},
        Damage{"truncated", [](const std::string& f, auto&) { return f.substr(0, f.size() / 2); }},
        Damage{"truncated_header", [](const std::string& f, auto&) { return f.substr(0, 10); }},
        Damage{"empty", [](const std::string&, auto&) { return std::string(); }},
        Damage{"wrong_key_inside",
               [](const std::string& f, const std::string& k) {
                 const std::string payload = decode_cache_file(f, k).payload;
                 return encode_cache_file(k + "another kiln", payload);
               }},
        Damage{"valid_file_garbage_object",
               [](const std::string&, const std::string& k) {
                 return encode_cache_file(k, "this is no object file");
               }}),
    [](const ::testing::TestParamInfo<Damage>& info) { return std::string(info.param.name); });

TEST_F(KernelCacheTest, ConcurrentLookupsOfOneKernelCompileOnce) {
  KernelCache cache(dir_.path(), jit_);
  constexpr int kThreads = 8;
  std::vector<void*> addresses(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { addresses[t] = get(cache, "one kernel"); });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(builds_, 1);
  EXPECT_EQ(cache.stats().compiles, 1u);
  EXPECT_EQ(cache.stats().memory_hits, kThreads - 1u);
  for (void* address : addresses) EXPECT_EQ(address, addresses[0]);
  expect_exp_kernel_works(addresses[0]);
}

TEST_F(KernelCacheTest, SeparateCachesOnThreadsShareTheDirectory) {
  constexpr int kThreads = 4;
  std::vector<void*> addresses(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      KernelCache cache(dir_.path(), jit_);
      addresses[t] = get(cache, "shared by threads");
    });
  }
  for (std::thread& t : threads) t.join();
  for (void* address : addresses) expect_exp_kernel_works(address);
  KernelCache after(dir_.path(), jit_);
  get(after, "shared by threads");
  EXPECT_EQ(after.stats().disk_hits, 1u);
}

// Two processes compile and store the same kernel at the same moment: both work, and the file
// left behind is valid.
TEST_F(KernelCacheTest, TwoProcessesStoringOneKernel) {
  int barrier[2];
  ASSERT_EQ(::pipe(barrier), 0);
  std::vector<pid_t> children;
  for (int p = 0; p < 2; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(barrier[1]);
      char c;
      if (::read(barrier[0], &c, 1) != 0) ::_exit(3);
      try {
        KernelCache cache(dir_.path(), jit_);
        const std::string symbol = kernel_symbol("two processes");
        auto kernel = reinterpret_cast<testing::ExpKernel>(cache.get_or_compile(
            "two processes", symbol, [&] { return build_exp_kernel(symbol); }));
        float in = 1.f, out = 0.f;
        kernel(&out, &in, 0, 1);
        ::_exit(std::abs(out - (std::exp(1.f) * 2.f + 1.f)) < 1e-5f ? 0 : 2);
      } catch (...) {
        ::_exit(1);
      }
    }
    children.push_back(pid);
  }
  ::close(barrier[0]);
  ::close(barrier[1]);
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: kiln::Error, 2: wrong result";
  }
  KernelCache after(dir_.path(), jit_);
  expect_exp_kernel_works(get(after, "two processes"));
  EXPECT_EQ(after.stats().disk_hits, 1u);
  EXPECT_EQ(builds_, 0);
}

TEST_F(KernelCacheTest, InvalidIrThrowsAndALaterCallRetries) {
  KernelCache cache(dir_.path(), jit_);
  const std::string symbol = kernel_symbol("retry");
  EXPECT_THROW(
      cache.get_or_compile("retry", symbol, [&] { return testing::build_invalid_module(symbol); }),
      Error);
  EXPECT_THROW(cache.get_or_compile(
                   "retry", symbol,
                   [&]() -> llvm::orc::ThreadSafeModule { throw Error("the builder failed"); }),
               Error);
  expect_exp_kernel_works(get(cache, "retry"));
  EXPECT_EQ(cache.stats().compiles, 1u);
}

TEST_F(KernelCacheTest, DefaultDirectoryFollowsTheEnvironment) {
  {
    ScopedEnv dir("KILN_CACHE_DIR", "/somewhere/kiln");
    EXPECT_EQ(KernelCache::default_directory(), std::filesystem::path("/somewhere/kiln"));
  }
  ScopedEnv no_dir("KILN_CACHE_DIR", nullptr);
  {
    ScopedEnv home("HOME", "/home/someone");
    EXPECT_EQ(KernelCache::default_directory(), std::filesystem::path("/home/someone/.cache/kiln"));
  }
  {
    ScopedEnv empty_dir("KILN_CACHE_DIR", "");
    ScopedEnv home("HOME", nullptr);
    EXPECT_EQ(KernelCache::default_directory(), std::nullopt);
  }
}

TEST(KernelCache, BuildIdNamesThisBinary) {
  // Debian's toolchain links with --build-id (a 160-bit SHA-1 by default).
  const std::string& id = kiln_build_id();
  if (id.empty()) GTEST_SKIP() << "this binary was linked without a GNU build ID";
  EXPECT_EQ(id.size() % 2, 0u);
  EXPECT_GE(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
}

TEST(KernelCache, ProcessWideCacheUsesTheDefaultDirectory) {
  // Other suites in this binary may have created the process-wide cache already, so this only
  // inspects it (ctest points KILN_CACHE_DIR into the build tree; nothing is compiled here).
  KernelCache& cache = KernelCache::instance();
  EXPECT_EQ(&cache, &KernelCache::instance());
  const std::optional<std::filesystem::path> root = KernelCache::default_directory();
  const std::optional<std::filesystem::path> path = cache.disk_path("k", "s");
  ASSERT_EQ(root.has_value(), path.has_value());
  if (root) {
    EXPECT_EQ(path->parent_path(), *root / "cpu");
  }
}

TEST_F(KernelCacheTest, LogsHitsMissesStoresAndCorruptFiles) {
  ScopedEnv log("KILN_LOG", "cache,time,kernels");
  ::testing::internal::CaptureStderr();
  KernelCache first(dir_.path(), jit_);
  get(first, "logged");
  get(first, "logged");
  write_file(*first.disk_path("logged", kernel_symbol("logged")), "junk");
  KernelCache second(dir_.path(), jit_);
  get(second, "logged");
  KernelCache third(dir_.path(), jit_);
  get(third, "logged");
  const std::string log_text = ::testing::internal::GetCapturedStderr();
  const std::string symbol = kernel_symbol("logged");
  for (const std::string& expected :
       {"[kiln:cache] miss " + symbol, "[kiln:cache] store " + symbol,
        "[kiln:cache] hit memory " + symbol, std::string("[kiln:cache] corrupt "),
        "truncated header (4 bytes); recompiling " + symbol, "[kiln:cache] hit disk " + symbol,
        "[kiln:kernels] optimized LLVM IR of " + symbol, "define void @" + symbol,
        "[kiln:time] jit: compiled " + symbol, "[kiln:time] jit: loaded " + symbol}) {
    EXPECT_NE(log_text.find(expected), std::string::npos) << expected << " not in\n" << log_text;
  }
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The numbers the cache exists for: compiling a kernel cold, and loading it in a later process
// (a fresh cache instance) from disk. Goals: cold < 50 ms, warm < 2 ms (optimized build).
TEST_F(KernelCacheTest, ColdCompileAndWarmLoadTimes) {
  constexpr int kRuns = 7;
  std::vector<double> cold, warm, memory;
  for (int run = 0; run < kRuns; ++run) {
    const std::string key = "timing " + std::to_string(run);
    KernelCache writer(dir_.path(), jit_);
    Clock::time_point start = Clock::now();
    void* compiled = get(writer, key);
    cold.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    start = Clock::now();
    EXPECT_EQ(get(writer, key), compiled);
    memory.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());

    KernelCache reader(dir_.path(), jit_);
    start = Clock::now();
    void* loaded = get(reader, key);
    warm.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    EXPECT_EQ(reader.stats().disk_hits, 1u);
    expect_exp_kernel_works(loaded);
  }
  std::cout << "exp kernel, " << kRuns << " runs: cold compile median " << median(cold)
            << " ms (first " << cold[0] << " ms), warm disk load median " << median(warm)
            << " ms (first " << warm[0] << " ms), memory hit median " << median(memory) * 1000
            << " us\n";
  RecordProperty("cold_ms", std::to_string(median(cold)));
  RecordProperty("warm_ms", std::to_string(median(warm)));
  EXPECT_LT(median(warm), median(cold));
}

}  // namespace
}  // namespace kiln::backends::cpu
