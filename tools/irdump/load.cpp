#include "irdump/load.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kiln/frontend/io/json.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::irdump {
namespace {

// The reference safetensors implementation refuses headers above 100 MB; so does kiln.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

uint64_t header_length(std::string_view bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
  return n;
}

absl::Status malformed(std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed .kiln file: ", sv(why)));
}

const io::json::Value* member(const io::json::Value& object, std::string_view key) {
  for (const io::json::Member& m : object.object)
    if (m.key == key) return &m.value;
  return nullptr;
}

}  // namespace

bool looks_like_safetensors(std::string_view bytes) {
  return bytes.size() >= 8 && bytes.substr(0, 8).find('\0') != std::string_view::npos;
}

absl::StatusOr<std::string> ir_text_from_kiln(std::string_view bytes) {
  if (bytes.size() < 8)
    return malformed(
        absl::StrCat("the file has ", bytes.size(), " bytes, fewer than the 8-byte header length"));
  const uint64_t n = header_length(bytes);
  if (n > kMaxHeaderBytes)
    return malformed(
        absl::StrCat("header length ", n, " is above the limit of ", kMaxHeaderBytes, " bytes"));
  if (n > bytes.size() - 8)
    return malformed(absl::StrCat("header length ", n, " runs past the end of the file (",
                                  bytes.size() - 8, " bytes follow the length)"));
  io::json::Value header;
  try {
    header = io::json::parse(bytes.substr(8, n));
  } catch (const io::json::ParseError& e) {
    return malformed(absl::StrCat("the header is not valid JSON: ", e.message));
  }
  if (header.kind != io::json::Value::Kind::kObject)
    return malformed(
        absl::StrCat("the header is ", sv(io::json::kind_name(header.kind)), ", not an object"));
  const io::json::Value* metadata = member(header, "__metadata__");
  if (metadata == nullptr)
    return malformed(
        "no __metadata__ in the header (a safetensors file of weights, not a "
        "saved kiln program?)");
  if (metadata->kind != io::json::Value::Kind::kObject)
    return malformed(absl::StrCat("__metadata__ is ", sv(io::json::kind_name(metadata->kind)),
                                  ", not an object"));
  const io::json::Value* ir_text = member(*metadata, "kiln.ir");
  if (ir_text == nullptr)
    return malformed(
        "__metadata__ has no \"kiln.ir\" entry (a safetensors file of weights, not "
        "a saved kiln program?)");
  if (ir_text->kind != io::json::Value::Kind::kString)
    return malformed(
        absl::StrCat("\"kiln.ir\" is ", sv(io::json::kind_name(ir_text->kind)), ", not a string"));
  return ir_text->string;
}

absl::StatusOr<std::string> ir_text_from_bytes(std::string_view bytes) {
  if (looks_like_safetensors(bytes)) return ir_text_from_kiln(bytes);
  // Binary that is not a safetensors file: say so, rather than report a parse error on line 1.
  if (bytes.find('\0') != std::string_view::npos)
    return absl::InvalidArgumentError(
        "neither textual IR nor a .kiln file (binary content without a safetensors header)");
  return std::string(bytes);
}

absl::StatusOr<std::string> read_file(const std::string& path) {
  if (path == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    if (std::cin.bad()) return absl::InvalidArgumentError("cannot read standard input");
    return buffer.str();
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return absl::InvalidArgumentError("is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open: ", std::strerror(errno)));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    return absl::InvalidArgumentError(absl::StrCat("cannot read: ", std::strerror(errno)));
  return bytes;
}

absl::StatusOr<ir::Graph> load_graph(const std::string& path) {
  const std::string name = path == "-" ? "<stdin>" : path;
  auto prefixed = [&](const absl::Status& s, std::string_view what = "") {
    return absl::Status(s.code(), absl::StrCat(name, ": ", sv(what), s.message()));
  };
  absl::StatusOr<std::string> bytes = read_file(path);
  if (!bytes.ok()) return prefixed(bytes.status());
  absl::StatusOr<std::string> text = ir_text_from_bytes(*bytes);
  if (!text.ok()) return prefixed(text.status());
  absl::StatusOr<ir::Graph> graph = ir::parse_graph(*text);
  if (!graph.ok()) return prefixed(graph.status());
  if (absl::Status s = ir::verify(*graph); !s.ok()) return prefixed(s, "invalid graph: ");
  return graph;
}

}  // namespace kiln::irdump
