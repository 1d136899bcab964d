// The pass manager: pipeline strings, verification after each pass, and print-after dumps.
#include "kiln/passes/pass_manager.h"

#include <algorithm>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "kiln/passes/cse.h"
#include "kiln/passes/dce.h"

namespace kiln::passes {
namespace {

constexpr const char* kDuplicated =
    "%0 = input() {index=0} : f32[2]\n"
    "%1 = exp(%0) : f32[2]\n"
    "%2 = exp(%0) : f32[2]\n"
    "%3 = add(%1, %2) : f32[2]\n"
    "%4 = neg(%3) : f32[2]\n"
    "return %3\n";

constexpr const char* kAfterCse =
    "%0 = input() {index=0} : f32[2]\n"
    "%1 = exp(%0) : f32[2]\n"
    "%2 = add(%1, %1) : f32[2]\n"
    "%3 = neg(%2) : f32[2]\n"
    "return %2\n";

constexpr const char* kAfterCseDce =
    "%0 = input() {index=0} : f32[2]\n"
    "%1 = exp(%0) : f32[2]\n"
    "%2 = add(%1, %1) : f32[2]\n"
    "return %2\n";

ir::Graph parse(const char* text) {
  auto g = ir::parse_graph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return *std::move(g);
}

// Breaks the graph on purpose: retypes the last node.
class BreakTypesPass : public Pass {
 public:
  std::string_view name() const override { return "break-types"; }
  bool run(ir::Graph& g) override {
    g.mutable_node(g.size() - 1).type.dtype = int8;
    return true;
  }
};

TEST(PassRegistry, BuiltinKnowsCseAndDce) {
  const auto names = PassRegistry::builtin().names();
  EXPECT_NE(std::find(names.begin(), names.end(), "cse"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "dce"), names.end());
  EXPECT_EQ(PassRegistry::builtin().create("cse")->name(), "cse");
  EXPECT_EQ(PassRegistry::builtin().create("nope"), nullptr);
}

TEST(PassManager, BuildsPipelineFromNames) {
  auto pm = PassManager::from_pipeline(" cse , dce,cse ");
  ASSERT_TRUE(pm.ok()) << pm.status();
  EXPECT_EQ(pm->pipeline(), (std::vector<std::string>{"cse", "dce", "cse"}));
}

TEST(PassManager, UnknownPassListsKnownOnes) {
  auto pm = PassManager::from_pipeline("cse,fuse-everything");
  ASSERT_FALSE(pm.ok());
  EXPECT_EQ(pm.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pm.status().message(),
            "unknown pass 'fuse-everything'; known passes: constant-fold, cse, dce, pow-scalar, "
            "simplify");
}

TEST(PassManager, EmptyPassNameIsAnError) {
  auto pm = PassManager::from_pipeline("cse,,dce");
  ASSERT_FALSE(pm.ok());
  EXPECT_EQ(
      pm.status().message(),
      "empty pass name in pipeline; known passes: constant-fold, cse, dce, pow-scalar, simplify");
}

TEST(PassManager, EmptyPipelineChangesNothing) {
  auto pm = PassManager::from_pipeline("");
  ASSERT_TRUE(pm.ok());
  ir::Graph g = parse(kDuplicated);
  auto changed = pm->run(g);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
  EXPECT_EQ(ir::to_string(g), kDuplicated);
}

TEST(PassManager, RunsPassesInOrder) {
  auto pm = PassManager::from_pipeline("cse,dce");
  ASSERT_TRUE(pm.ok());
  ir::Graph g = parse(kDuplicated);
  auto changed = pm->run(g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(ir::to_string(g), kAfterCseDce);
  // A second run finds nothing left to do.
  changed = pm->run(g);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
}

TEST(PassManager, PrintsAfterNamedPass) {
  auto pm = PassManager::from_pipeline("cse,dce");
  ASSERT_TRUE(pm.ok());
  std::ostringstream out;
  pm->set_print_options({.after = {"cse"}, .after_all = false, .out = &out});
  ir::Graph g = parse(kDuplicated);
  ASSERT_TRUE(pm->run(g).ok());
  EXPECT_EQ(out.str(), std::string("// after cse\n") + kAfterCse);
}

TEST(PassManager, PrintsAfterAllPassesAndMarksUnchanged) {
  auto pm = PassManager::from_pipeline("cse,dce,cse");
  ASSERT_TRUE(pm.ok());
  std::ostringstream out;
  pm->set_print_options({.after = {}, .after_all = true, .out = &out});
  ir::Graph g = parse(kDuplicated);
  ASSERT_TRUE(pm->run(g).ok());
  EXPECT_EQ(out.str(), std::string("// after cse\n") + kAfterCse + "// after dce\n" + kAfterCseDce +
                           "// after cse (unchanged)\n" + kAfterCseDce);
}

TEST(PassManager, DumpsParseBack) {
  // The "// after" headers are comments, so a dump is itself valid IR text.
  auto pm = PassManager::from_pipeline("cse");
  ASSERT_TRUE(pm.ok());
  std::ostringstream out;
  pm->set_print_options({.after = {"cse"}, .after_all = false, .out = &out});
  ir::Graph g = parse(kDuplicated);
  ASSERT_TRUE(pm->run(g).ok());
  auto parsed = ir::parse_graph(out.str());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(ir::to_string(*parsed), kAfterCse);
}

TEST(PassManager, PrintAfterPassNotInPipelineIsAnError) {
  auto pm = PassManager::from_pipeline("dce");
  ASSERT_TRUE(pm.ok());
  std::ostringstream out;
  pm->set_print_options({.after = {"cse"}, .after_all = false, .out = &out});
  ir::Graph g = parse(kDuplicated);
  auto changed = pm->run(g);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().message(), "cannot print after 'cse': not in the pipeline [dce]");
  EXPECT_EQ(ir::to_string(g), kDuplicated);
}

TEST(PassManager, NamesThePassThatBrokeTheGraph) {
  PassRegistry registry;
  registry.add<CsePass>();
  registry.add<BreakTypesPass>();
  auto pm = PassManager::from_pipeline("cse,break-types", registry);
  ASSERT_TRUE(pm.ok()) << pm.status();
  ir::Graph g = parse(kDuplicated);
  auto changed = pm->run(g);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().message(),
            "pass 'break-types' produced an invalid graph: node %3: neg: declared type i8[2] "
            "differs from the inferred f32[2]");
}

TEST(PassManager, SkipsVerificationWhenDisabled) {
  PassManager pm;
  pm.add(std::make_unique<BreakTypesPass>());
  pm.set_verify(false);
  ir::Graph g = parse(kDuplicated);
  auto changed = pm.run(g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
}

TEST(PassManager, RejectsInvalidInputGraph) {
  auto pm = PassManager::from_pipeline("dce");
  ASSERT_TRUE(pm.ok());
  ir::Graph g = parse(
      "%0 = input() {index=0} : f32[2]\n"
      "%1 = neg(%0) : f32[3]\n"
      "return %1\n");
  auto changed = pm->run(g);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().message(),
            "invalid graph before the first pass: node %1: neg: declared type f32[3] differs "
            "from the inferred f32[2]");
}

TEST(PassManager, CustomRegistryRegistersOneLinePerPass) {
  PassRegistry registry;
  registry.add<DcePass>();
  EXPECT_EQ(registry.names(), std::vector<std::string>{"dce"});
  auto pm = PassManager::from_pipeline("cse", registry);
  ASSERT_FALSE(pm.ok());
  EXPECT_EQ(pm.status().message(), "unknown pass 'cse'; known passes: dce");
}

}  // namespace
}  // namespace kiln::passes
