#include "kiln/passes/pass_manager.h"

#include <algorithm>
#include <ostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/passes/constant_fold.h"
#include "kiln/passes/cse.h"
#include "kiln/passes/dce.h"
#include "kiln/passes/pow_scalar.h"
#include "kiln/passes/simplify.h"

namespace kiln::passes {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string known_passes(const PassRegistry& registry) {
  return absl::StrCat("known passes: ", absl::StrJoin(registry.names(), ", "));
}

}  // namespace

const PassRegistry& PassRegistry::builtin() {
  static const PassRegistry* registry = [] {
    auto* r = new PassRegistry;
    // One line per pass.
    r->add<CsePass>();
    r->add<DcePass>();
    r->add<SimplifyPass>();
    r->add<ConstantFoldPass>();
    r->add<PowScalarPass>();
    return r;
  }();
  return *registry;
}

void PassRegistry::add(std::string name, Factory factory) {
  for (auto& [known, f] : factories_) {
    if (known == name) {
      f = std::move(factory);
      return;
    }
  }
  factories_.emplace_back(std::move(name), std::move(factory));
}

std::unique_ptr<Pass> PassRegistry::create(std::string_view name) const {
  for (const auto& [known, factory] : factories_)
    if (known == name) return factory();
  return nullptr;
}

std::vector<std::string> PassRegistry::names() const {
  std::vector<std::string> names;
  for (const auto& entry : factories_) names.push_back(entry.first);
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<PassManager> PassManager::from_pipeline(std::string_view pipeline,
                                                       const PassRegistry& registry) {
  PassManager pm;
  if (trim(pipeline).empty()) return pm;
  while (true) {
    const size_t comma = pipeline.find(',');
    const std::string_view name = trim(pipeline.substr(0, comma));
    if (name.empty())
      return absl::InvalidArgumentError(
          absl::StrCat("empty pass name in pipeline; ", known_passes(registry)));
    std::unique_ptr<Pass> pass = registry.create(name);
    if (!pass)
      return absl::InvalidArgumentError(
          absl::StrCat("unknown pass '", sv(name), "'; ", known_passes(registry)));
    pm.add(std::move(pass));
    if (comma == std::string_view::npos) break;
    pipeline.remove_prefix(comma + 1);
  }
  return pm;
}

std::vector<std::string> PassManager::pipeline() const {
  std::vector<std::string> names;
  for (const auto& pass : passes_) names.emplace_back(pass->name());
  return names;
}

absl::StatusOr<bool> PassManager::run(ir::Graph& g) {
  const std::vector<std::string> names = pipeline();
  for (const std::string& after : print_.after)
    if (std::find(names.begin(), names.end(), after) == names.end())
      return absl::InvalidArgumentError(absl::StrCat("cannot print after '", after,
                                                     "': not in the pipeline [",
                                                     absl::StrJoin(names, ","), "]"));
  if (verify_) {
    if (absl::Status s = ir::verify(g); !s.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("invalid graph before the first pass: ", s.message()));
  }
  bool changed = false;
  for (const auto& pass : passes_) {
    const bool pass_changed = pass->run(g);
    changed |= pass_changed;
    const std::string name(pass->name());
    if (print_.out && (print_.after_all || print_.after.count(name)))
      *print_.out << "// after " << name << (pass_changed ? "" : " (unchanged)") << "\n" << g;
    if (verify_) {
      if (absl::Status s = ir::verify(g); !s.ok())
        return absl::InternalError(
            absl::StrCat("pass '", name, "' produced an invalid graph: ", s.message()));
    }
  }
  return changed;
}

}  // namespace kiln::passes
