#include "kiln/runtime/log.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace kiln::runtime {

bool log_enabled(std::string_view topic) {
  const char* env = std::getenv("KILN_LOG");
  if (env == nullptr) return false;
  std::string_view list(env);
  // Whole words only: KILN_LOG=kernels must not turn on a topic named `kernel`.
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view word = list.substr(0, comma);
    if (word == topic || word == "all") return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

void log_line(std::string_view topic, std::string_view message) {
  std::string line;
  line.reserve(topic.size() + message.size() + 10);
  line.append("[kiln:").append(topic).append("] ").append(message);
  if (line.back() != '\n') line.push_back('\n');
  // One fwrite holds the stream's lock for the whole line, so concurrent lines do not interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace kiln::runtime
