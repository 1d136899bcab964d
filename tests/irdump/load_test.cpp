// kiln-irdump's input: textual IR and .kiln files told apart by content, and every malformed
// .kiln header refused with a message (the golden tests cover the same through the binary).
#include "irdump/load.h"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace kiln::irdump {
namespace {

constexpr const char* kIr =
    "%0 = input() {index=0} : f32[2]\n"
    "%1 = exp(%0) : f32[2]\n"
    "return %1\n";

// A safetensors file: the 8-byte little-endian header length, the header, then `data`.
std::string safetensors(const std::string& header, const std::string& data = "") {
  std::string bytes;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes += static_cast<char>((n >> (8 * i)) & 0xff);
  return bytes + header + data;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '"')
      out += "\\\"";
    else
      out += c;
  }
  return out + "\"";
}

std::string kiln_file(const std::string& ir) {
  return safetensors(
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"__metadata__\":{\"kiln.format\":\"1\",\"kiln.other\":\"ignored\",\"kiln.ir\":" +
          json_string(ir) + "}}",
      std::string(4, '\0'));
}

TEST(IrdumpLoad, TextIsReadAsIs) {
  EXPECT_FALSE(looks_like_safetensors(kIr));
  absl::StatusOr<std::string> text = ir_text_from_bytes(kIr);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, kIr);
}

TEST(IrdumpLoad, KilnFileGivesItsMetadataIr) {
  const std::string bytes = kiln_file(kIr);
  EXPECT_TRUE(looks_like_safetensors(bytes));
  absl::StatusOr<std::string> text = ir_text_from_bytes(bytes);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, kIr);
}

void expect_malformed(const std::string& bytes, const std::string& message) {
  absl::StatusOr<std::string> text = ir_text_from_kiln(bytes);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("malformed .kiln file"), std::string::npos)
      << text.status();
  EXPECT_NE(text.status().message().find(message), std::string::npos) << text.status();
}

TEST(IrdumpLoad, MalformedKilnFiles) {
  expect_malformed("abc", "fewer than the 8-byte header length");
  expect_malformed(safetensors("{}").substr(0, 9), "runs past the end");
  std::string huge(8, '\xff');
  expect_malformed(huge + "{}", "above the limit");
  expect_malformed(safetensors("{\"__metadata__\":"), "not valid JSON");
  expect_malformed(safetensors("[1, 2]"), "the header is an array, not an object");
  expect_malformed(safetensors("{}"), "no __metadata__");
  expect_malformed(safetensors("{\"__metadata__\":3}"), "__metadata__ is a number");
  expect_malformed(safetensors("{\"__metadata__\":{\"kiln.format\":\"1\"}}"),
                   "no \"kiln.ir\" entry");
  expect_malformed(safetensors("{\"__metadata__\":{\"kiln.ir\":[]}}"),
                   "\"kiln.ir\" is an array, not a string");
}

TEST(IrdumpLoad, BinaryThatIsNotSafetensorsIsNamed) {
  absl::StatusOr<std::string> text =
      ir_text_from_bytes(std::string("\x7f"
                                     "ELF\0\0\0",
                                     7));
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("neither textual IR nor a .kiln file"), std::string::npos);
}

TEST(IrdumpLoad, LoadGraphNamesThePathAndLine) {
  absl::StatusOr<ir::Graph> g = load_graph("/nonexistent/graph.kir");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("/nonexistent/graph.kir: cannot open"), std::string::npos)
      << g.status();
}

}  // namespace
}  // namespace kiln::irdump
