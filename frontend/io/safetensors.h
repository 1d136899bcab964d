// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON header, then the tensors' bytes back to back. This file
// holds what both directions share: the dtype codes and the header layout. Reading is
// read_safetensors (reader.h); writing is kiln::save (serialize.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kiln/ir/dtype.h"

namespace kiln::io::safetensors {

// The reference implementation refuses headers above 100 MB; so does kiln, before allocating.
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// "F32", "BF16", "BOOL", ...
std::string_view dtype_code(DType dtype);
std::optional<DType> dtype_from_code(std::string_view code);
// Codes the format defines that kiln has no dtype for ("U16", "F8_E4M3", "C64", ...).
bool is_known_unsupported_code(std::string_view code);

// The header's "__metadata__": string keys and string values, in the file's order.
using Metadata = std::vector<std::pair<std::string, std::string>>;

struct Entry {
  std::string name;
  DType dtype = float32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // data_offsets, relative to the start of the data section
  uint64_t end = 0;
};

// Assigns each entry's data offsets and returns the file's first bytes: the 8-byte length and
// the header, padded with spaces to a multiple of 8 so that the data starts 8-byte aligned.
// Data is laid out by decreasing element size (stable among equal sizes), as the reference
// writer does, so that every tensor is aligned to its element size; the header lists the
// entries in the given order, which is the order load() returns, after `metadata` (written
// as "__metadata__" when not empty). Throws kiln::Error (naming `path`) on a name, metadata
// key or value that is not UTF-8, or a tensor named "__metadata__".
std::string plan_layout(std::vector<Entry>& entries, std::string_view path,
                        const Metadata& metadata = {});

}  // namespace kiln::io::safetensors
