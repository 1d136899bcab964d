// What save() and load() are made of, for tests and the fuzzer: loading from memory, and a
// save whose writes can be made to fail part way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/types/span.h"
#include "kiln/frontend/io/reader.h"
#include "kiln/frontend/state_dict.h"
#include "kiln/runtime/device.h"

namespace kiln::io {

// load() of bytes in memory; `name` stands for the file name in error messages.
StateDict load_from_memory(absl::Span<const uint8_t> bytes, std::string_view name,
                           Device map_location = cpu, const LoadLimits& limits = {});

struct SaveOptions {
  // >= 0: the write of byte number fail_after_bytes fails, as a full disk would (tests).
  int64_t fail_after_bytes = -1;
  // The header's "__metadata__" (saved programs keep their IR there, frontend/jit).
  safetensors::Metadata metadata;
};
void save(const StateDict& state_dict, const std::string& path, const SaveOptions& options);

// Reads `source` as safetensors (only): its tensors, dense and in the file's order, on
// `map_location`, and its "__metadata__" into `metadata`.
StateDict load_safetensors(const ByteSource& source, Device map_location,
                           safetensors::Metadata* metadata);

}  // namespace kiln::io
