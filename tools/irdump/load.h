// Reading kiln-irdump's input: textual IR (a .kir file, ir/graph.h's format) or a saved program
// (a .kiln file: safetensors whose header's __metadata__ holds the IR text under "kiln.ir").
// The two are told apart by content, not by the file name's extension.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "kiln/ir/graph.h"

namespace kiln::irdump {

// True when `bytes` starts like a safetensors file: its first 8 bytes are a little-endian header
// length, and any length a real header has (under 100 MB) has zero high bytes. Textual IR never
// contains a NUL byte, so a NUL among the first 8 bytes decides; the safetensors reader then
// names whatever else is wrong (a truncated file, a length past its end, a header that is not
// a JSON object).
bool looks_like_safetensors(std::string_view bytes);

// The IR text of a .kiln file's metadata ("kiln.ir"), or an error naming what is malformed:
// a truncated or oversized header, JSON that does not parse, no __metadata__ object, no
// "kiln.ir" string. Other metadata keys are ignored.
absl::StatusOr<std::string> ir_text_from_kiln(std::string_view bytes);

// The IR text of `bytes` in either format (see looks_like_safetensors).
absl::StatusOr<std::string> ir_text_from_bytes(std::string_view bytes);

// Reads `path` ("-": standard input) whole. Errors name the path and the system's reason.
absl::StatusOr<std::string> read_file(const std::string& path);

// Reads, parses and verifies the graph in `path`. Errors start with the path; parse errors name
// the line ("f.kir: line 3: unknown op 'ad'").
absl::StatusOr<ir::Graph> load_graph(const std::string& path);

}  // namespace kiln::irdump
