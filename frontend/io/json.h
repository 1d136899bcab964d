// A small strict JSON parser and string writer for safetensors headers (RFC 8259: no comments,
// no trailing commas, no NaN, strings must be valid UTF-8). Object members keep their order,
// because a safetensors header lists tensors in the order load() returns them. Nesting is
// limited so that a hostile header cannot overflow the stack of the recursive parser.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::io::json {

struct Member;

struct Value {
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  // Numbers: `is_int` when the literal is an integer (no fraction or exponent) that fits in
  // int64; then `integer` holds it. Other numbers are kept only as their kind.
  bool is_int = false;
  int64_t integer = 0;
  std::string string;
  std::vector<Value> array;
  std::vector<Member> object;  // in document order, keys unique
};

struct Member {
  std::string key;
  Value value;
};

inline constexpr int kMaxDepth = 64;

// Parses `text` as one JSON value followed only by whitespace. Throws ParseError.
Value parse(std::string_view text);

struct ParseError {
  std::string message;  // "expected ':' after an object key at byte 17"
};

// The JSON name of a kind, for messages: "a string", "an array".
std::string_view kind_name(Value::Kind kind);

bool is_valid_utf8(std::string_view s);
// Appends `s` as a JSON string literal: UTF-8 kept as is, '"', '\\' and control characters
// escaped (\n style where JSON has one, \u00XX otherwise), as serde_json and Python's
// json.dumps(ensure_ascii=False) write them.
void append_string(std::string& out, std::string_view s);

}  // namespace kiln::io::json
