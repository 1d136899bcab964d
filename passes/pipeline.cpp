#include "kiln/passes/pipeline.h"

#include <cstdlib>
#include <iostream>
#include <string>

#include "kiln/passes/pass_manager.h"
#include "kiln/runtime/error.h"

namespace kiln::passes {
namespace {

bool env_flag_contains(const char* var, std::string_view word) {
  const char* value = std::getenv(var);
  if (value == nullptr) return false;
  const std::string_view v(value);
  return v == "all" || v.find(word) != std::string_view::npos;
}

// The verifier runs between passes in debug builds and whenever KILN_VERIFY=1 (ctest sets it).
bool verify_enabled() {
#ifndef NDEBUG
  return true;
#else
  static const bool on = [] {
    const char* v = std::getenv("KILN_VERIFY");
    return v != nullptr && std::string_view(v) == "1";
  }();
  return on;
#endif
}

}  // namespace

void run_realization_pipeline(ir::Graph& graph, std::string_view title) {
  auto manager = PassManager::from_pipeline(kRealizationPipeline);
  if (!manager.ok()) throw Error("internal error: " + std::string(manager.status().message()));
  manager->set_verify(verify_enabled());
  if (env_flag_contains("KILN_LOG", "ir")) {
    std::cerr << "// " << title << "\n" << graph;
    manager->set_print_options(PrintOptions{{}, true, &std::cerr});
  }
  absl::StatusOr<bool> changed = manager->run(graph);
  if (!changed.ok()) throw Error("internal error: " + std::string(changed.status().message()));
}

}  // namespace kiln::passes
