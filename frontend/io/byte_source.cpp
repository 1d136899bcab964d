#include "kiln/frontend/io/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"

namespace kiln::io {

void load_error(std::string_view file, std::string_view what) {
  throw Error(absl::StrCat("kiln::load: ", sv(file), ": ", sv(what)));
}

void ByteSource::read(uint64_t offset, uint64_t n, void* dst, std::string_view what) const {
  if (offset > size_ || n > size_ - offset)
    fail(absl::StrCat(sv(what), " (bytes ", offset, " to ", offset + n, ") extends beyond the end",
                      " of the file (", size_, " bytes): the file is truncated or corrupt"));
  if (n > 0) read_checked(offset, n, dst);
}

std::vector<uint8_t> ByteSource::read_bytes(uint64_t offset, uint64_t n,
                                            std::string_view what) const {
  // Checked before allocating, so that a corrupt length cannot ask for more memory than the
  // file has bytes.
  if (offset > size_ || n > size_ - offset) read(offset, n, nullptr, what);
  std::vector<uint8_t> out(n);
  read(offset, n, out.data(), what);
  return out;
}

void MemorySource::read_checked(uint64_t offset, uint64_t n, void* dst) const {
  std::memcpy(dst, bytes_.data() + offset, n);
}

namespace {

int open_for_reading(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) load_error(path, absl::StrCat("cannot open: ", std::strerror(errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    load_error(path, absl::StrCat("cannot stat: ", std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    load_error(path, S_ISDIR(st.st_mode) ? "is a directory, not a file" : "not a regular file");
  }
  return fd;
}

uint64_t file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return 0;  // cannot fail after open_for_reading's fstat
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

FileSource::FileSource(const std::string& path) : FileSource(path, open_for_reading(path)) {}

FileSource::FileSource(const std::string& path, int fd)
    : ByteSource(path, file_size(fd)), fd_(fd) {}

FileSource::~FileSource() { ::close(fd_); }

void FileSource::read_checked(uint64_t offset, uint64_t n, void* dst) const {
  auto* out = static_cast<char*>(dst);
  while (n > 0) {
    // pread moves at most about 2 GiB per call on Linux.
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, uint64_t{1} << 30));
    const ssize_t got = ::pread(fd_, out, chunk, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(absl::StrCat("read error at byte ", offset, ": ", std::strerror(errno)));
    // The size was taken at open: a file that shrinks under the reader is reported, not read
    // as zeros.
    if (got == 0) fail(absl::StrCat("file shrank while being read (no data at byte ", offset, ")"));
    out += got;
    offset += static_cast<uint64_t>(got);
    n -= static_cast<uint64_t>(got);
  }
}

}  // namespace kiln::io
