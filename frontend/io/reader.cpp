#include "kiln/frontend/io/reader.h"

#include <algorithm>
#include <iterator>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kiln/frontend/io/zip.h"

namespace kiln::io {
namespace {

// torch.save(..., _use_new_zipfile_serialization=False) and PyTorch < 1.6 wrote a bare pickle
// stream: PROTO 2, then LONG1 with the legacy magic number.
constexpr uint8_t kLegacyTorchMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                         0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

}  // namespace

void read_state_dict(const ByteSource& source, TensorSink& sink, const LoadLimits& limits) {
  if (source.size() == 0) source.fail("file is empty");
  uint8_t head[sizeof kLegacyTorchMagic] = {};
  const uint64_t n = std::min<uint64_t>(source.size(), sizeof head);
  source.read(0, n, head, "file signature");
  // A safetensors header starts with '{' right after the 8-byte length; in a ZIP file that
  // byte is the low byte of the first entry's compression method, never '{'.
  const bool safetensors_brace = n > 8 && head[8] == '{';
  if (!safetensors_brace && zip::looks_like_zip(source))
    return read_torch_archive(source, sink, limits);
  if (!safetensors_brace && n == sizeof head &&
      std::equal(std::begin(head), std::end(head), std::begin(kLegacyTorchMagic)))
    source.fail(
        "legacy PyTorch format (torch.save with _use_new_zipfile_serialization=False or "
        "PyTorch < 1.6) is not supported; re-save it with a current torch.save");
  if (source.size() < 8)
    source.fail(absl::StrCat("file is too short (", source.size(),
                             " bytes) to be safetensors or a PyTorch archive"));
  // Exactly 8 bytes may be a safetensors file cut after its length field: read as such, so
  // that the message says what is missing.
  if (!safetensors_brace && source.size() > 8)
    source.fail(
        "unrecognized format: neither a PyTorch archive (a ZIP file, starting with "
        "\"PK\") nor safetensors (a JSON header starting with '{' at byte 8)");
  read_safetensors(source, sink);
}

void normalize_bools(uint8_t* data, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) data[i] = data[i] != 0;
}

bool shape_fits(absl::Span<const int64_t> shape, DType dtype) {
  uint64_t total = itemsize(dtype);
  for (int64_t s : shape) {
    if (s < 0) return false;
    const auto size = static_cast<uint64_t>(s == 0 ? 1 : s);
    if (total > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / size) return false;
    total *= size;
  }
  return true;
}

std::string shape_string(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace kiln::io
