// Where a file being loaded comes from: a span in memory (tests, the fuzzer) or a file on disk
// read with pread, so that tensor bytes go straight from the file into their buffers and a
// checkpoint is never held in memory twice. Every read is bounds-checked against the size
// here, so the format readers above cannot read outside the input whatever its headers say.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"

namespace kiln::io {

// Throws kiln::Error("kiln::load: <file>: <what>").
[[noreturn]] void load_error(std::string_view file, std::string_view what);

class ByteSource {
 public:
  explicit ByteSource(std::string name, uint64_t size) : name_(std::move(name)), size_(size) {}
  virtual ~ByteSource() = default;
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  const std::string& name() const { return name_; }
  uint64_t size() const { return size_; }

  // Copies bytes [offset, offset + n) to dst. `what` names the structure being read, for the
  // error thrown when the range lies outside the input.
  void read(uint64_t offset, uint64_t n, void* dst, std::string_view what) const;
  std::vector<uint8_t> read_bytes(uint64_t offset, uint64_t n, std::string_view what) const;
  // Throws kiln::Error naming this input.
  [[noreturn]] void fail(std::string_view what) const { load_error(name_, what); }

 protected:
  // The range is already checked against size().
  virtual void read_checked(uint64_t offset, uint64_t n, void* dst) const = 0;

 private:
  std::string name_;
  uint64_t size_;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(absl::Span<const uint8_t> bytes, std::string name)
      : ByteSource(std::move(name), bytes.size()), bytes_(bytes) {}

 private:
  void read_checked(uint64_t offset, uint64_t n, void* dst) const override;
  absl::Span<const uint8_t> bytes_;
};

class FileSource final : public ByteSource {
 public:
  // Opens `path` for reading; throws kiln::Error when it cannot (missing, a directory, ...).
  explicit FileSource(const std::string& path);
  ~FileSource() override;

 private:
  FileSource(const std::string& path, int fd);
  void read_checked(uint64_t offset, uint64_t n, void* dst) const override;
  int fd_;
};

}  // namespace kiln::io
