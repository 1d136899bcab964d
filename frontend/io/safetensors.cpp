#include "kiln/frontend/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/io/json.h"
#include "kiln/frontend/io/reader.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"

namespace kiln::io::safetensors {
namespace {

struct Code {
  std::string_view code;
  DType dtype;
};
constexpr Code kCodes[] = {{"F64", float64}, {"F32", float32}, {"F16", float16}, {"BF16", bfloat16},
                           {"I64", int64},   {"I32", int32},   {"I16", int16},   {"I8", int8},
                           {"U8", uint8},    {"BOOL", boolean}};
constexpr std::string_view kUnsupportedCodes[] = {"U16",     "U32",     "U64",  "F8_E4M3",
                                                  "F8_E5M2", "F8_E8M0", "E8M0", "F6_E2M3",
                                                  "F6_E3M2", "F4",      "C64"};

constexpr std::string_view kMetadataKey = "__metadata__";

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Reads one tensor description; `data_size` is the size of the data section.
Entry parse_entry(const ByteSource& source, const std::string& name, const json::Value& info,
                  uint64_t data_size) {
  const auto bad = [&](std::string_view what) {
    source.fail(absl::StrCat("safetensors header: tensor '", name, "': ", sv(what)));
  };
  if (info.kind != json::Value::Kind::kObject)
    bad(absl::StrCat("expected an object, found ", sv(json::kind_name(info.kind))));
  const json::Value* dtype = nullptr;
  const json::Value* shape = nullptr;
  const json::Value* offsets = nullptr;
  // Unknown members are ignored, as the reference reader does, for forward compatibility.
  for (const auto& [key, value] : info.object) {
    if (key == "dtype")
      dtype = &value;
    else if (key == "shape")
      shape = &value;
    else if (key == "data_offsets")
      offsets = &value;
  }
  if (!dtype || !shape || !offsets)
    bad(absl::StrCat("missing \"", !dtype ? "dtype" : !shape ? "shape" : "data_offsets", "\""));
  Entry e;
  e.name = name;
  if (dtype->kind != json::Value::Kind::kString)
    bad(absl::StrCat("\"dtype\" must be a string, found ", sv(json::kind_name(dtype->kind))));
  const std::optional<DType> d = dtype_from_code(dtype->string);
  if (!d && is_known_unsupported_code(dtype->string))
    bad(absl::StrCat("dtype ", dtype->string, " is not supported by kiln"));
  if (!d) bad(absl::StrCat("unknown dtype \"", dtype->string, "\""));
  e.dtype = d.value_or(float32);
  if (shape->kind != json::Value::Kind::kArray)
    bad(absl::StrCat("\"shape\" must be an array, found ", sv(json::kind_name(shape->kind))));
  // numel * itemsize is compared with the byte range below; computed in 128 bits with an
  // early exit so that no product of sizes can overflow.
  unsigned __int128 nbytes = itemsize(e.dtype);
  for (const json::Value& s : shape->array) {
    if (s.kind != json::Value::Kind::kNumber || !s.is_int || s.integer < 0)
      bad("\"shape\" must hold non-negative integers");
    e.shape.push_back(s.integer);
    nbytes *= static_cast<uint64_t>(s.integer);
    if (nbytes > data_size) nbytes = static_cast<unsigned __int128>(data_size) + 1;
  }
  if (!shape_fits(e.shape, e.dtype))
    bad(absl::StrCat("shape ", shape_string(e.shape), " is too large (its size overflows)"));
  if (offsets->kind != json::Value::Kind::kArray || offsets->array.size() != 2)
    bad("\"data_offsets\" must be an array of two integers");
  for (const json::Value& o : offsets->array)
    if (o.kind != json::Value::Kind::kNumber || !o.is_int || o.integer < 0)
      bad("\"data_offsets\" must hold non-negative integers");
  e.begin = static_cast<uint64_t>(offsets->array[0].integer);
  e.end = static_cast<uint64_t>(offsets->array[1].integer);
  if (e.begin > e.end) bad(absl::StrCat("data_offsets [", e.begin, ", ", e.end, "] are reversed"));
  if (e.end > data_size)
    bad(absl::StrCat("data_offsets [", e.begin, ", ", e.end, "] lie outside the data section (",
                     data_size, " bytes): the file is truncated or corrupt"));
  if (nbytes != e.end - e.begin)
    bad(absl::StrCat("data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin,
                     " bytes, but dtype ", dtype->string, " and its shape need ",
                     nbytes > data_size ? std::string("more than the file has")
                                        : absl::StrCat(static_cast<uint64_t>(nbytes))));
  return e;
}

void read_metadata(const ByteSource& source, const json::Value& metadata, Metadata* out) {
  if (metadata.kind != json::Value::Kind::kObject)
    source.fail(absl::StrCat("safetensors header: \"__metadata__\" must be an object, found ",
                             sv(json::kind_name(metadata.kind))));
  for (const auto& [key, value] : metadata.object) {
    if (value.kind != json::Value::Kind::kString)
      source.fail(absl::StrCat("safetensors header: \"__metadata__\" value of \"", key,
                               "\" must be a string, found ", sv(json::kind_name(value.kind))));
    if (out != nullptr) out->emplace_back(key, value.string);
  }
}

}  // namespace

std::string_view dtype_code(DType dtype) {
  for (const Code& c : kCodes)
    if (c.dtype == dtype) return c.code;
  throw Error("safetensors: no code for this dtype");  // unreachable: every DType is listed
}

std::optional<DType> dtype_from_code(std::string_view code) {
  for (const Code& c : kCodes)
    if (c.code == code) return c.dtype;
  return std::nullopt;
}

bool is_known_unsupported_code(std::string_view code) {
  return std::find(std::begin(kUnsupportedCodes), std::end(kUnsupportedCodes), code) !=
         std::end(kUnsupportedCodes);
}

std::string plan_layout(std::vector<Entry>& entries, std::string_view path,
                        const Metadata& metadata) {
  std::vector<size_t> order(entries.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return itemsize(entries[a].dtype) > itemsize(entries[b].dtype);
  });
  uint64_t offset = 0;
  for (size_t i : order) {
    uint64_t nbytes = itemsize(entries[i].dtype);
    for (int64_t s : entries[i].shape) nbytes *= static_cast<uint64_t>(s);
    entries[i].begin = offset;
    entries[i].end = offset += nbytes;
  }
  std::string header = "{";
  if (!metadata.empty()) {
    // First, as the reference writer puts it.
    header += "\"__metadata__\":{";
    for (size_t i = 0; i < metadata.size(); ++i) {
      const auto& [key, value] = metadata[i];
      if (!json::is_valid_utf8(key) || !json::is_valid_utf8(value))
        throw Error(absl::StrCat("kiln::save: ", sv(path), ": metadata key '", key,
                                 "' or its value is not valid UTF-8 (they are JSON strings)"));
      if (i > 0) header += ',';
      json::append_string(header, key);
      header += ':';
      json::append_string(header, value);
    }
    header += '}';
  }
  for (const Entry& e : entries) {
    if (!json::is_valid_utf8(e.name))
      throw Error(absl::StrCat("kiln::save: ", sv(path), ": key '", e.name,
                               "' is not valid UTF-8 (safetensors keys are JSON strings)"));
    if (e.name == kMetadataKey)
      throw Error(absl::StrCat("kiln::save: ", sv(path),
                               ": the key \"__metadata__\" is reserved by safetensors"));
    if (header.size() > 1) header += ',';
    json::append_string(header, e.name);
    absl::StrAppend(&header, ":{\"dtype\":\"", sv(dtype_code(e.dtype)), "\",\"shape\":[");
    for (size_t d = 0; d < e.shape.size(); ++d) absl::StrAppend(&header, d ? "," : "", e.shape[d]);
    absl::StrAppend(&header, "],\"data_offsets\":[", e.begin, ",", e.end, "]}");
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header;
}

}  // namespace kiln::io::safetensors

namespace kiln::io {

void read_safetensors(const ByteSource& source, TensorSink& sink, safetensors::Metadata* metadata) {
  using namespace safetensors;
  uint8_t prefix[8];
  source.read(0, 8, prefix, "safetensors header length");
  const uint64_t n = load_le64(prefix);
  if (n > kMaxHeaderBytes)
    source.fail(absl::StrCat("safetensors header length ", n,
                             n > uint64_t{std::numeric_limits<int64_t>::max()} ? " (negative)" : "",
                             " is larger than the ", kMaxHeaderBytes, "-byte limit: the file ",
                             "is corrupt or not safetensors"));
  if (n > source.size() - 8)
    source.fail(absl::StrCat("safetensors header length ", n, " exceeds the ", source.size() - 8,
                             " bytes after the length field: the file is truncated"));
  const std::vector<uint8_t> text = source.read_bytes(8, n, "safetensors header");
  const std::string_view header(reinterpret_cast<const char*>(text.data()), text.size());
  // The format requires the header to start with '{' (so it can be told from other data).
  if (header.empty() || header[0] != '{')
    source.fail(
        "not a safetensors file or a PyTorch archive: the header does not start with "
        "'{'");
  json::Value root;  // an object: the text starts with '{' and parses as one value
  try {
    root = json::parse(header);
  } catch (const json::ParseError& e) {
    source.fail(absl::StrCat("safetensors header is not valid JSON: ", e.message));
  }
  const uint64_t data_start = 8 + n;
  const uint64_t data_size = source.size() - data_start;
  std::vector<Entry> entries;
  for (const auto& [key, value] : root.object) {
    if (key == kMetadataKey) {
      read_metadata(source, value, metadata);
      continue;
    }
    entries.push_back(parse_entry(source, key, value, data_size));
  }
  // The tensors must tile the data section exactly, as the reference reader requires: no
  // overlap (two tensors sharing bytes) and no gaps (room for hidden data).
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : by_offset) {
    if (e->begin < covered)
      source.fail(absl::StrCat("safetensors header: tensors '", previous->name, "' and '", e->name,
                               "' overlap (data_offsets [", previous->begin, ", ", previous->end,
                               "] and [", e->begin, ", ", e->end, "])"));
    if (e->begin > covered)
      source.fail(absl::StrCat("safetensors header: bytes ", covered, " to ", e->begin,
                               " of the data section belong to no tensor (before '", e->name,
                               "')"));
    covered = e->end;
    previous = e;
  }
  if (covered != data_size)
    source.fail(absl::StrCat("safetensors: ", data_size - covered,
                             " bytes after the last "
                             "tensor's data belong to no tensor"));
  for (const Entry& e : entries) {
    uint8_t* dst = sink.allocate(e.name, e.dtype, e.shape, /*requires_grad=*/false);
    source.read(data_start + e.begin, e.end - e.begin, dst, "tensor data");
    if (e.dtype == boolean) normalize_bools(dst, e.end - e.begin);
  }
}

}  // namespace kiln::io
