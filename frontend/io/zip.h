// The ZIP container of torch.save files (PyTorch's PyTorchStreamWriter, built on miniz): every
// entry stored uncompressed, a ZIP64 end record always present, sizes in the central directory
// (local headers carry data descriptors). Only what loading needs is read: the central
// directory, and each entry's data range, which is checked to lie inside the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "kiln/frontend/io/byte_source.h"

namespace kiln::io::zip {

struct Entry {
  std::string name;
  uint64_t data_offset = 0;  // of the entry's bytes in the file
  uint64_t size = 0;
};

// True when the bytes start like a ZIP archive (a local file header, or an empty archive).
bool looks_like_zip(const ByteSource& source);

class Archive {
 public:
  // Reads and checks the central directory and every entry's local header. Throws kiln::Error
  // on bad signatures, ranges outside the file, duplicate names, encrypted or compressed
  // entries (torch.save never compresses; kiln reads stored entries only).
  explicit Archive(const ByteSource& source);

  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(std::string_view name) const;
  // The entry's bytes; throws naming `what` when absent.
  std::vector<uint8_t> read(std::string_view name, std::string_view what) const;

 private:
  const ByteSource& source_;
  std::vector<Entry> entries_;
  absl::flat_hash_map<std::string, size_t> index_;  // name -> position in entries_
};

}  // namespace kiln::io::zip
