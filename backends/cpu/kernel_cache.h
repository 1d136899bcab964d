// The kernel cache of the CPU backend: kernel key -> address of its compiled function, kept in
// memory for the process and, as object code, on disk for later processes.
//
// Code generation asks get_or_compile() with the kernel's structural key (a string that is
// equal for kernels that compile to the same code, e.g. a hash of the fused loop IR), the
// symbol its module defines and a callback that builds that module. The callback only runs on a
// miss, so a cached kernel costs no IR construction.
//
// The disk key adds what else decides the object code: the host triple, CPU name and CPU
// features, the kiln version and the build ID of kiln's binary (build_id.h). An object compiled
// on another CPU or by another build of kiln is thus never loaded, and a file that fails
// verification is recompiled and replaced (disk_cache.h).
//
// Observable through KILN_LOG=cache (hit/miss/store/corrupt lines) and stats().
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"

namespace llvm::orc {
class ThreadSafeModule;
}  // namespace llvm::orc

namespace kiln::backends::cpu {

class DiskCache;
class Jit;

// A symbol name for the kernel with structural key `key`: "kiln_k" + 16 hex digits of its
// hash. Distinct kernels get distinct names, which keeps profiles and IR dumps readable.
std::string kernel_symbol(std::string_view key);

struct KernelCacheStats {
  uint64_t memory_hits = 0;  // includes callers that waited for another thread's compile
  uint64_t disk_hits = 0;
  uint64_t compiles = 0;
  uint64_t disk_stores = 0;
  uint64_t disk_corrupt = 0;  // files rejected by verification, or whose object did not load
};

class KernelCache {
 public:
  using ModuleBuilder = absl::FunctionRef<llvm::orc::ThreadSafeModule()>;

  // The process-wide cache over Jit::instance(), with the disk directory from the environment
  // (default_directory()). Never destroyed, like the JIT.
  static KernelCache& instance();

  // $KILN_CACHE_DIR if set and not empty, else $HOME/.cache/kiln, else none ($HOME unset):
  // the disk cache is then off.
  static std::optional<std::filesystem::path> default_directory();

  // A cache over `jit` whose disk part lives in `directory` (none: memory only).
  explicit KernelCache(std::optional<std::filesystem::path> directory, Jit& jit);
  ~KernelCache();
  KernelCache(const KernelCache&) = delete;
  KernelCache& operator=(const KernelCache&) = delete;

  // Returns the address of function `symbol` of kernel `key`: from memory, else from the disk
  // cache, else by compiling build()'s module (then stored on disk). Thread-safe; concurrent
  // calls for one kernel compile it once while the others wait. Throws kiln::Error when the
  // module is invalid or does not compile or link; the next call for the key tries again.
  void* get_or_compile(std::string_view key, std::string_view symbol, ModuleBuilder build);

  // The full disk key of a kernel: key scheme, kernel key, symbol, target, kiln version and
  // build ID.
  std::string disk_key(std::string_view key, std::string_view symbol) const;
  // The file that holds (or would hold) the kernel's object; none without a disk cache.
  std::optional<std::filesystem::path> disk_path(std::string_view key,
                                                 std::string_view symbol) const;

  KernelCacheStats stats() const;

 private:
  void* load_or_compile(std::string_view key, std::string_view symbol, ModuleBuilder build);

  Jit& jit_;
  std::unique_ptr<DiskCache> disk_;
  std::string target_;  // the host part of disk keys

  std::mutex mutex_;
  // Memory key -> the address, or the compile in progress (other callers wait on it).
  absl::flat_hash_map<std::string, std::shared_future<void*>> entries_;

  std::atomic<uint64_t> memory_hits_{0};
  std::atomic<uint64_t> disk_hits_{0};
  std::atomic<uint64_t> compiles_{0};
  std::atomic<uint64_t> disk_stores_{0};
  std::atomic<uint64_t> disk_corrupt_{0};
};

}  // namespace kiln::backends::cpu
