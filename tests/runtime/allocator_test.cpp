#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/runtime/buffer.h"
#include "kiln/runtime/cpu_allocator.h"
#include "kiln/runtime/error.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace kiln::runtime {
namespace {

using BufferPtr = std::shared_ptr<Buffer>;

// Every test starts from an empty cache with caching on (sanitizer builds cache nothing by
// default) and restores the limit afterwards.
class AllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_limit_ = cpu_cache_limit();
    set_cpu_cache_limit(int64_t{256} << 20);
    empty_cache();
  }
  void TearDown() override {
    set_cpu_cache_limit(saved_limit_);
    empty_cache();
  }

 private:
  int64_t saved_limit_ = 0;
};

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no kiln::Error)";
}

bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % kCpuAlignment == 0; }

TEST(CpuSizeClass, RoundsUpToFourClassesPerPowerOfTwo) {
  EXPECT_EQ(cpu_size_class(0), 64u);
  EXPECT_EQ(cpu_size_class(1), 64u);
  EXPECT_EQ(cpu_size_class(64), 64u);
  EXPECT_EQ(cpu_size_class(65), 128u);
  EXPECT_EQ(cpu_size_class(200), 256u);
  EXPECT_EQ(cpu_size_class(256), 256u);
  EXPECT_EQ(cpu_size_class(257), 320u);
  EXPECT_EQ(cpu_size_class(448), 448u);
  EXPECT_EQ(cpu_size_class(449), 512u);
  EXPECT_EQ(cpu_size_class(513), 640u);
  EXPECT_EQ(cpu_size_class(1000), 1024u);
  EXPECT_EQ(cpu_size_class(1025), 1280u);
  EXPECT_EQ(cpu_size_class((size_t{1} << 20) + 1), (size_t{5} << 20) / 4);
  EXPECT_EQ(cpu_size_class(size_t{3} << 30), size_t{3} << 30);
  size_t previous = 0;
  for (size_t n = 0; n < (size_t{1} << 22); n = n < 4096 ? n + 1 : n * 9 / 8 + 3) {
    const size_t c = cpu_size_class(n);
    ASSERT_GE(c, n);
    ASSERT_GE(c, previous);  // monotonic
    ASSERT_EQ(c % kCpuAlignment, 0u);
    if (n > 256) {
      ASSERT_LE(c, n + n / 4) << n;  // at most 25% slack
    }
    previous = c;
  }
  EXPECT_THROW(cpu_size_class(~size_t{0}), Error);
}

TEST_F(AllocatorTest, AFreedBlockIsReusedForTheSameClass) {
  const int64_t system_before = memory_stats().num_allocations;
  BufferPtr a = Buffer::allocate(1000);
  void* const first = a->data();
  a.reset();
  BufferPtr b = Buffer::allocate(1000);
  EXPECT_EQ(b->data(), first);
  b.reset();
  BufferPtr c = Buffer::allocate(1010);  // same class (1024)
  EXPECT_EQ(c->data(), first);
  EXPECT_EQ(c->nbytes(), 1010u);
  EXPECT_EQ(memory_stats().num_allocations - system_before, 1);
  // Another class does not take it.
  c.reset();
  BufferPtr d = Buffer::allocate(2000);
  EXPECT_NE(d->data(), first);
  EXPECT_EQ(memory_stats().num_allocations - system_before, 2);
}

TEST_F(AllocatorTest, LargeTemporariesAreReused) {
  constexpr size_t kBytes = size_t{64} << 20;
  const int64_t system_before = memory_stats().num_allocations;
  void* first = nullptr;
  for (int i = 0; i < 10; ++i) {
    BufferPtr t = Buffer::allocate(kBytes);
    if (i == 0) first = t->data();
    EXPECT_EQ(t->data(), first);
    std::memset(t->data(), i, kBytes);
  }
  EXPECT_EQ(memory_stats().num_allocations - system_before, 1);
  EXPECT_EQ(memory_stats().bytes_cached, static_cast<int64_t>(kBytes));
}

TEST_F(AllocatorTest, StatsCountInUseCachedAndPeak) {
  const MemoryStats s0 = memory_stats();
  EXPECT_EQ(s0.bytes_cached, 0);
  reset_peak_memory_stats();
  EXPECT_EQ(memory_stats().peak_bytes_in_use, s0.bytes_in_use);

  BufferPtr a = Buffer::allocate(1000);
  BufferPtr b = Buffer::allocate(300);
  MemoryStats s = memory_stats();
  EXPECT_EQ(s.bytes_in_use - s0.bytes_in_use, 1300);  // requested sizes, not classes
  EXPECT_EQ(s.peak_bytes_in_use - s0.bytes_in_use, 1300);
  EXPECT_EQ(s.bytes_cached, 0);

  a.reset();
  s = memory_stats();
  EXPECT_EQ(s.bytes_in_use - s0.bytes_in_use, 300);
  EXPECT_EQ(s.peak_bytes_in_use - s0.bytes_in_use, 1300);
  EXPECT_EQ(s.bytes_cached, 1024);  // the class size is what stays held

  b.reset();
  s = memory_stats();
  EXPECT_EQ(s.bytes_in_use, s0.bytes_in_use);
  EXPECT_EQ(s.bytes_cached, 1024 + 320);

  reset_peak_memory_stats();
  EXPECT_EQ(memory_stats().peak_bytes_in_use, s0.bytes_in_use);
  BufferPtr c = Buffer::allocate(1000);  // from the cache: in use again, no longer cached
  s = memory_stats();
  EXPECT_EQ(s.bytes_in_use - s0.bytes_in_use, 1000);
  EXPECT_EQ(s.peak_bytes_in_use - s0.bytes_in_use, 1000);
  EXPECT_EQ(s.bytes_cached, 320);
}

TEST_F(AllocatorTest, EmptyCacheReturnsEveryCachedBlock) {
  std::vector<BufferPtr> buffers;
  for (size_t n : {100, 1000, 10000, 100000, 1000000}) buffers.push_back(Buffer::allocate(n));
  const int64_t in_use = memory_stats().bytes_in_use;
  BufferPtr kept = buffers.back();
  buffers.clear();
  EXPECT_GT(memory_stats().bytes_cached, 0);
  empty_cache();
  EXPECT_EQ(memory_stats().bytes_cached, 0);
  EXPECT_EQ(memory_stats().bytes_in_use, in_use - 100 - 1000 - 10000 - 100000);
  std::memset(kept->data(), 1, kept->nbytes());  // live buffers are untouched
  const int64_t system_before = memory_stats().num_allocations;
  BufferPtr again = Buffer::allocate(1000);
  EXPECT_EQ(memory_stats().num_allocations - system_before, 1);
}

TEST_F(AllocatorTest, CachedBytesStayUnderTheLimit) {
  constexpr int64_t kBlock = int64_t{512} << 10;  // exactly a class
  set_cpu_cache_limit(2 * kBlock + 4096);
  EXPECT_EQ(cpu_cache_limit(), 2 * kBlock + 4096);
  std::vector<BufferPtr> buffers;
  for (int i = 0; i < 3; ++i) buffers.push_back(Buffer::allocate(kBlock));
  buffers.clear();
  EXPECT_EQ(memory_stats().bytes_cached, 2 * kBlock);  // the third went back to the system

  // Lowering the limit trims the cache, largest classes first.
  BufferPtr small = Buffer::allocate(1000);
  small.reset();
  EXPECT_EQ(memory_stats().bytes_cached, 2 * kBlock + 1024);
  set_cpu_cache_limit(kBlock);
  EXPECT_EQ(memory_stats().bytes_cached, 1024);

  // A limit of zero turns caching off.
  set_cpu_cache_limit(0);
  EXPECT_EQ(memory_stats().bytes_cached, 0);
  const int64_t system_before = memory_stats().num_allocations;
  for (int i = 0; i < 3; ++i) Buffer::allocate(4096);
  EXPECT_EQ(memory_stats().num_allocations - system_before, 3);
  EXPECT_EQ(memory_stats().bytes_cached, 0);

  EXPECT_EQ(error_of([] { set_cpu_cache_limit(-1); }),
            "set_cpu_cache_limit: the limit must be >= 0 bytes, got -1");
}

TEST_F(AllocatorTest, BlocksAre64ByteAligned) {
  std::vector<BufferPtr> buffers;
  for (int round = 0; round < 2; ++round) {  // fresh blocks, then cached ones
    for (size_t n = 0; n < 5000; n += 37) buffers.push_back(Buffer::allocate(n));
    for (const BufferPtr& b : buffers) EXPECT_TRUE(aligned(b->data())) << b->nbytes();
    buffers.clear();
  }
}

TEST_F(AllocatorTest, ZeroSizedBuffersAreValidAndCached) {
  const int64_t in_use = memory_stats().bytes_in_use;
  BufferPtr a = Buffer::allocate(0);
  ASSERT_NE(a->data(), nullptr);
  EXPECT_TRUE(aligned(a->data()));
  EXPECT_EQ(a->nbytes(), 0u);
  EXPECT_EQ(memory_stats().bytes_in_use, in_use);
  BufferPtr b = Buffer::allocate(0);
  EXPECT_NE(a->data(), b->data());  // distinct live blocks
  void* const first = a->data();
  a.reset();
  EXPECT_EQ(Buffer::allocate(0)->data(), first);
}

TEST_F(AllocatorTest, BorrowedBuffersAreNeverCachedOrFreed) {
  alignas(64) static unsigned char memory[4096];
  std::memset(memory, 7, sizeof(memory));
  const MemoryStats before = memory_stats();
  {
    BufferPtr borrowed = Buffer::borrow(memory, sizeof(memory));
    EXPECT_TRUE(borrowed->borrowed());
    EXPECT_EQ(borrowed->data(), memory);
    borrowed->as<unsigned char>()[0] = 9;
    EXPECT_EQ(memory_stats().bytes_in_use, before.bytes_in_use);
  }
  const MemoryStats after = memory_stats();
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
  EXPECT_EQ(after.bytes_cached, before.bytes_cached);
  EXPECT_EQ(memory[0], 9);  // writes landed in the caller's memory, which is still there
  EXPECT_EQ(memory[4095], 7);
  BufferPtr fresh = Buffer::allocate(sizeof(memory));
  EXPECT_NE(fresh->data(), static_cast<void*>(memory));
  BufferPtr empty = Buffer::borrow(nullptr, 0);  // empty borrowed buffers may be null
  EXPECT_EQ(empty->data(), nullptr);
}

TEST_F(AllocatorTest, ConcurrentAllocationAndFree) {
  constexpr int kThreads = 4;
  constexpr int kIterations = 3000;
  const int64_t in_use = memory_stats().bytes_in_use;
  std::atomic<int> corrupted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      std::vector<std::pair<BufferPtr, unsigned char>> live;
      for (int i = 0; i < kIterations; ++i) {
        if (live.size() < 8 && (live.empty() || rng() % 3 != 0)) {
          const size_t n = 1 + rng() % 70000;
          const auto tag = static_cast<unsigned char>(rng());
          BufferPtr b = Buffer::allocate(n);
          if (!aligned(b->data())) ++corrupted;
          std::memset(b->data(), tag, n);
          live.emplace_back(std::move(b), tag);
        } else {
          const size_t k = rng() % live.size();
          const auto& [b, tag] = live[k];
          const auto* bytes = b->as<unsigned char>();
          // Nobody else wrote into a block this thread owns.
          if (bytes[0] != tag || bytes[b->nbytes() / 2] != tag || bytes[b->nbytes() - 1] != tag) {
            ++corrupted;
          }
          live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(corrupted.load(), 0);
  const MemoryStats s = memory_stats();
  EXPECT_EQ(s.bytes_in_use, in_use);
  EXPECT_LE(s.bytes_cached, int64_t{256} << 20);
}

TEST(CpuCacheLimit, ParsesKilnCpuCacheLimitMB) {
  EXPECT_EQ(parse_cpu_cache_limit(nullptr), int64_t{4096} << 20);
  EXPECT_EQ(parse_cpu_cache_limit(""), int64_t{4096} << 20);
  EXPECT_EQ(parse_cpu_cache_limit("0"), 0);
  EXPECT_EQ(parse_cpu_cache_limit("12"), int64_t{12} << 20);
  EXPECT_EQ(error_of([] { parse_cpu_cache_limit("-1"); }),
            "KILN_CPU_CACHE_LIMIT_MB must be a non-negative integer number of megabytes, got "
            "\"-1\"");
  for (const char* bad : {"abc", "1.5", "12MB", " 12", "99999999999999999999", "9000000000000"}) {
    EXPECT_THROW(parse_cpu_cache_limit(bad), Error) << bad;
  }
}

TEST(MemoryStatsTest, OtherDevicesReportZeros) {
  const MemoryStats s = memory_stats(cuda);
  EXPECT_EQ(s.bytes_in_use, 0);
  EXPECT_EQ(s.peak_bytes_in_use, 0);
  EXPECT_EQ(s.bytes_cached, 0);
  EXPECT_EQ(s.num_allocations, 0);
  empty_cache(cuda);  // nothing to do, no error
  EXPECT_THROW(Buffer::allocate(16, cuda), Error);
}

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer still sees stray accesses: cached blocks and the slack past a request are
// poisoned.
TEST_F(AllocatorTest, CachedBlocksAndSlackArePoisoned) {
  BufferPtr a = Buffer::allocate(1000);
  char* const data = a->as<char>();
  EXPECT_EQ(__asan_region_is_poisoned(data, 1000), nullptr);
  EXPECT_TRUE(__asan_address_is_poisoned(data + 1000));  // class 1024: 24 bytes of slack
  EXPECT_TRUE(__asan_address_is_poisoned(data + 1023));
  a.reset();
  EXPECT_TRUE(__asan_address_is_poisoned(data));  // cached, not yours any more
  EXPECT_TRUE(__asan_address_is_poisoned(data + 500));
  BufferPtr b = Buffer::allocate(1020);
  ASSERT_EQ(b->as<char>(), data);
  EXPECT_EQ(__asan_region_is_poisoned(data, 1020), nullptr);
  EXPECT_TRUE(__asan_address_is_poisoned(data + 1020));
}
#endif

}  // namespace
}  // namespace kiln::runtime
