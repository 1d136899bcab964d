#include "irdump/irdump.h"

#include <exception>
#include <optional>
#include <ostream>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "irdump/dot.h"
#include "irdump/emit_code.h"
#include "irdump/load.h"
#include "irdump/stats.h"
#include "kiln/frontend/io/atomic_file.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/program_text.h"
#include "kiln/passes/lower_program.h"
#include "kiln/passes/pass_manager.h"

namespace kiln::irdump {
namespace {

// The sections the options ask for, in their fixed order, written to `out`. Errors are
// returned as a status whose message is printed after "kiln-irdump: ".
absl::Status print_sections(const Options& options, ir::Graph& graph, std::ostream& out) {
  absl::StatusOr<passes::PassManager> manager =
      passes::PassManager::from_pipeline(options.pipeline);
  if (!manager.ok()) return manager.status();
  manager->set_print_options(
      passes::PrintOptions{options.print_after, options.print_after_all, &out});
  if (absl::StatusOr<bool> changed = manager->run(graph); !changed.ok()) return changed.status();

  const bool needs_program = options.dot || options.stats || options.explain_fusion ||
                             (options.emit && *options.emit != Emit::kIr);
  std::optional<ir::Program> program;
  if (needs_program) program = passes::lower_program(graph);

  if (options.emit) {
    switch (*options.emit) {
      case Emit::kIr:
        out << graph;
        break;
      case Emit::kLoops:
        out << ir::to_string(*program, graph);
        break;
      case Emit::kLlvm:
        out << emit_llvm(*program, /*optimized=*/true);
        break;
      case Emit::kLlvmUnoptimized:
        out << emit_llvm(*program, /*optimized=*/false);
        break;
      case Emit::kCuda: {
        absl::StatusOr<std::string> cuda = emit_cuda(*program);
        if (!cuda.ok()) return cuda.status();
        out << *cuda;
        break;
      }
    }
  }
  if (options.dot) out << to_dot(graph, &*program);
  if (options.explain_fusion) {
    out << "// fusion decisions\n";
    for (const std::string& line : program->decisions) out << line << "\n";
  }
  if (options.stats) out << format_stats(graph, compute_stats(graph, *program));
  return absl::OkStatus();
}

int fail(std::ostream& err, absl::string_view message, int code = kExitError) {
  err << "kiln-irdump: " << message << "\n";
  return code;
}

}  // namespace

int run(const Options& options, std::ostream& out, std::ostream& err) {
  if (options.help) {
    out << usage();
    return kExitOk;
  }
  // Everything below may throw (kiln::Error from lowering or the JIT, std::bad_alloc): a bad
  // input must end in a message, never in std::terminate.
  try {
    absl::StatusOr<ir::Graph> graph = load_graph(options.input);
    if (!graph.ok()) return fail(err, graph.status().message());
    std::ostringstream buffer;
    std::ostream& sink = options.output.empty() ? out : buffer;
    if (absl::Status s = print_sections(options, *graph, sink); !s.ok()) {
      if (options.output.empty()) out.flush();
      return fail(err, s.message());
    }
    if (!options.output.empty()) {
      try {
        const std::string text = buffer.str();
        io::AtomicFile file(options.output);
        file.write(text.data(), text.size());
        file.commit();
      } catch (const std::exception& e) {
        // AtomicFile's messages are kiln::save's ("kiln::save: PATH: why"): name the -o instead.
        std::string_view why = e.what();
        const std::string prefix = absl::StrCat("kiln::save: ", options.output, ": ");
        if (why.substr(0, prefix.size()) == prefix) why.remove_prefix(prefix.size());
        return fail(err, absl::StrCat("-o ", options.output, ": ", sv(why)));
      }
    }
    return kExitOk;
  } catch (const std::exception& e) {
    return fail(err, e.what());
  }
}

int irdump_main(const std::vector<std::string_view>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Options> options = parse_options(args);
  if (!options.ok()) return fail(err, options.status().message(), kExitUsage);
  return run(*options, out, err);
}

}  // namespace kiln::irdump
