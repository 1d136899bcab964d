#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/data/data.h"
#include "kiln/runtime/error.h"

namespace kiln::data {
namespace {

// The whole file, inflated when it is gzip data (zlib's gzread passes other files through).
std::string read_all(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr)
    throw Error(absl::StrCat("read_csv: cannot open '", path, "': ", std::strerror(errno)));
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(file, gzclose);
  std::string out;
  char chunk[1 << 16];
  while (true) {
    const int n = gzread(file, chunk, sizeof chunk);
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      throw Error(absl::StrCat("read_csv: cannot read '", path, "': ", message));
    }
    if (n == 0) break;
    out.append(chunk, static_cast<size_t>(n));
  }
  return out;
}

double parse_field(std::string_view field, const std::string& path, int64_t line, int64_t col) {
  while (!field.empty() && (field.front() == ' ' || field.front() == '\t')) field.remove_prefix(1);
  while (!field.empty() && (field.back() == ' ' || field.back() == '\t' || field.back() == '\r'))
    field.remove_suffix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (field.empty() || ec != std::errc() || end != field.data() + field.size())
    throw Error(absl::StrCat("read_csv: '", path, "' line ", line, " column ", col,
                             ": not a number: '", std::string(field), "'"));
  return value;
}

}  // namespace

Tensor read_csv(const std::string& path, const CsvOptions& options) {
  const std::string text = read_all(path);
  std::vector<double> values;
  int64_t columns = -1, rows = 0, line_number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (line_number == 1 && options.skip_header) continue;
    if (line.empty() || line == "\r") continue;
    int64_t col = 0;
    size_t start = 0;
    while (true) {
      const size_t comma = line.find(options.delimiter, start);
      const std::string_view field = line.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      values.push_back(parse_field(field, path, line_number, col + 1));
      ++col;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (columns >= 0 && col != columns)
      throw Error(absl::StrCat("read_csv: '", path, "' line ", line_number, " has ", col,
                               " fields, expected ", columns));
    columns = col;
    ++rows;
  }
  if (rows == 0) return empty({0, 0}, options.dtype);
  return tensor(values).reshape({rows, columns}).to(options.dtype);
}

}  // namespace kiln::data
