#include "kiln/backends/cpu/kernel_cache.h"

#include <cstdlib>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kiln/backends/cpu/build_id.h"
#include "kiln/backends/cpu/disk_cache.h"
#include "kiln/backends/cpu/jit.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/log.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"

#ifndef KILN_VERSION
#error "KILN_VERSION must be defined (the build sets it for the layer libraries)"
#endif

namespace kiln::backends::cpu {
namespace {

// Names the way disk keys are composed; bumped when that changes. (Changes to kiln's code need no
// bump: the build ID in the key changes with every build.)
constexpr std::string_view kKeyScheme = "kiln-cpu-kernel/1";

void log_cache(std::string_view message) {
  if (runtime::log_enabled("cache")) runtime::log_line("cache", message);
}

}  // namespace

std::string kernel_symbol(std::string_view key) {
  return absl::StrFormat("kiln_k%016x", fnv1a64(key));
}

KernelCache& KernelCache::instance() {
  // Never destroyed, like the JIT: the addresses it hands out must stay valid until exit.
  static KernelCache* const cache = new KernelCache(default_directory(), Jit::instance());
  return *cache;
}

std::optional<std::filesystem::path> KernelCache::default_directory() {
  const char* dir = std::getenv("KILN_CACHE_DIR");
  if (dir != nullptr && *dir != '\0') return std::filesystem::path(dir);
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return std::nullopt;
  return std::filesystem::path(home) / ".cache" / "kiln";
}

KernelCache::KernelCache(std::optional<std::filesystem::path> directory, Jit& jit) : jit_(jit) {
  // CPU objects get a folder of their own, so that other backends can share the cache root.
  if (directory) disk_ = std::make_unique<DiskCache>(*directory / "cpu");
  const HostTarget& host = jit_.host();
  // Length-prefixed fields: no choice of field contents can make two different keys equal.
  auto field = [](std::string_view name, std::string_view value) {
    return absl::StrCat(sv(name), "(", value.size(), ")=", sv(value), "\n");
  };
  target_ = absl::StrCat(field("triple", host.triple), field("cpu", host.cpu),
                         field("features", host.features), field("kiln", KILN_VERSION),
                         field("build", kiln_build_id()));
}

KernelCache::~KernelCache() = default;

std::string KernelCache::disk_key(std::string_view key, std::string_view symbol) const {
  return absl::StrCat(sv(kKeyScheme), "\nkey(", key.size(), ")=", sv(key), "\nsymbol(",
                      symbol.size(), ")=", sv(symbol), "\n", target_);
}

std::optional<std::filesystem::path> KernelCache::disk_path(std::string_view key,
                                                            std::string_view symbol) const {
  if (!disk_) return std::nullopt;
  return disk_->path_for(disk_key(key, symbol));
}

KernelCacheStats KernelCache::stats() const {
  return KernelCacheStats{memory_hits_.load(), disk_hits_.load(), compiles_.load(),
                          disk_stores_.load(), disk_corrupt_.load()};
}

void* KernelCache::get_or_compile(std::string_view key, std::string_view symbol,
                                  ModuleBuilder build) {
  std::string memory_key = absl::StrCat(sv(key), absl::string_view("\0", 1), sv(symbol));
  std::promise<void*> promise;
  std::shared_future<void*> existing;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto [it, inserted] = entries_.try_emplace(memory_key);
    if (inserted) {
      it->second = promise.get_future().share();
    } else {
      existing = it->second;
    }
  }
  if (existing.valid()) {
    // Waits while another thread compiles the kernel, and rethrows its error if that failed.
    void* address = existing.get();
    ++memory_hits_;
    log_cache(absl::StrCat("hit memory ", sv(symbol)));
    return address;
  }
  try {
    void* address = load_or_compile(key, symbol, build);
    promise.set_value(address);
    return address;
  } catch (...) {
    // Forget the failure, so that a later call compiles again, and wake the waiters with it.
    {
      std::lock_guard<std::mutex> lock(mutex_);
      entries_.erase(memory_key);
    }
    promise.set_exception(std::current_exception());
    throw;
  }
}

void* KernelCache::load_or_compile(std::string_view key, std::string_view symbol,
                                   ModuleBuilder build) {
  std::string full_key;
  if (disk_) {
    full_key = disk_key(key, symbol);
    const std::string path = disk_->path_for(full_key).string();
    DiskReadResult cached = disk_->read(full_key);
    switch (cached.status) {
      case DiskReadResult::Status::kHit:
        try {
          void* address = jit_.load(cached.payload, symbol);
          ++disk_hits_;
          log_cache(absl::StrCat("hit disk ", sv(symbol), " ", path));
          return address;
        } catch (const Error& e) {
          // A verified file whose object does not link was written by something else than
          // this kiln: treat it like any damaged file.
          ++disk_corrupt_;
          log_cache(absl::StrCat("corrupt ", path, ": ", e.what(), "; recompiling ", sv(symbol)));
        }
        break;
      case DiskReadResult::Status::kCorrupt:
        ++disk_corrupt_;
        log_cache(
            absl::StrCat("corrupt ", path, ": ", cached.reason, "; recompiling ", sv(symbol)));
        break;
      case DiskReadResult::Status::kMissing:
        // A reason here is an I/O error (permissions...), not damage: worth showing, not fatal.
        log_cache(
            absl::StrCat("miss ", sv(symbol), " ", path,
                         cached.reason.empty() ? "" : absl::StrCat(" (", cached.reason, ")")));
        break;
    }
  } else {
    log_cache(absl::StrCat("miss ", sv(symbol), " (no disk cache)"));
  }

  const std::string object = jit_.compile_to_object(build());
  void* address = jit_.load(object, symbol);
  ++compiles_;
  if (disk_) {
    std::string error;
    if (disk_->write(full_key, object, &error)) {
      ++disk_stores_;
      log_cache(absl::StrCat("store ", sv(symbol), " ", disk_->path_for(full_key).string(), " (",
                             object.size(), " bytes)"));
    } else {
      log_cache(absl::StrCat("store failed for ", sv(symbol), ": ", error));
    }
  }
  return address;
}

}  // namespace kiln::backends::cpu
