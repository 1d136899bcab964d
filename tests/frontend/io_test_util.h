// Helpers of the save/load suites (io_*_test.cpp): scratch directories, fixture files, and
// writers of the raw formats (ZIP archives, pickles, safetensors headers) from which the tests
// build valid files and break them one structure at a time.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "frontend_test_util.h"
#include "kiln/frontend/io/serialize_internal.h"

namespace kiln::testing {

using Bytes = std::vector<uint8_t>;

inline std::string data_dir() {
  const char* dir = std::getenv("KILN_TEST_DATA");
  return dir ? dir : "tests/data";
}

inline Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A fresh directory, removed with its content at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "kiln-io-XXXXXX").string();
    path_ = ::mkdtemp(templ.data());
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline StateDict load_bytes(const Bytes& bytes, std::string_view name = "mem") {
  return io::load_from_memory(bytes, name);
}

// The message of the kiln::Error that loading `bytes` throws.
inline std::string load_error(const Bytes& bytes) {
  return error_of([&] { load_bytes(bytes, "bad.bin"); });
}

// The raw bytes of a tensor's elements, row-major (read through a host copy on any device).
inline Bytes raw_bytes(const Tensor& t) {
  const Tensor c = t.detach().cpu().contiguous();
  const size_t n = static_cast<size_t>(c.numel()) * itemsize(c.dtype());
  Bytes out(n);
  if (n == 0) return out;
  const void* p = nullptr;
  switch (c.dtype().kind()) {
    case DType::Kind::kFloat32:
      p = c.data_ptr<float>();
      break;
    case DType::Kind::kFloat64:
      p = c.data_ptr<double>();
      break;
    case DType::Kind::kFloat16:
      p = c.data_ptr<Half>();
      break;
    case DType::Kind::kBFloat16:
      p = c.data_ptr<BFloat16>();
      break;
    case DType::Kind::kInt8:
      p = c.data_ptr<int8_t>();
      break;
    case DType::Kind::kInt16:
      p = c.data_ptr<int16_t>();
      break;
    case DType::Kind::kInt32:
      p = c.data_ptr<int32_t>();
      break;
    case DType::Kind::kInt64:
      p = c.data_ptr<int64_t>();
      break;
    case DType::Kind::kUInt8:
      p = c.data_ptr<uint8_t>();
      break;
    case DType::Kind::kBool:
      p = c.data_ptr<bool>();
      break;
  }
  std::memcpy(out.data(), p, n);
  return out;
}

// ---- little-endian writers ----
inline void put_le(Bytes& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void set_le(Bytes& out, size_t pos, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out[pos + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}

// ---- safetensors ----
// A file with header `json` (padded to a multiple of 8) followed by `data`.
inline Bytes safetensors_file(std::string json, const Bytes& data) {
  json.append((8 - json.size() % 8) % 8, ' ');
  Bytes out;
  put_le(out, json.size(), 8);
  out.insert(out.end(), json.begin(), json.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// ---- ZIP (stored entries, as torch.save writes them) ----
struct ZipEntry {
  std::string name;
  Bytes data;
  uint16_t method = 0;
  // Central directory sizes and offset as 0xFFFFFFFF, the values in a ZIP64 extra field of
  // this many bytes (24 holds all three; less truncates it), as writers do for entries > 4 GiB.
  int zip64_extra = -1;
};

struct ZipLayout {
  std::vector<size_t> local_header;  // offset of each entry's local header
  size_t central_directory = 0;
  size_t zip64_end = 0;  // 0 when not written
  size_t end = 0;        // the end of central directory record
};

inline Bytes zip_archive(const std::vector<ZipEntry>& entries, bool zip64 = true,
                         ZipLayout* layout = nullptr) {
  Bytes out;
  ZipLayout l;
  for (const ZipEntry& e : entries) {
    l.local_header.push_back(out.size());
    put_le(out, 0x04034b50, 4);
    put_le(out, 20, 2);  // version needed
    put_le(out, 0, 2);   // flags
    put_le(out, e.method, 2);
    put_le(out, 0, 4);  // time, date
    put_le(out, 0, 4);  // crc (not checked by PyTorch >= 2.4 files either)
    put_le(out, e.data.size(), 4);
    put_le(out, e.data.size(), 4);
    put_le(out, e.name.size(), 2);
    put_le(out, 0, 2);
    out.insert(out.end(), e.name.begin(), e.name.end());
    out.insert(out.end(), e.data.begin(), e.data.end());
  }
  l.central_directory = out.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    const ZipEntry& e = entries[i];
    put_le(out, 0x02014b50, 4);
    put_le(out, 20, 2);
    put_le(out, 20, 2);
    put_le(out, 0, 2);
    put_le(out, e.method, 2);
    put_le(out, 0, 4);
    put_le(out, 0, 4);
    const bool wide = e.zip64_extra >= 0;
    put_le(out, wide ? 0xFFFFFFFF : e.data.size(), 4);
    put_le(out, wide ? 0xFFFFFFFF : e.data.size(), 4);
    put_le(out, e.name.size(), 2);
    put_le(out, wide ? 4 + e.zip64_extra : 0, 2);  // extra
    put_le(out, 0, 2);                             // comment
    put_le(out, 0, 2);                             // disk
    put_le(out, 0, 2);
    put_le(out, 0, 4);
    put_le(out, wide ? 0xFFFFFFFF : l.local_header[i], 4);
    out.insert(out.end(), e.name.begin(), e.name.end());
    if (wide) {
      Bytes extra;
      put_le(extra, e.data.size(), 8);
      put_le(extra, e.data.size(), 8);
      put_le(extra, l.local_header[i], 8);
      put_le(out, 1, 2);
      put_le(out, static_cast<uint64_t>(e.zip64_extra), 2);
      out.insert(out.end(), extra.begin(), extra.begin() + e.zip64_extra);
    }
  }
  const size_t cd_size = out.size() - l.central_directory;
  if (zip64) {
    l.zip64_end = out.size();
    put_le(out, 0x06064b50, 4);
    put_le(out, 44, 8);
    put_le(out, 45, 2);
    put_le(out, 45, 2);
    put_le(out, 0, 4);
    put_le(out, 0, 4);
    put_le(out, entries.size(), 8);
    put_le(out, entries.size(), 8);
    put_le(out, cd_size, 8);
    put_le(out, l.central_directory, 8);
    put_le(out, 0x07064b50, 4);
    put_le(out, 0, 4);
    put_le(out, l.zip64_end, 8);
    put_le(out, 1, 4);
  }
  l.end = out.size();
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 2);
  put_le(out, 0, 2);
  put_le(out, zip64 ? 0xFFFF : entries.size(), 2);
  put_le(out, zip64 ? 0xFFFF : entries.size(), 2);
  put_le(out, zip64 ? 0xFFFFFFFF : cd_size, 4);
  put_le(out, zip64 ? 0xFFFFFFFF : l.central_directory, 4);
  put_le(out, 0, 2);
  if (layout) *layout = l;
  return out;
}

// ---- pickle ----
class Pickle {
 public:
  Pickle& op(uint8_t code) {
    bytes_.push_back(code);
    return *this;
  }
  Pickle& proto(int v = 2) { return op(0x80).op(static_cast<uint8_t>(v)); }
  Pickle& mark() { return op('('); }
  Pickle& str(std::string_view s) {
    op('X');
    put_le(bytes_, s.size(), 4);
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  Pickle& global(std::string_view module, std::string_view name) {
    op('c');
    bytes_.insert(bytes_.end(), module.begin(), module.end());
    bytes_.push_back('\n');
    bytes_.insert(bytes_.end(), name.begin(), name.end());
    bytes_.push_back('\n');
    return *this;
  }
  // The smallest opcode for a non-negative int, as pickle writes it.
  Pickle& integer(int64_t v) {
    if (v >= 0 && v < 256) return op('K').op(static_cast<uint8_t>(v));
    if (v >= 0 && v < 65536) {
      op('M');
      put_le(bytes_, static_cast<uint64_t>(v), 2);
      return *this;
    }
    if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      put_le(bytes_, static_cast<uint64_t>(v), 4);
      return *this;
    }
    op(0x8a).op(8);
    put_le(bytes_, static_cast<uint64_t>(v), 8);
    return *this;
  }
  Pickle& ints_tuple(const std::vector<int64_t>& v) {
    mark();
    for (int64_t x : v) integer(x);
    return op('t');
  }
  // ('storage', torch.<type>, key, 'cpu', numel) BINPERSID
  Pickle& storage(std::string_view type, std::string_view key, int64_t numel) {
    mark().str("storage").global("torch", type).str(key).str("cpu").integer(numel).op('t');
    return op('Q');
  }
  // _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())
  Pickle& tensor(std::string_view type, std::string_view key, int64_t numel, int64_t offset,
                 const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    storage(type, key, numel).integer(offset).ints_tuple(sizes).ints_tuple(strides);
    op(0x89).global("collections", "OrderedDict").op(')').op('R');
    return op('t').op('R');
  }
  Pickle& raw(const Bytes& b) {
    bytes_.insert(bytes_.end(), b.begin(), b.end());
    return *this;
  }
  const Bytes& bytes() const { return bytes_; }

 private:
  Bytes bytes_;
};

struct PickledTensor {
  std::string name, type, key;
  int64_t numel, offset;
  std::vector<int64_t> sizes, strides;
};

// {name: tensor, ...} as torch.save pickles a plain dict.
inline Bytes state_dict_pickle(const std::vector<PickledTensor>& tensors) {
  Pickle p;
  p.proto().op('}').mark();
  for (const PickledTensor& t : tensors)
    p.str(t.name).tensor(t.type, t.key, t.numel, t.offset, t.sizes, t.strides);
  p.op('u').op('.');
  return p.bytes();
}

// A torch.save-like archive: <prefix>/data.pkl, <prefix>/data/<key> for each storage.
inline Bytes torch_archive(const Bytes& pickle,
                           const std::vector<std::pair<std::string, Bytes>>& storages,
                           const std::string& prefix = "archive") {
  std::vector<ZipEntry> entries{{prefix + "/data.pkl", pickle}};
  for (const auto& [key, data] : storages) entries.push_back({prefix + "/data/" + key, data});
  entries.push_back({prefix + "/version", to_bytes("3\n")});
  return zip_archive(entries);
}

inline Bytes float_bytes(const std::vector<float>& v) {
  Bytes out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

}  // namespace kiln::testing
