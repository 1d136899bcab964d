// Writing a file so that readers see either the old content or the complete new one, never a
// torn file: the bytes go to a uniquely named temporary file in the target's directory, which
// is synced and then renamed over the target (rename is atomic within a filesystem). On any
// failure, or when the writer is destroyed before commit(), the temporary file is removed and
// the target is left as it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln::io {

class AtomicFile {
 public:
  // `fail_after_bytes` >= 0 is a test hook: a write that would take the total past it fails
  // (after writing up to it), as a full disk would.
  explicit AtomicFile(const std::string& path, int64_t fail_after_bytes = -1);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Throws kiln::Error("kiln::save: <path>: ...") on failure.
  void write(const void* data, size_t n);
  // Syncs the data, renames the temporary file over the target and syncs the directory.
  void commit();

  const std::string& temp_path() const { return temp_path_; }

 private:
  [[noreturn]] void fail(const std::string& what, int err);
  void discard();

  std::string path_;  // the target (a symlink's resolved target: the link stays)
  std::string temp_path_;
  std::string directory_;
  int fd_ = -1;
  uint64_t written_ = 0;
  int64_t fail_after_bytes_;
};

}  // namespace kiln::io
