// Command-line options of kiln-irdump, parsed apart from running them so that tests can check
// every flag and every usage error without starting a process.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/passes/pipeline.h"

namespace kiln::irdump {

// What --emit prints: the final graph, the loop-IR program, the LLVM IR of every kernel (after
// or before the JIT's O3 pipeline), or the CUDA C of every kernel.
enum class Emit { kIr, kLoops, kLlvm, kLlvmUnoptimized, kCuda };

struct Options {
  std::string input;                  // a path, or "-" for standard input
  std::string output;                 // -o FILE; empty: standard output
  std::string pipeline;               // --passes, "default" already expanded; empty: none
  bool print_after_all = false;       // --print-ir-after-all
  std::set<std::string> print_after;  // --print-ir-after=PASS (repeatable)
  std::optional<Emit> emit;           // --emit=...; set or not, see sections()
  bool dot = false;                   // --dot
  bool stats = false;                 // --stats
  bool explain_fusion = false;        // --explain-fusion
  bool help = false;                  // --help
};

// The pipeline that --passes=default names: eager realization's (passes/pipeline.cpp).
inline constexpr std::string_view kDefaultPipeline = passes::kRealizationPipeline;

// Parses the arguments after the program name. Errors are usage errors (exit code 2): unknown
// flags, missing or extra input files, bad --emit values, flags missing their value.
absl::StatusOr<Options> parse_options(const std::vector<std::string_view>& args);

// The --help text.
std::string usage();

}  // namespace kiln::irdump
