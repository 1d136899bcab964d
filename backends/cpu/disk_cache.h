// The on-disk store of compiled kernel objects: one file per key in a directory that several
// processes may share.
//
// A file holds a small header and then the key and the payload:
//
//   offset  size  field
//   0       8     magic "KILNKOBJ"
//   8       4     format version (kDiskFormatVersion), little-endian like the fields below
//   12      4     key length K
//   16      8     payload length P
//   24      8     FNV-1a 64 checksum of the key bytes followed by the payload bytes
//   32      K     the full key
//   32+K    P     the payload (an object file)
//
// Writers never modify a file in place: they write a unique temporary file in the same
// directory, fsync it and rename it over the final name, which is atomic, so a reader sees a
// whole old file, a whole new file or none. Readers still verify everything (a crash, a full
// disk or another program can leave anything behind), and a file that fails verification is
// reported as corrupt, never returned; the caller recompiles and writes a good one over it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace kiln::backends::cpu {

inline constexpr uint32_t kDiskFormatVersion = 1;
inline constexpr size_t kDiskHeaderSize = 32;

// 64-bit FNV-1a: stable across processes and builds (unlike absl::Hash, which is seeded per
// process), so it can name files and check their contents. Chain calls through `state`.
inline constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ull;
uint64_t fnv1a64(std::string_view bytes, uint64_t state = kFnvOffsetBasis);

// The bytes of a cache file holding `payload` under `key`.
std::string encode_cache_file(std::string_view key, std::string_view payload);

struct DiskReadResult {
  enum class Status { kHit, kMissing, kCorrupt };
  Status status = Status::kMissing;
  std::string payload;  // kHit: the verified payload
  std::string reason;   // kCorrupt: what was wrong; kMissing: empty or the I/O error
};

// Checks the bytes of a cache file against `key`; returns the payload or why not.
DiskReadResult decode_cache_file(std::string_view bytes, std::string_view key);

class DiskCache {
 public:
  // Files go to `directory`, created on the first write.
  explicit DiskCache(std::filesystem::path directory);

  const std::filesystem::path& directory() const { return directory_; }

  // The file for `key`: named by the key's hash; the file holds the key itself, so two keys
  // with the same hash replace each other's file but never read each other's payload.
  std::filesystem::path path_for(std::string_view key) const;

  // Reads and verifies `key`'s file. Never throws for I/O problems: a cache that cannot be read
  // only costs a recompile.
  DiskReadResult read(std::string_view key) const;

  // Atomically (re)places `key`'s file. Returns false and sets *error when the file cannot be
  // written (read-only or full disk...); the temporary file is then removed.
  bool write(std::string_view key, std::string_view payload, std::string* error) const;

 private:
  std::filesystem::path directory_;
};

}  // namespace kiln::backends::cpu
