#include "irdump/options.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::irdump {
namespace {

absl::Status usage_error(std::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat(sv(message), " (kiln-irdump --help lists the options)"));
}

absl::StatusOr<Emit> parse_emit(std::string_view value) {
  if (value == "ir") return Emit::kIr;
  if (value == "loops") return Emit::kLoops;
  if (value == "llvm") return Emit::kLlvm;
  if (value == "llvm-unoptimized") return Emit::kLlvmUnoptimized;
  if (value == "cuda") return Emit::kCuda;
  return usage_error(absl::StrCat("unknown --emit value '", sv(value),
                                  "'; known: ir, loops, llvm, llvm-unoptimized, cuda"));
}

}  // namespace

std::string usage() {
  return R"(usage: kiln-irdump [options] FILE

Prints a kiln program: FILE is textual IR (.kir, the format of ir/graph.h) or a saved program
(.kiln: safetensors whose metadata holds the IR), told apart by content; '-' reads stdin.

options:
  --passes=a,b            run these passes in order (default: none, print the IR as read);
                          --passes=default is the realization pipeline
                          constant-fold,pow-scalar,simplify,cse,dce
  --print-ir-after-all    print the graph after every pass ("// after PASS")
  --print-ir-after=PASS   print the graph after PASS (repeatable)
  --emit=WHAT             what to print of the result:
                            ir                the final graph (the default)
                            loops             the loop-IR program: kernels, library steps,
                                              matmul epilogues
                            llvm              the LLVM IR of every kernel, optimized for this
                                              CPU as the JIT compiles it
                            llvm-unoptimized  the same before LLVM's O3 pipeline
                            cuda              the CUDA C of every kernel
  --dot                   Graphviz of the final graph, each kernel's nodes in a cluster
  --explain-fusion        every fusion decision with its reason
  --stats                 kernels, library steps, bytes moved, FLOPs, materialized buffers
  -o FILE                 write to FILE (atomically) instead of standard output
  --help                  print this text

aliases (the names of kiln's design notes): --after-all, --after=PASS, --kernels (--emit=llvm)

--emit, --dot, --explain-fusion and --stats may be combined; they print in that order. With
none of them, --emit=ir is implied.

exit status: 0 success, 1 bad input (unreadable or malformed file, parse error, invalid graph,
unknown pass), 2 usage error.
)";
}

absl::StatusOr<Options> parse_options(const std::vector<std::string_view>& args) {
  Options options;
  bool have_input = false;
  bool have_passes = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const size_t eq = arg.find('=');
    const std::string_view flag = arg.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
    const bool has_value = eq != std::string_view::npos;
    auto no_value = [&]() -> absl::Status {
      if (has_value) return usage_error(absl::StrCat(sv(flag), " takes no value"));
      return absl::OkStatus();
    };
    auto needs_value = [&]() -> absl::Status {
      if (!has_value || value.empty())
        return usage_error(absl::StrCat(sv(flag), " needs a value: ", sv(flag), "=..."));
      return absl::OkStatus();
    };

    if (arg == "-" || arg.empty() || arg[0] != '-') {
      if (have_input)
        return usage_error(
            absl::StrCat("more than one input file ('", options.input, "' and '", sv(arg), "')"));
      options.input = std::string(arg);
      have_input = true;
    } else if (arg == "-o") {
      if (i + 1 == args.size()) return usage_error("-o needs a file name");
      options.output = std::string(args[++i]);
    } else if (arg.substr(0, 2) == "-o") {
      options.output = std::string(arg.substr(2));
    } else if (flag == "--help" || flag == "-h") {
      if (auto s = no_value(); !s.ok()) return s;
      options.help = true;
    } else if (flag == "--passes") {
      if (!has_value) return usage_error("--passes needs a value: --passes=a,b");
      if (have_passes) return usage_error("--passes given twice");
      have_passes = true;
      options.pipeline = value == "default" ? std::string(kDefaultPipeline) : std::string(value);
    } else if (flag == "--print-ir-after-all" || flag == "--after-all") {
      if (auto s = no_value(); !s.ok()) return s;
      options.print_after_all = true;
    } else if (flag == "--print-ir-after" || flag == "--after") {
      if (auto s = needs_value(); !s.ok()) return s;
      for (absl::string_view pass : absl::StrSplit(sv(value), ',', absl::SkipEmpty()))
        options.print_after.emplace(pass);
    } else if (flag == "--emit") {
      if (auto s = needs_value(); !s.ok()) return s;
      absl::StatusOr<Emit> emit = parse_emit(value);
      if (!emit.ok()) return emit.status();
      options.emit = *emit;
    } else if (flag == "--kernels") {
      if (auto s = no_value(); !s.ok()) return s;
      options.emit = Emit::kLlvm;
    } else if (flag == "--dot") {
      if (auto s = no_value(); !s.ok()) return s;
      options.dot = true;
    } else if (flag == "--stats") {
      if (auto s = no_value(); !s.ok()) return s;
      options.stats = true;
    } else if (flag == "--explain-fusion") {
      if (auto s = no_value(); !s.ok()) return s;
      options.explain_fusion = true;
    } else {
      return usage_error(absl::StrCat("unknown option '", sv(arg), "'"));
    }
  }
  if (options.help) return options;
  if (!have_input) return usage_error("no input file");
  if (options.output == "-") options.output.clear();
  if (!options.print_after.empty() || options.print_after_all) {
    if (options.pipeline.empty())
      return usage_error("--print-ir-after and --print-ir-after-all need --passes");
  }
  if (!options.emit && !options.dot && !options.stats && !options.explain_fusion)
    options.emit = Emit::kIr;
  return options;
}

}  // namespace kiln::irdump
