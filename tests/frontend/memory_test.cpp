// kiln::memory_stats and friends: the allocator counters seen through the public API.
#include "gtest/gtest.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

TEST(MemoryStats, CountsLiveTensorsCachedBlocksAndThePeak) {
  reset_peak_memory_stats();
  const MemoryStats before = memory_stats();
  int64_t during = 0;
  {
    Tensor x = ones({1000, 250});  // 1,000,000 bytes of float32 once realized
    x = x * 3;
    eval(x);
    EXPECT_EQ(x.sum().item<float>(), 750000.0f);
    during = memory_stats().bytes_in_use;
    EXPECT_GE(during - before.bytes_in_use, 1000000);
  }
  const MemoryStats after = memory_stats();
  EXPECT_LT(after.bytes_in_use, during);
  EXPECT_GE(after.peak_bytes_in_use, during);
#ifndef KILN_SANITIZE  // under ASan the allocator returns blocks at once
                       // (runtime/cpu_allocator.cpp)
  EXPECT_GT(after.bytes_cached, 0);
#endif
  empty_cache();
  EXPECT_EQ(memory_stats().bytes_cached, 0);
}

}  // namespace
}  // namespace kiln
