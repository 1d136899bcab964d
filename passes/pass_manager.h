// Runs a pipeline of passes over a graph, verifying after each one and optionally printing the
// graph after chosen passes (kiln-irdump --after=cse, --after-all; KILN_LOG=ir).
//
//   auto pm = PassManager::from_pipeline("cse,dce");
//   if (!pm.ok()) ...;                       // unknown pass: the message lists the known ones
//   pm->set_print_options({.after = {"cse"}, .out = &std::cerr});
//   absl::StatusOr<bool> changed = pm->run(graph);
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/ir/graph.h"
#include "kiln/passes/pass.h"

namespace kiln::passes {

// Name -> factory for every pass a pipeline string may name.
class PassRegistry {
 public:
  using Factory = std::function<std::unique_ptr<Pass>()>;

  // Every pass kiln ships (registered in pass_manager.cpp).
  static const PassRegistry& builtin();

  // Registers P under P().name(); a later registration of the same name replaces it.
  template <class P>
  void add() {
    add(std::string(P().name()), [] { return std::make_unique<P>(); });
  }
  void add(std::string name, Factory factory);

  // nullptr for an unknown name.
  std::unique_ptr<Pass> create(std::string_view name) const;
  // Registered names, sorted.
  std::vector<std::string> names() const;

 private:
  std::vector<std::pair<std::string, Factory>> factories_;
};

struct PrintOptions {
  std::set<std::string> after;  // print after each run of these passes (must be in the pipeline)
  bool after_all = false;       // print after every pass
  std::ostream* out = nullptr;  // where to print; nothing is printed while null
};

class PassManager {
 public:
  // A pipeline from comma-separated pass names ("cse,dce"; spaces around names are ignored,
  // "" is the empty pipeline). Unknown or empty names are errors listing the known passes.
  static absl::StatusOr<PassManager> from_pipeline(
      std::string_view pipeline, const PassRegistry& registry = PassRegistry::builtin());

  void add(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }
  void set_print_options(PrintOptions options) { print_ = std::move(options); }
  // Verification before the first and after every pass; on by default (tests, debug builds).
  void set_verify(bool verify) { verify_ = verify; }
  // Names of the passes in order.
  std::vector<std::string> pipeline() const;

  // Runs every pass in order. Returns whether any pass changed the graph, or the first
  // verification failure, naming the pass that produced the invalid graph.
  absl::StatusOr<bool> run(ir::Graph& g);

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
  PrintOptions print_;
  bool verify_ = true;
};

}  // namespace kiln::passes
