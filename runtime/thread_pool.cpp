#include "kiln/runtime/thread_pool.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "kiln/runtime/error.h"

namespace kiln::runtime {
namespace {

// How long an idle worker (or a caller waiting for workers) spins before it sleeps on a futex.
// Kernels arrive in bursts of microsecond-sized calls: a worker that just finished usually gets
// the next job within microseconds, and waking a sleeper costs a system call on both sides
// (several microseconds). Bounded by time, not by iterations, because a pause instruction
// takes anywhere from ~3 ns to ~50 ns depending on the CPU.
constexpr auto kSpinTime = std::chrono::microseconds(100);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Spins until done() holds (true) or kSpinTime has passed (false); reads the clock only every
// 16 pauses.
template <class Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  while (true) {
    for (int i = 0; i < 16; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
  }
}

// Set on pool workers for good and on a caller while it runs chunks: parallel_for called with
// it set runs inline, so nesting never waits on a pool that is busy running its parent.
thread_local bool t_in_parallel = false;

class InParallel {
 public:
  InParallel() : saved_(t_in_parallel) { t_in_parallel = true; }
  ~InParallel() { t_in_parallel = saved_; }
  InParallel(const InParallel&) = delete;
  InParallel& operator=(const InParallel&) = delete;

 private:
  bool saved_;
};

// The job word packs the job's generation (32 bits), its chunk count (16) and the next
// unclaimed chunk (16). Claiming a chunk is one CAS on it, and a successful CAS also proves the
// job is still current, so a worker that wakes late can never run a chunk of a finished job
// with the parameters of the next one.
constexpr uint64_t pack_job(uint32_t generation, uint32_t chunks, uint32_t next) {
  return (uint64_t{generation} << 32) | (uint64_t{chunks} << 16) | next;
}
static_assert(kMaxThreads < (1 << 16), "the job word holds chunk indices in 16 bits");

struct Pool {
  // Serializes jobs (one parallel_for at a time; concurrent callers take turns) and resizing.
  std::mutex mu;
  std::atomic<int> size{0};  // 0 until the first use reads KILN_NUM_THREADS
  std::vector<std::thread> workers;
  std::atomic<bool> stopping{false};
  uint32_t generation = 0;  // under mu

  // The current job (written under mu before the job word publishes it).
  RangeFn fn = nullptr;
  void* context = nullptr;
  int64_t begin = 0;
  uint64_t quotient = 0;  // chunk i has quotient + (i < remainder) elements
  uint64_t remainder = 0;
  std::exception_ptr error;  // the first failure; written by whoever sets `failed`
  std::atomic<bool> failed{false};

  // Hot atomics on their own cache lines: workers hammer `job` and `pending`.
  alignas(64) std::atomic<uint64_t> job{0};
  alignas(64) std::atomic<int> pending{0};  // chunks not finished yet
  std::atomic<bool> caller_sleeping{false};
  alignas(64) std::atomic<uint32_t> wake{0};  // bumped per job; idle workers sleep on it
  std::atomic<int> sleepers{0};

  Pool* previous = nullptr;  // the pool a fork() child abandoned; kept reachable (see pool())
};

Pool* g_pool = nullptr;

// Never destroyed: workers would otherwise have to be joined during static destruction, while
// other static objects may still run kernels. After fork() the child has none of the parent's
// workers (and maybe a locked mutex), so it starts over with a fresh, unconfigured pool.
Pool& pool() {
  static const bool initialized = [] {
    g_pool = new Pool;
    pthread_atfork(nullptr, nullptr, [] {
      Pool* fresh = new Pool;
      fresh->previous = g_pool;
      g_pool = fresh;
    });
    return true;
  }();
  (void)initialized;
  return *g_pool;
}

void run_chunk(Pool& p, uint32_t index) {
  if (p.failed.load(std::memory_order_relaxed)) return;  // a chunk failed: skip the rest
  const uint64_t offset = index * p.quotient + std::min<uint64_t>(index, p.remainder);
  const uint64_t count = p.quotient + (index < p.remainder ? 1 : 0);
  const auto chunk_begin = static_cast<int64_t>(static_cast<uint64_t>(p.begin) + offset);
  const auto chunk_end = static_cast<int64_t>(static_cast<uint64_t>(chunk_begin) + count);
  try {
    p.fn(p.context, chunk_begin, chunk_end);
  } catch (...) {
    if (!p.failed.exchange(true, std::memory_order_acq_rel)) p.error = std::current_exception();
  }
}

// Claims and runs chunks of the current job until none is left (workers and the caller alike).
void run_chunks(Pool& p) {
  uint64_t word = p.job.load(std::memory_order_acquire);
  while (true) {
    const auto chunks = static_cast<uint32_t>((word >> 16) & 0xffff);
    const auto next = static_cast<uint32_t>(word & 0xffff);
    if (next >= chunks) return;
    if (!p.job.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      continue;
    }
    run_chunk(p, next);
    // seq_cst pairs with the caller's store of caller_sleeping (no lost wake-up).
    if (p.pending.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        p.caller_sleeping.load(std::memory_order_seq_cst)) {
      p.pending.notify_one();
    }
    word = p.job.load(std::memory_order_acquire);
  }
}

uint32_t wait_for_wake(Pool& p, uint32_t seen) {
  uint32_t now = seen;
  if (spin_until([&] { return (now = p.wake.load(std::memory_order_acquire)) != seen; })) {
    return now;
  }
  // seq_cst pairs with the publisher's wake store + sleepers load (no lost wake-up).
  p.sleepers.fetch_add(1, std::memory_order_seq_cst);
  while ((now = p.wake.load(std::memory_order_seq_cst)) == seen) {
    p.wake.wait(seen, std::memory_order_seq_cst);
  }
  p.sleepers.fetch_sub(1, std::memory_order_relaxed);
  return now;
}

void worker_main(Pool* p, uint32_t seen) {
  t_in_parallel = true;
  while (true) {
    seen = wait_for_wake(*p, seen);
    if (p->stopping.load(std::memory_order_acquire)) return;
    run_chunks(*p);
  }
}

void wait_for_chunks(Pool& p) {
  if (spin_until([&] { return p.pending.load(std::memory_order_acquire) == 0; })) return;
  p.caller_sleeping.store(true, std::memory_order_seq_cst);
  int left;
  while ((left = p.pending.load(std::memory_order_seq_cst)) != 0) {
    p.pending.wait(left, std::memory_order_seq_cst);
  }
  p.caller_sleeping.store(false, std::memory_order_relaxed);
}

void publish_wake(Pool& p) {
  p.wake.store(p.generation, std::memory_order_seq_cst);
  if (p.sleepers.load(std::memory_order_seq_cst) > 0) p.wake.notify_all();
}

// Both under p.mu.
void stop_workers(Pool& p) {
  if (p.workers.empty()) return;
  p.stopping.store(true, std::memory_order_release);
  ++p.generation;
  publish_wake(p);
  for (std::thread& t : p.workers) t.join();
  p.workers.clear();
  p.stopping.store(false, std::memory_order_relaxed);
}

void start_workers(Pool& p, int n) {
  try {
    p.workers.reserve(static_cast<size_t>(n - 1));
    for (int i = 1; i < n; ++i) p.workers.emplace_back(worker_main, &p, p.generation);
  } catch (const std::system_error& e) {
    stop_workers(p);
    throw Error("thread pool: could not start " + std::to_string(n - 1) +
                " worker threads: " + e.what());
  }
  p.size.store(n, std::memory_order_release);
}

// The pool size, reading KILN_NUM_THREADS and starting the workers at the first call.
int configured_size(Pool& p) {
  const int n = p.size.load(std::memory_order_acquire);
  if (n > 0) return n;
  std::lock_guard<std::mutex> lock(p.mu);
  if (p.size.load(std::memory_order_relaxed) == 0) {
    start_workers(p, parse_num_threads(std::getenv("KILN_NUM_THREADS")));
  }
  return p.size.load(std::memory_order_relaxed);
}

}  // namespace

int parse_num_threads(const char* text) {
  if (text == nullptr || *text == '\0') {
    const unsigned cores = std::thread::hardware_concurrency();
    return static_cast<int>(std::clamp<unsigned>(cores, 1, kMaxThreads));
  }
  const char* end = text + std::strlen(text);
  int value = 0;
  const auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end || value < 1 || value > kMaxThreads) {
    throw Error("KILN_NUM_THREADS must be an integer from 1 to " + std::to_string(kMaxThreads) +
                ", got \"" + text + "\"");
  }
  return value;
}

int num_threads() { return configured_size(pool()); }

void set_num_threads(int n) {
  if (n < 1 || n > kMaxThreads) {
    throw Error("set_num_threads: the thread count must be from 1 to " +
                std::to_string(kMaxThreads) + ", got " + std::to_string(n));
  }
  if (t_in_parallel) throw Error("set_num_threads: cannot resize the pool inside parallel_for");
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  if (p.size.load(std::memory_order_relaxed) == n) return;
  stop_workers(p);
  start_workers(p, n);
}

bool in_parallel_region() { return t_in_parallel; }

void parallel_for(int64_t begin, int64_t end, int64_t grain, RangeFn fn, void* context) {
  if (end <= begin) return;
  // Unsigned: end - begin may exceed INT64_MAX.
  const uint64_t n = static_cast<uint64_t>(end) - static_cast<uint64_t>(begin);
  const uint64_t min_chunk = grain > 0 ? static_cast<uint64_t>(grain) : 1;
  if (t_in_parallel || n / min_chunk < 2) {
    fn(context, begin, end);
    return;
  }
  Pool& p = pool();
  if (configured_size(p) == 1) {
    fn(context, begin, end);
    return;
  }

  std::unique_lock<std::mutex> lock(p.mu);
  const uint64_t chunks = std::min<uint64_t>(
      static_cast<uint64_t>(p.size.load(std::memory_order_relaxed)), n / min_chunk);
  if (chunks < 2) {  // resized to one thread meanwhile
    lock.unlock();
    fn(context, begin, end);
    return;
  }
  p.fn = fn;
  p.context = context;
  p.begin = begin;
  p.quotient = n / chunks;
  p.remainder = n % chunks;
  p.failed.store(false, std::memory_order_relaxed);
  p.pending.store(static_cast<int>(chunks), std::memory_order_relaxed);
  ++p.generation;
  p.job.store(pack_job(p.generation, static_cast<uint32_t>(chunks), 0), std::memory_order_release);
  publish_wake(p);
  {
    InParallel in_parallel;
    run_chunks(p);
  }
  wait_for_chunks(p);
  if (p.failed.load(std::memory_order_relaxed)) {
    std::exception_ptr error = std::exchange(p.error, nullptr);
    lock.unlock();
    std::rethrow_exception(std::move(error));
  }
}

}  // namespace kiln::runtime
