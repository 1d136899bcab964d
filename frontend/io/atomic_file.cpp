#include "kiln/frontend/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kiln/runtime/error.h"

namespace kiln::io {
namespace {

// Writes to a symlink replace the file it points to, as torch.save's open() would; renaming
// over the link itself would turn it into a regular file.
std::string resolve_target(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved)) return resolved;
  }
  return path;
}

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

AtomicFile::AtomicFile(const std::string& path, int64_t fail_after_bytes)
    : path_(resolve_target(path)),
      directory_(directory_of(path_)),
      fail_after_bytes_(fail_after_bytes) {
  if (path.empty()) throw Error("kiln::save: the path is empty");
  // Hidden (a leading dot) so that globs such as *.safetensors never pick up a half-written
  // file; random so that concurrent savers of the same target never share one.
  std::random_device random;
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    const uint64_t tag = (static_cast<uint64_t>(random()) << 32) ^ random();
    temp_path_ =
        absl::StrFormat("%s/.%s.kiln-tmp-%d-%016x", directory_, base_name(path_), ::getpid(), tag);
    do {
      // 0666 before the umask, as for any new file; O_EXCL: never reuse an existing name.
      fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0 && errno != EEXIST) {
      const int err = errno;
      temp_path_.clear();
      fail(absl::StrCat("cannot create a temporary file in ", directory_), err);
    }
  }
  if (fd_ < 0) {
    temp_path_.clear();
    fail("cannot find an unused temporary file name", EEXIST);
  }
  // Replacing a file keeps its permission bits, as overwriting it in place would.
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::fchmod(fd_, st.st_mode & 07777);
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  temp_path_.clear();
}

void AtomicFile::fail(const std::string& what, int err) {
  discard();
  throw Error(absl::StrCat("kiln::save: ", path_, ": ", what,
                           err != 0 ? absl::StrCat(": ", std::strerror(err)) : std::string(),
                           " (the existing file, if any, is unchanged)"));
}

void AtomicFile::write(const void* data, size_t n) {
  const auto* p = static_cast<const char*>(data);
  bool simulate = false;
  if (fail_after_bytes_ >= 0 && written_ + n > static_cast<uint64_t>(fail_after_bytes_)) {
    n = static_cast<size_t>(static_cast<uint64_t>(fail_after_bytes_) - written_);
    simulate = true;
  }
  while (n > 0) {
    const ssize_t got = ::write(fd_, p, std::min<size_t>(n, size_t{1} << 30));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail("write failed", errno);
    p += got;
    n -= static_cast<size_t>(got);
    written_ += static_cast<uint64_t>(got);
  }
  if (simulate) fail(absl::StrCat("write failed after ", written_, " bytes (simulated)"), ENOSPC);
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) fail("fsync failed", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("close failed", errno);
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    fail(absl::StrCat("cannot rename the temporary file over the target"), errno);
  temp_path_.clear();
  // The rename is durable once the directory is synced. The new file is already in place, so
  // a directory that cannot be synced (some filesystems refuse) is not an error.
  const int dir = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace kiln::io
