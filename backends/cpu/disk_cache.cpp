#include "kiln/backends/cpu/disk_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::backends::cpu {
namespace {

constexpr std::string_view kMagic("KILNKOBJ", 8);
// Far above any kernel's object code; a larger file is damaged, and is not read into memory.
constexpr uint64_t kMaxFileSize = uint64_t{1} << 30;

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t get_le(std::string_view bytes, size_t offset, int size) {
  uint64_t value = 0;
  for (int i = 0; i < size; ++i) {
    value |= uint64_t{static_cast<unsigned char>(bytes[offset + i])} << (8 * i);
  }
  return value;
}

std::string errno_message(std::string_view what, const std::filesystem::path& path, int error) {
  return absl::StrCat(sv(what), " ", path.string(), ": ",
                      std::error_code(error, std::generic_category()).message());
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Temporary names must be unique among all processes writing to the directory: the pid and a
// per-process counter make them unique on one machine, the random salt across machines (or pid
// namespaces) sharing the directory. O_EXCL catches whatever collision remains.
std::string temp_name(const std::filesystem::path& final_path) {
  static const uint64_t salt = [] {
    std::random_device device;
    return (uint64_t{device()} << 32) ^ device();
  }();
  static std::atomic<uint64_t> counter{0};
  return absl::StrFormat("%s.tmp.%d.%016x.%d", final_path.string(), ::getpid(), salt,
                         counter.fetch_add(1));
}

}  // namespace

uint64_t fnv1a64(std::string_view bytes, uint64_t state) {
  for (const char c : bytes) {
    state ^= static_cast<unsigned char>(c);
    state *= 0x100000001b3ull;
  }
  return state;
}

std::string encode_cache_file(std::string_view key, std::string_view payload) {
  std::string out;
  out.reserve(kDiskHeaderSize + key.size() + payload.size());
  out.append(kMagic);
  put_le(out, kDiskFormatVersion, 4);
  put_le(out, key.size(), 4);
  put_le(out, payload.size(), 8);
  put_le(out, fnv1a64(payload, fnv1a64(key)), 8);
  out.append(key);
  out.append(payload);
  return out;
}

DiskReadResult decode_cache_file(std::string_view bytes, std::string_view key) {
  DiskReadResult result;
  result.status = DiskReadResult::Status::kCorrupt;
  if (bytes.size() < kDiskHeaderSize) {
    result.reason = absl::StrCat("truncated header (", bytes.size(), " bytes)");
    return result;
  }
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    result.reason = "not a kiln kernel cache file (bad magic)";
    return result;
  }
  const uint64_t version = get_le(bytes, 8, 4);
  if (version != kDiskFormatVersion) {
    result.reason = absl::StrCat("format version ", version, ", expected ", kDiskFormatVersion);
    return result;
  }
  const uint64_t key_size = get_le(bytes, 12, 4);
  const uint64_t payload_size = get_le(bytes, 16, 8);
  const uint64_t checksum = get_le(bytes, 24, 8);
  // Compared by subtraction, since a damaged payload length can make a sum overflow.
  const uint64_t body_size = bytes.size() - kDiskHeaderSize;
  if (key_size > body_size || payload_size != body_size - key_size) {
    result.reason = absl::StrCat("size mismatch: header announces ", key_size, " + ", payload_size,
                                 " bytes, the file holds ", body_size);
    return result;
  }
  const std::string_view stored_key = bytes.substr(kDiskHeaderSize, key_size);
  const std::string_view payload = bytes.substr(kDiskHeaderSize + key_size);
  if (stored_key != key) {
    result.reason = "the file holds another key";
    return result;
  }
  if (fnv1a64(payload, fnv1a64(stored_key)) != checksum) {
    result.reason = "checksum mismatch";
    return result;
  }
  result.status = DiskReadResult::Status::kHit;
  result.payload = std::string(payload);
  return result;
}

DiskCache::DiskCache(std::filesystem::path directory) : directory_(std::move(directory)) {}

std::filesystem::path DiskCache::path_for(std::string_view key) const {
  return directory_ / absl::StrFormat("%016x.kobj", fnv1a64(key));
}

DiskReadResult DiskCache::read(std::string_view key) const {
  DiskReadResult result;
  const std::filesystem::path path = path_for(key);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) result.reason = errno_message("cannot open", path, errno);
    return result;  // kMissing
  }
  struct stat info {};
  std::string bytes;
  bool ok = ::fstat(fd, &info) == 0;
  if (ok && static_cast<uint64_t>(info.st_size) > kMaxFileSize) {
    ::close(fd);
    result.status = DiskReadResult::Status::kCorrupt;
    result.reason = absl::StrCat("implausibly large (", info.st_size, " bytes)");
    return result;
  }
  if (ok) {
    // Files are replaced by rename, never changed in place, so the size read here stays true
    // for this descriptor; reading to end of file copes with anything else.
    bytes.resize(static_cast<size_t>(info.st_size));
    size_t done = 0;
    while (ok && done < bytes.size()) {
      const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ok = n == 0;
        bytes.resize(done);
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
  const int read_errno = errno;
  ::close(fd);
  if (!ok) {
    result.reason = errno_message("cannot read", path, read_errno);
    return result;  // kMissing: an I/O error says nothing about the file's contents
  }
  return decode_cache_file(bytes, key);
}

bool DiskCache::write(std::string_view key, std::string_view payload, std::string* error) const {
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
  if (ec) {
    *error = absl::StrCat("cannot create ", directory_.string(), ": ", ec.message());
    return false;
  }
  const std::filesystem::path final_path = path_for(key);
  std::string temp;
  int fd = -1;
  for (int attempt = 0; attempt < 4 && fd < 0; ++attempt) {
    temp = temp_name(final_path);
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    *error = errno_message("cannot create", temp, errno);
    return false;
  }
  // fsync before rename: otherwise a crash can leave the new name pointing at a file whose
  // data never reached the disk (readers would reject it, but the good file would be lost).
  const std::string bytes = encode_cache_file(key, payload);
  std::string failure;
  if (!write_all(fd, bytes)) {
    failure = errno_message("cannot write", temp, errno);
  } else if (::fsync(fd) != 0) {
    failure = errno_message("cannot fsync", temp, errno);
  }
  if (::close(fd) != 0 && failure.empty()) failure = errno_message("cannot close", temp, errno);
  if (failure.empty() && ::rename(temp.c_str(), final_path.c_str()) != 0) {
    failure = errno_message("cannot rename to", final_path, errno);
  }
  if (!failure.empty()) {
    ::unlink(temp.c_str());
    *error = std::move(failure);
    return false;
  }
  return true;
}

}  // namespace kiln::backends::cpu
