#include "cuda/nvrtc_test_cache.h"

#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kiln/backends/cpu/disk_cache.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::test {
namespace {

namespace bc = backends::cuda;

const std::optional<backends::cpu::DiskCache>& test_cache() {
  static const std::optional<backends::cpu::DiskCache> cache =
      []() -> std::optional<backends::cpu::DiskCache> {
    const char* dir = std::getenv("KILN_NVRTC_TEST_CACHE");
    if (dir == nullptr || *dir == '\0') return std::nullopt;
    return backends::cpu::DiskCache(dir);
  }();
  return cache;
}

// Payload: "cubin" or "ptx", the log's length, a newline, the log, then the image.
std::string encode(const bc::CompiledModule& m) {
  return absl::StrCat(m.is_cubin ? "cubin " : "ptx ", m.log.size(), "\n", m.log, m.image);
}

std::optional<bc::CompiledModule> decode(std::string_view payload) {
  const size_t space = payload.find(' ');
  const size_t newline = payload.find('\n');
  if (space == std::string_view::npos || newline == std::string_view::npos || newline < space)
    return std::nullopt;
  size_t log_size = 0;
  if (!absl::SimpleAtoi(sv(payload.substr(space + 1, newline - space - 1)), &log_size) ||
      log_size > payload.size() - newline - 1)
    return std::nullopt;
  bc::CompiledModule m;
  m.is_cubin = payload.substr(0, space) == "cubin";
  m.log = std::string(payload.substr(newline + 1, log_size));
  m.image = std::string(payload.substr(newline + 1 + log_size));
  return m;
}

}  // namespace

bc::CompiledModule nvrtc_compile_cached(std::string_view source, std::string_view name, int arch,
                                        bool cubin, bc::NvrtcFlags flags) {
  const std::optional<backends::cpu::DiskCache>& cache = test_cache();
  return nvrtc_compile_cached(cache ? &*cache : nullptr, source, name, arch, cubin, flags);
}

bc::CompiledModule nvrtc_compile_cached(const backends::cpu::DiskCache* cache,
                                        std::string_view source, std::string_view name, int arch,
                                        bool cubin, bc::NvrtcFlags flags, bool* from_store) {
  if (from_store != nullptr) *from_store = false;
  if (cache == nullptr || !bc::nvrtc_available())
    return bc::nvrtc_compile(source, name, arch, cubin, flags);
  const std::string key =
      absl::StrCat("nvrtc test compile\nnvrtc ", bc::nvrtc_version(), "\noptions ",
                   absl::StrJoin(bc::nvrtc_options(arch, cubin, flags), " "), "\nname ", sv(name),
                   "\n", sv(source));
  const backends::cpu::DiskReadResult stored = cache->read(key);
  if (stored.status == backends::cpu::DiskReadResult::Status::kHit) {
    if (std::optional<bc::CompiledModule> m = decode(stored.payload)) {
      if (from_store != nullptr) *from_store = true;
      return *m;
    }
  }
  bc::CompiledModule m = bc::nvrtc_compile(source, name, arch, cubin, flags);
  std::string error;
  cache->write(key, encode(m), &error);  // an unwritable cache only costs compiles later
  return m;
}

}  // namespace kiln::test
