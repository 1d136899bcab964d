#include "kiln/runtime/cpu_allocator.h"

#include <pthread.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "kiln/runtime/error.h"

#if defined(__SANITIZE_ADDRESS__) && __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#define KILN_POISON(addr, size) ASAN_POISON_MEMORY_REGION(addr, size)
#define KILN_UNPOISON(addr, size) ASAN_UNPOISON_MEMORY_REGION(addr, size)
#else
#define KILN_POISON(addr, size) ((void)(addr), (void)(size))
#define KILN_UNPOISON(addr, size) ((void)(addr), (void)(size))
#endif

namespace kiln::runtime {
namespace {

constexpr size_t kMaxRequest = size_t{1} << 62;
constexpr int64_t kDefaultLimitMB = 4096;
constexpr int64_t kMaxLimitMB = (int64_t{1} << 43) - 1;  // so the byte count fits in int64

#ifdef KILN_SANITIZE
// Under the sanitizers every free goes to the system unless a limit is set explicitly: a block
// reused at once would hide a use-after-free from AddressSanitizer.
constexpr bool kCacheByDefault = false;
#else
constexpr bool kCacheByDefault = true;
#endif

// Makes [0, nbytes) of a block addressable and the rest of its class poisoned (no-ops without
// AddressSanitizer).
void expose(void* block, size_t nbytes, size_t size_class) {
  KILN_UNPOISON(block, nbytes);
  KILN_POISON(static_cast<char*>(block) + nbytes, size_class - nbytes);
}

class CpuAllocator {
 public:
  void* allocate(size_t nbytes) {
    const size_t size_class = cpu_size_class(nbytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      configure();
      auto it = free_.find(size_class);
      if (it != free_.end() && !it->second.empty()) {
        void* block = it->second.back();
        it->second.pop_back();
        cached_ -= static_cast<int64_t>(size_class);
        add_in_use(nbytes);
        expose(block, nbytes, size_class);
        return block;
      }
    }
    void* block = std::aligned_alloc(kCpuAlignment, size_class);
    if (block == nullptr) {
      empty_cache();  // cached blocks of other classes may be what the system is missing
      block = std::aligned_alloc(kCpuAlignment, size_class);
    }
    if (block == nullptr) {
      throw Error("out of memory allocating " + std::to_string(nbytes) + " bytes on cpu");
    }
    expose(block, nbytes, size_class);
    std::lock_guard<std::mutex> lock(mu_);
    ++allocations_;
    add_in_use(nbytes);
    return block;
  }

  void free(void* block, size_t nbytes) noexcept {
    const size_t size_class = cpu_size_class(nbytes);
    // Poisoned before it is visible on a free list: afterwards another thread may already own it.
    KILN_POISON(block, size_class);
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_use_ -= static_cast<int64_t>(nbytes);
      if (cached_ + static_cast<int64_t>(size_class) <= limit_) {
        try {
          free_[size_class].push_back(block);
          cached_ += static_cast<int64_t>(size_class);
          return;
        } catch (...) {  // no memory for the free list: give the block back instead
        }
      }
    }
    KILN_UNPOISON(block, size_class);
    std::free(block);
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    MemoryStats s;
    s.bytes_in_use = in_use_;
    s.peak_bytes_in_use = peak_;
    s.bytes_cached = cached_;
    s.num_allocations = allocations_;
    return s;
  }

  void empty_cache() { trim(0); }

  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    peak_ = in_use_;
  }

  int64_t limit() {
    std::lock_guard<std::mutex> lock(mu_);
    configure();
    return limit_;
  }

  void set_limit(int64_t bytes) {
    if (bytes < 0) {
      throw Error("set_cpu_cache_limit: the limit must be >= 0 bytes, got " +
                  std::to_string(bytes));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      limit_ = bytes;
    }
    trim(bytes);
  }

  // fork() in another thread while this one holds mu_ would leave the child's copy locked.
  void lock_for_fork() { mu_.lock(); }
  void unlock_after_fork() { mu_.unlock(); }

 private:
  // Reads KILN_CPU_CACHE_LIMIT_MB at the first allocation (under mu_). Throws, leaving the
  // allocator unconfigured, when the variable is invalid.
  void configure() {
    if (limit_ >= 0) return;
    const char* text = std::getenv("KILN_CPU_CACHE_LIMIT_MB");
    const bool set = text != nullptr && *text != '\0';
    limit_ = set || kCacheByDefault ? parse_cpu_cache_limit(text) : 0;
  }

  void add_in_use(size_t nbytes) {
    in_use_ += static_cast<int64_t>(nbytes);
    peak_ = std::max(peak_, in_use_);
  }

  // Frees cached blocks (largest classes first) until at most `keep` bytes stay cached.
  void trim(int64_t keep) {
    std::vector<std::pair<void*, size_t>> released;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cached_ <= keep) return;
      std::vector<size_t> classes;
      for (const auto& [size_class, blocks] : free_) {
        if (!blocks.empty()) classes.push_back(size_class);
      }
      std::sort(classes.rbegin(), classes.rend());
      for (size_t size_class : classes) {
        std::vector<void*>& blocks = free_[size_class];
        while (!blocks.empty() && cached_ > keep) {
          released.emplace_back(blocks.back(), size_class);
          blocks.pop_back();
          cached_ -= static_cast<int64_t>(size_class);
        }
        if (blocks.empty()) free_.erase(size_class);
        if (cached_ <= keep) break;
      }
    }
    for (const auto& [block, size_class] : released) {
      KILN_UNPOISON(block, size_class);
      std::free(block);
    }
  }

  std::mutex mu_;
  // Size class -> cached blocks, reused last-in first-out (the most recently touched memory).
  absl::flat_hash_map<size_t, std::vector<void*>> free_;
  int64_t in_use_ = 0;  // requested bytes of live blocks
  int64_t peak_ = 0;
  int64_t cached_ = 0;       // class bytes of cached blocks
  int64_t allocations_ = 0;  // system allocations
  int64_t limit_ = -1;       // -1 until configure()
};

// Never destroyed: buffers held by other static objects may be freed during static
// destruction, after this file's statics would be gone. (Cached blocks stay reachable from it,
// so LeakSanitizer does not report them.)
CpuAllocator& allocator() {
  static CpuAllocator* const instance = [] {
    auto* a = new CpuAllocator;
    pthread_atfork([] { allocator().lock_for_fork(); }, [] { allocator().unlock_after_fork(); },
                   [] { allocator().unlock_after_fork(); });
    return a;
  }();
  return *instance;
}

}  // namespace

size_t cpu_size_class(size_t nbytes) {
  if (nbytes > kMaxRequest) {
    throw Error("out of memory: cannot allocate " + std::to_string(nbytes) + " bytes on cpu");
  }
  if (nbytes <= 256) return std::max<size_t>((nbytes + 63) / 64 * 64, 64);
  const size_t step = std::bit_floor(nbytes - 1) / 4;  // four classes per power of two
  return (nbytes + step - 1) & ~(step - 1);
}

void* cpu_allocate(size_t nbytes) { return allocator().allocate(nbytes); }
void cpu_free(void* data, size_t nbytes) noexcept { allocator().free(data, nbytes); }
MemoryStats cpu_memory_stats() { return allocator().stats(); }
void cpu_empty_cache() { allocator().empty_cache(); }
void cpu_reset_peak_memory_stats() { allocator().reset_peak(); }
int64_t cpu_cache_limit() { return allocator().limit(); }
void set_cpu_cache_limit(int64_t bytes) { allocator().set_limit(bytes); }

int64_t parse_cpu_cache_limit(const char* text) {
  if (text == nullptr || *text == '\0') return kDefaultLimitMB << 20;
  const char* end = text + std::strlen(text);
  int64_t mb = 0;
  const auto [ptr, ec] = std::from_chars(text, end, mb);
  if (ec != std::errc() || ptr != end || mb < 0 || mb > kMaxLimitMB) {
    throw Error(std::string("KILN_CPU_CACHE_LIMIT_MB must be a non-negative integer number of "
                            "megabytes, got \"") +
                text + "\"");
  }
  return mb << 20;
}

}  // namespace kiln::runtime
