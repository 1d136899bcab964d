#include "kiln/runtime/thread_pool.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/runtime/error.h"

namespace kiln::runtime {
namespace {

using Clock = std::chrono::steady_clock;

// Restores the pool size a test changed.
class ThreadPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = num_threads(); }
  void TearDown() override { set_num_threads(saved_); }

 private:
  int saved_ = 1;
};

struct Chunk {
  int64_t begin;
  int64_t end;
};

std::vector<Chunk> chunks_of(int64_t begin, int64_t end, int64_t grain) {
  std::mutex mu;
  std::vector<Chunk> chunks;
  parallel_for(begin, end, grain, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lock(mu);
    chunks.push_back({b, e});
  });
  std::sort(chunks.begin(), chunks.end(), [](Chunk a, Chunk b) { return a.begin < b.begin; });
  return chunks;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no kiln::Error)";
}

TEST_F(ThreadPoolTest, ChunksCoverTheRangeExactlyOnceAndRespectTheGrain) {
  for (int threads : {1, 2, 3, 4, 8}) {
    set_num_threads(threads);
    for (int64_t n : {0, 1, 2, 7, 8, 9, 63, 64, 65, 1000, 100003}) {
      for (int64_t grain : {-1, 0, 1, 2, 5, 16, 1000, 200000}) {
        for (int64_t begin : {int64_t{0}, int64_t{-17}, int64_t{1} << 40}) {
          SCOPED_TRACE(testing::Message() << "threads=" << threads << " n=" << n
                                          << " grain=" << grain << " begin=" << begin);
          const std::vector<Chunk> chunks = chunks_of(begin, begin + n, grain);
          if (n == 0) {
            EXPECT_TRUE(chunks.empty());
            continue;
          }
          const int64_t min_chunk = std::max<int64_t>(grain, 1);
          // Contiguous, in order, exactly [begin, begin + n).
          ASSERT_FALSE(chunks.empty());
          EXPECT_EQ(chunks.front().begin, begin);
          EXPECT_EQ(chunks.back().end, begin + n);
          for (size_t i = 0; i + 1 < chunks.size(); ++i) {
            EXPECT_EQ(chunks[i].end, chunks[i + 1].begin);
          }
          EXPECT_LE(static_cast<int>(chunks.size()), threads);
          const int64_t expected = std::min<int64_t>(threads, std::max<int64_t>(n / min_chunk, 1));
          EXPECT_EQ(static_cast<int64_t>(chunks.size()), expected);
          for (const Chunk& c : chunks) {
            EXPECT_GT(c.end, c.begin);
            if (chunks.size() > 1) {
              EXPECT_GE(c.end - c.begin, min_chunk);
            }
          }
        }
      }
    }
  }
}

TEST_F(ThreadPoolTest, EveryIndexRunsOnce) {
  set_num_threads(4);
  constexpr int64_t kN = 1 << 16;
  std::vector<std::atomic<int>> hits(kN);
  for (int round = 0; round < 50; ++round) {
    parallel_for(0, kN, 64, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1, std::memory_order_relaxed);
    });
  }
  for (int64_t i = 0; i < kN; ++i) ASSERT_EQ(hits[i].load(), 50) << i;
}

TEST_F(ThreadPoolTest, HugeRangesDoNotOverflow) {
  set_num_threads(4);
  const int64_t lo = std::numeric_limits<int64_t>::min();
  const int64_t hi = std::numeric_limits<int64_t>::max();
  const std::vector<Chunk> chunks = chunks_of(lo, hi, 1);
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks.front().begin, lo);
  EXPECT_EQ(chunks.back().end, hi);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) EXPECT_EQ(chunks[i].end, chunks[i + 1].begin);
}

TEST_F(ThreadPoolTest, SmallRangesRunInlineOnTheCaller) {
  set_num_threads(4);
  const std::thread::id caller = std::this_thread::get_id();
  int calls = 0;
  parallel_for(10, 25, 8, [&](int64_t b, int64_t e) {  // 15 < 2 * 8: one chunk
    ++calls;
    EXPECT_EQ(b, 10);
    EXPECT_EQ(e, 25);
    EXPECT_EQ(std::this_thread::get_id(), caller);
    EXPECT_FALSE(in_parallel_region());  // inline, not a pool chunk
  });
  EXPECT_EQ(calls, 1);
  parallel_for(5, 5, 1, [&](int64_t, int64_t) { ++calls; });
  parallel_for(5, 4, 1, [&](int64_t, int64_t) { ++calls; });
  EXPECT_EQ(calls, 1);
}

// A JIT-compiled kernel's shape: a plain function over [begin, end) with an argument block.
void add_one_kernel(void* args, int64_t begin, int64_t end) {
  auto* data = static_cast<std::atomic<int>*>(args);
  for (int64_t i = begin; i < end; ++i) data[i].fetch_add(1);
}

TEST_F(ThreadPoolTest, AcceptsRawKernelsAndStdFunctions) {
  set_num_threads(3);
  std::vector<std::atomic<int>> data(1000);
  parallel_for(0, 1000, 10, add_one_kernel, data.data());
  const std::function<void(int64_t, int64_t)> fn = [&](int64_t b, int64_t e) {
    add_one_kernel(data.data(), b, e);
  };
  parallel_for(0, 1000, 10, fn);
  struct Functor {
    std::vector<std::atomic<int>>* data;
    void operator()(int64_t b, int64_t e) const { add_one_kernel(data->data(), b, e); }
  };
  const Functor functor{&data};
  parallel_for(0, 1000, 10, functor);
  parallel_for(0, 1000, 10, Functor{&data});
  for (const auto& d : data) ASSERT_EQ(d.load(), 4);
}

TEST_F(ThreadPoolTest, ChunksRunConcurrentlyOnDistinctThreads) {
  constexpr int kThreads = 4;
  set_num_threads(kThreads);
  // Every chunk waits until all have started: this only finishes if they run at the same time.
  std::atomic<int> arrived{0};
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::atomic<bool> timed_out{false};
  parallel_for(0, kThreads, 1, [&](int64_t, int64_t) {
    EXPECT_TRUE(in_parallel_region());
    {
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(std::this_thread::get_id());
    }
    arrived.fetch_add(1);
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (arrived.load() < kThreads) {
      if (Clock::now() > deadline) {
        timed_out = true;
        return;
      }
      std::this_thread::yield();
    }
  });
  EXPECT_FALSE(timed_out.load());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads));
  EXPECT_TRUE(ids.count(std::this_thread::get_id())) << "the caller runs a chunk too";
  EXPECT_FALSE(in_parallel_region());
}

TEST_F(ThreadPoolTest, TheFirstExceptionPropagatesToTheCaller) {
  set_num_threads(4);
  for (int round = 0; round < 20; ++round) {
    // One failing chunk (whichever thread runs it).
    EXPECT_EQ(error_of([] {
                parallel_for(0, 400, 1, [](int64_t b, int64_t) {
                  if (b == 0) throw Error("chunk 0 failed");
                });
              }),
              "chunk 0 failed");
    // Every chunk fails: exactly one exception comes back, of the thrown type.
    EXPECT_THROW(
        parallel_for(0, 400, 1, [](int64_t, int64_t) { throw std::out_of_range("all failed"); }),
        std::out_of_range);
  }
  // The pool keeps working afterwards.
  std::atomic<int64_t> sum{0};
  parallel_for(0, 1000, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 999 * 1000 / 2);
}

TEST_F(ThreadPoolTest, NestedCallsRunInlineWithoutDeadlock) {
  set_num_threads(4);
  constexpr int64_t kOuter = 64;
  constexpr int64_t kInner = 1000;
  std::vector<std::atomic<int>> hits(kOuter * kInner);
  parallel_for(0, kOuter, 1, [&](int64_t ob, int64_t oe) {
    for (int64_t o = ob; o < oe; ++o) {
      const std::thread::id self = std::this_thread::get_id();
      parallel_for(0, kInner, 1, [&](int64_t ib, int64_t ie) {
        EXPECT_EQ(std::this_thread::get_id(), self);  // serial on the same thread
        EXPECT_EQ(ib, 0);
        EXPECT_EQ(ie, kInner);
        for (int64_t i = ib; i < ie; ++i) hits[o * kInner + i].fetch_add(1);
      });
    }
  });
  for (const auto& h : hits) ASSERT_EQ(h.load(), 1);
  EXPECT_THROW(parallel_for(0, 8, 1, [](int64_t, int64_t) { set_num_threads(2); }), Error);
}

TEST_F(ThreadPoolTest, ConcurrentCallersFromSeveralThreads) {
  set_num_threads(4);
  constexpr int kCallers = 4;
  constexpr int kRounds = 300;
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < kCallers; ++t) {
    callers.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        const int64_t n = 100 + (round * 37 + t * 11) % 5000;
        std::atomic<int64_t> sum{0};
        parallel_for(0, n, 7, [&](int64_t b, int64_t e) {
          int64_t local = 0;
          for (int64_t i = b; i < e; ++i) local += i;
          sum += local;
        });
        if (sum.load() != n * (n - 1) / 2) ++wrong;
        if (round % 50 == 0) {
          // Exceptions of one caller never reach another.
          try {
            parallel_for(0, 64, 1, [t](int64_t b, int64_t) {
              if (b == 0) throw Error("caller " + std::to_string(t));
            });
            ++wrong;
          } catch (const Error& e) {
            if (std::string(e.what()) != "caller " + std::to_string(t)) ++wrong;
          }
        }
      }
    });
  }
  for (std::thread& c : callers) c.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(ThreadPoolTest, ResizingIsSafeBetweenCalls) {
  for (int round = 0; round < 20; ++round) {
    const int threads = 1 + round % 5;
    set_num_threads(threads);
    EXPECT_EQ(num_threads(), threads);
    std::atomic<int64_t> count{0};
    parallel_for(0, 10000, 1, [&](int64_t b, int64_t e) { count += e - b; });
    EXPECT_EQ(count.load(), 10000);
  }
  EXPECT_EQ(error_of([] { set_num_threads(0); }),
            "set_num_threads: the thread count must be from 1 to 1024, got 0");
  EXPECT_THROW(set_num_threads(-3), Error);
  EXPECT_THROW(set_num_threads(kMaxThreads + 1), Error);
}

TEST(ThreadPoolConfig, ParsesKilnNumThreads) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(parse_num_threads(nullptr), std::min(cores, kMaxThreads));
  EXPECT_EQ(parse_num_threads(""), std::min(cores, kMaxThreads));
  EXPECT_EQ(parse_num_threads("1"), 1);
  EXPECT_EQ(parse_num_threads("3"), 3);
  EXPECT_EQ(parse_num_threads("1024"), 1024);
  EXPECT_EQ(error_of([] { parse_num_threads("0"); }),
            "KILN_NUM_THREADS must be an integer from 1 to 1024, got \"0\"");
  for (const char* bad : {"-2", "abc", "4x", " 4", "4 ", "1025", "99999999999999", "2.5", "+4"}) {
    EXPECT_THROW(parse_num_threads(bad), Error) << bad;
  }
}

// The variable is read at the first use of the pool, so these run in a forked child (whose pool
// starts over unconfigured: fork safety is tested on the way).
#if !defined(__SANITIZE_THREAD__)  // ThreadSanitizer does not support threads after fork
int in_child(const std::function<bool()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    bool ok = false;
    try {
      ok = body();
    } catch (...) {
    }
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

bool sums_correctly() {
  std::atomic<int64_t> sum{0};
  parallel_for(0, 1000, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  return sum.load() == 999 * 1000 / 2;
}

TEST_F(ThreadPoolTest, ReadsKilnNumThreadsAtFirstUse) {
  set_num_threads(4);
  ASSERT_TRUE(sums_correctly());  // the parent's pool has running workers when it forks
  EXPECT_EQ(in_child([] {
              setenv("KILN_NUM_THREADS", "3", 1);
              return num_threads() == 3 && sums_correctly();
            }),
            0);
  EXPECT_EQ(in_child([] {
              setenv("KILN_NUM_THREADS", "zero", 1);
              const std::string message =
                  "KILN_NUM_THREADS must be an integer from 1 to 1024, got \"zero\"";
              // Every use fails clearly until set_num_threads replaces the setting.
              if (error_of([] { num_threads(); }) != message) return false;
              if (error_of([] { sums_correctly(); }) != message) return false;
              set_num_threads(2);
              return num_threads() == 2 && sums_correctly();
            }),
            0);
  EXPECT_TRUE(sums_correctly());
}
#endif

// Not a correctness check: prints what one parallel_for costs with an empty body, the number
// kernels of a few microseconds must be compared with.
TEST_F(ThreadPoolTest, ReportsPerCallOverhead) {
  const int threads = std::max(2, std::min(4, parse_num_threads(nullptr)));
  set_num_threads(threads);
  auto measure = [&](int64_t n, int calls, std::chrono::microseconds pause) {
    double total_us = 0;
    for (int i = 0; i < calls; ++i) {
      if (pause.count() > 0) std::this_thread::sleep_for(pause);
      const auto start = Clock::now();
      parallel_for(0, n, 1, [](int64_t, int64_t) {});
      total_us += std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    }
    return total_us / calls;
  };
  measure(threads, 1000, {});  // warm up
  const double inline_us = measure(1, 100000, {});
  const double hot_us = measure(threads, 20000, {});
  const double cold_us = measure(threads, 200, std::chrono::microseconds(2000));
  std::printf(
      "[ overhead ] parallel_for, empty body, %d threads: inline %.3f us, "
      "back-to-back %.2f us, after 2 ms idle %.2f us\n",
      threads, inline_us, hot_us, cold_us);
  // Generous bounds: shared CI machines and sanitizers are slow.
  EXPECT_LT(inline_us, 5.0);
  EXPECT_LT(hot_us, 500.0);
}

}  // namespace
}  // namespace kiln::runtime
