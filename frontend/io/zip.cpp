#include "kiln/frontend/io/zip.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::io::zip {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kZip64LocatorSize = 20;
constexpr uint64_t kZip64EndSize = 56;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kLocalHeaderSize = 30;
constexpr uint64_t kMaxComment = 0xFFFF;

// Little-endian fields of a structure already read into memory; reads past its end throw
// rather than overrun (a length field inside the structure may lie).
class Fields {
 public:
  Fields(const ByteSource& source, const uint8_t* data, uint64_t size, std::string_view what)
      : source_(source), data_(data), size_(size), what_(what) {}
  uint64_t get(uint64_t pos, int bytes) const {
    if (pos > size_ || static_cast<uint64_t>(bytes) > size_ - pos)
      source_.fail(absl::StrCat("zip: ", sv(what_), " is truncated"));
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | data_[pos + static_cast<uint64_t>(i)];
    return v;
  }
  uint16_t u16(uint64_t pos) const { return static_cast<uint16_t>(get(pos, 2)); }
  uint32_t u32(uint64_t pos) const { return static_cast<uint32_t>(get(pos, 4)); }
  uint64_t u64(uint64_t pos) const { return get(pos, 8); }

 private:
  const ByteSource& source_;
  const uint8_t* data_;
  uint64_t size_;
  std::string_view what_;
};

struct Directory {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t count = 0;
};

// Finds the end of central directory record (searching back over a possible comment) and, when
// a ZIP64 locator precedes it, the ZIP64 record whose fields replace the 16/32-bit ones.
Directory find_directory(const ByteSource& source) {
  const uint64_t file_size = source.size();
  if (file_size < kEndSize)
    source.fail("zip: file too short to hold an end of central directory record");
  const uint64_t tail_size = std::min(file_size, kEndSize + kMaxComment);
  const uint64_t tail_start = file_size - tail_size;
  const std::vector<uint8_t> tail = source.read_bytes(tail_start, tail_size, "zip end record");
  const Fields t(source, tail.data(), tail.size(), "end of central directory record");
  uint64_t end_pos = tail_size;  // in `tail`
  for (uint64_t pos = tail_size - kEndSize + 1; pos-- > 0;) {
    // The record's comment must end exactly at the end of the file.
    if (t.u32(pos) == kEndSig && pos + kEndSize + t.u16(pos + 20) == tail_size) {
      end_pos = pos;
      break;
    }
  }
  if (end_pos == tail_size)
    source.fail("zip: no end of central directory record (the archive is truncated or corrupt)");
  if (t.u16(end_pos + 4) != 0 || t.u16(end_pos + 6) != 0)
    source.fail("zip: multi-disk archives are not supported");
  Directory dir{t.u32(end_pos + 16), t.u32(end_pos + 12), t.u16(end_pos + 10)};
  const uint64_t end_offset = tail_start + end_pos;  // in the file
  uint64_t directory_limit = end_offset;
  if (end_offset >= kZip64LocatorSize) {
    uint8_t loc[kZip64LocatorSize];
    source.read(end_offset - kZip64LocatorSize, kZip64LocatorSize, loc, "zip64 locator");
    const Fields l(source, loc, sizeof loc, "zip64 locator");
    if (l.u32(0) == kZip64LocatorSig) {
      const uint64_t record = l.u64(8);
      if (record > end_offset - kZip64LocatorSize ||
          end_offset - kZip64LocatorSize - record < kZip64EndSize)
        source.fail(absl::StrCat("zip: zip64 end record offset ", record,
                                 " does not lie before its locator"));
      uint8_t z[kZip64EndSize];
      source.read(record, kZip64EndSize, z, "zip64 end record");
      const Fields f(source, z, sizeof z, "zip64 end record");
      if (f.u32(0) != kZip64EndSig) source.fail("zip: bad zip64 end record signature");
      dir = Directory{f.u64(48), f.u64(40), f.u64(32)};
      directory_limit = record;
    }
  }
  if (dir.offset > directory_limit || dir.size > directory_limit - dir.offset)
    source.fail(absl::StrCat("zip: central directory (offset ", dir.offset, ", ", dir.size,
                             " bytes) lies outside the file"));
  // Each record takes at least 46 bytes: a count beyond that is a lie (a "zip bomb" entry
  // count), rejected before anything is allocated for it.
  if (dir.count > dir.size / kCentralHeaderSize)
    source.fail(absl::StrCat("zip: ", dir.count, " entries cannot fit in a central directory of ",
                             dir.size, " bytes"));
  return dir;
}

// Replaces 0xFFFF... fields by their values from the ZIP64 extra field (id 1), in the order
// the format defines: uncompressed size, compressed size, local header offset.
void apply_zip64_extra(const ByteSource& source, const Fields& f, uint64_t extra_pos,
                       uint64_t extra_len, const std::string& name, uint64_t& size,
                       uint64_t& compressed, uint64_t& local_offset) {
  const bool need[3] = {size == 0xFFFFFFFF, compressed == 0xFFFFFFFF, local_offset == 0xFFFFFFFF};
  if (!need[0] && !need[1] && !need[2]) return;
  uint64_t pos = extra_pos;
  while (pos + 4 <= extra_pos + extra_len) {
    const uint16_t id = f.u16(pos), len = f.u16(pos + 2);
    if (pos + 4 + len > extra_pos + extra_len) break;
    if (id == 1) {
      uint64_t at = pos + 4;
      uint64_t* fields[3] = {&size, &compressed, &local_offset};
      for (int i = 0; i < 3; ++i) {
        if (!need[i]) continue;
        if (at + 8 > pos + 4 + len)
          source.fail(absl::StrCat("zip: entry '", name, "': zip64 extra field is too short"));
        *fields[i] = f.u64(at);
        at += 8;
      }
      return;
    }
    pos += 4 + len;
  }
  source.fail(absl::StrCat("zip: entry '", name, "' needs a zip64 extra field and has none"));
}

}  // namespace

bool looks_like_zip(const ByteSource& source) {
  if (source.size() < 4) return false;
  uint8_t sig[4];
  source.read(0, 4, sig, "file signature");
  // A local file header, or the end records of an archive without entries.
  return sig[0] == 'P' && sig[1] == 'K' &&
         ((sig[2] == 3 && sig[3] == 4) || (sig[2] == 5 && sig[3] == 6) ||
          (sig[2] == 6 && sig[3] == 6));
}

Archive::Archive(const ByteSource& source) : source_(source) {
  const Directory dir = find_directory(source);
  const std::vector<uint8_t> cd = source.read_bytes(dir.offset, dir.size, "zip central directory");
  const Fields f(source, cd.data(), cd.size(), "central directory");
  uint64_t pos = 0;
  for (uint64_t i = 0; i < dir.count; ++i) {
    if (f.u32(pos) != kCentralHeaderSig)
      source.fail(absl::StrCat("zip: bad signature of central directory record ", i));
    const uint16_t flags = f.u16(pos + 8), method = f.u16(pos + 10);
    uint64_t compressed = f.u32(pos + 20), size = f.u32(pos + 24);
    const uint16_t name_len = f.u16(pos + 28), extra_len = f.u16(pos + 30),
                   comment_len = f.u16(pos + 32);
    uint64_t local = f.u32(pos + 42);
    if (pos + kCentralHeaderSize + name_len > cd.size())
      source.fail(absl::StrCat("zip: central directory record ", i, " is truncated"));
    std::string name(reinterpret_cast<const char*>(cd.data() + pos + kCentralHeaderSize), name_len);
    if (pos + kCentralHeaderSize + name_len + extra_len > cd.size())
      source.fail(absl::StrCat("zip: entry '", name, "': extra field is truncated"));
    apply_zip64_extra(source, f, pos + kCentralHeaderSize + name_len, extra_len, name, size,
                      compressed, local);
    if (flags & 1) source.fail(absl::StrCat("zip: entry '", name, "' is encrypted"));
    if (method != 0)
      source.fail(absl::StrCat("zip: entry '", name, "' is compressed (method ", method,
                               method == 8 ? ", deflate" : "",
                               "); kiln reads only stored (uncompressed) entries, as "
                               "torch.save writes them"));
    if (compressed != size)
      source.fail(absl::StrCat("zip: stored entry '", name, "' has compressed size ", compressed,
                               " and uncompressed size ", size));
    if (local > source.size() || source.size() - local < kLocalHeaderSize)
      source.fail(absl::StrCat("zip: entry '", name, "': local header offset ", local,
                               " lies outside the file"));
    uint8_t lh[kLocalHeaderSize];
    source.read(local, kLocalHeaderSize, lh, "zip local header");
    const Fields l(source, lh, sizeof lh, "local header");
    if (l.u32(0) != kLocalHeaderSig)
      source.fail(absl::StrCat("zip: entry '", name, "': bad local header signature"));
    if (l.u16(8) != 0)
      source.fail(absl::StrCat("zip: entry '", name, "': local header says compressed"));
    const uint64_t local_name_len = l.u16(26), local_extra_len = l.u16(28);
    const std::vector<uint8_t> local_name =
        source.read_bytes(local + kLocalHeaderSize, local_name_len, "zip local file name");
    if (std::string_view(reinterpret_cast<const char*>(local_name.data()), local_name.size()) !=
        name)
      source.fail(absl::StrCat("zip: entry '", name, "': local header names another file"));
    const uint64_t data = local + kLocalHeaderSize + local_name_len + local_extra_len;
    // Sizes come from the directory and are checked against the file: an entry cannot claim
    // more bytes than exist, so nothing is allocated for data the file does not hold.
    if (data > source.size() || size > source.size() - data)
      source.fail(absl::StrCat("zip: entry '", name, "' (", size, " bytes at offset ", data,
                               ") extends beyond the end of the file (", source.size(), " bytes)"));
    if (!index_.emplace(name, entries_.size()).second)
      source.fail(absl::StrCat("zip: duplicate entry '", name, "'"));
    entries_.push_back(Entry{std::move(name), data, size});
    pos += kCentralHeaderSize + name_len + extra_len + comment_len;
  }
}

const Entry* Archive::find(std::string_view name) const {
  auto it = index_.find(sv(name));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::vector<uint8_t> Archive::read(std::string_view name, std::string_view what) const {
  const Entry* e = find(name);
  if (!e) source_.fail(absl::StrCat("zip: no entry '", sv(name), "' (", sv(what), ")"));
  return source_.read_bytes(e->data_offset, e->size, what);
}

}  // namespace kiln::io::zip
