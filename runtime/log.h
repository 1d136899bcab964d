// KILN_LOG: diagnostics on stderr by topic. The CPU backend logs `cache` (hit/miss/store/corrupt
// lines), `kernels` (the optimized LLVM IR of each compiled kernel) and `time` (compile and load
// times), printed to stderr. KILN_LOG is a comma-separated list of topics, or `all`.
#pragma once

#include <string_view>

namespace kiln::runtime {

// True when KILN_LOG names `topic` (or is `all`). Reads the environment on every call: it is only
// asked around cache look-ups and compiles, which cost far more, and tests can turn it on late.
bool log_enabled(std::string_view topic);

// Writes "[kiln:TOPIC] MESSAGE\n" to stderr in one write, so that lines from kernels compiled
// on several threads at once do not interleave.
void log_line(std::string_view topic, std::string_view message);

}  // namespace kiln::runtime
