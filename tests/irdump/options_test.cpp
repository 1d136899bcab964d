// kiln-irdump's command line: every flag, the implied --emit=ir, and the usage errors.
#include "irdump/options.h"

#include <gtest/gtest.h>

namespace kiln::irdump {
namespace {

absl::StatusOr<Options> parse(std::vector<std::string_view> args) { return parse_options(args); }

TEST(IrdumpOptions, InputAloneImpliesEmitIr) {
  absl::StatusOr<Options> o = parse({"f.kir"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->input, "f.kir");
  EXPECT_EQ(o->emit, Emit::kIr);
  EXPECT_EQ(o->pipeline, "");
  EXPECT_FALSE(o->dot || o->stats || o->explain_fusion || o->help);
}

TEST(IrdumpOptions, EveryFlag) {
  absl::StatusOr<Options> o = parse(
      {"--passes=cse,dce", "--print-ir-after=cse", "--print-ir-after=dce", "--print-ir-after-all",
       "--emit=loops", "--dot", "--stats", "--explain-fusion", "-o", "out.txt", "f.kiln"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->pipeline, "cse,dce");
  EXPECT_EQ(o->print_after, (std::set<std::string>{"cse", "dce"}));
  EXPECT_TRUE(o->print_after_all);
  EXPECT_EQ(o->emit, Emit::kLoops);
  EXPECT_TRUE(o->dot && o->stats && o->explain_fusion);
  EXPECT_EQ(o->output, "out.txt");
  EXPECT_EQ(o->input, "f.kiln");
}

TEST(IrdumpOptions, DefaultPipelineIsTheRealizationPipeline) {
  absl::StatusOr<Options> o = parse({"--passes=default", "-"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->pipeline, "constant-fold,pow-scalar,simplify,cse,dce");
  EXPECT_EQ(o->input, "-");
}

TEST(IrdumpOptions, SectionsWithoutEmitPrintOnlyThemselves) {
  absl::StatusOr<Options> o = parse({"--stats", "f.kir"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->emit.has_value());
  EXPECT_TRUE(o->stats);
}

TEST(IrdumpOptions, EmitValues) {
  const std::pair<const char*, Emit> cases[] = {{"--emit=ir", Emit::kIr},
                                                {"--emit=loops", Emit::kLoops},
                                                {"--emit=llvm", Emit::kLlvm},
                                                {"--emit=llvm-unoptimized", Emit::kLlvmUnoptimized},
                                                {"--emit=cuda", Emit::kCuda}};
  for (const auto& [flag, emit] : cases) {
    absl::StatusOr<Options> o = parse({flag, "f.kir"});
    ASSERT_TRUE(o.ok()) << flag << ": " << o.status();
    EXPECT_EQ(o->emit, emit) << flag;
  }
}

TEST(IrdumpOptions, Aliases) {
  absl::StatusOr<Options> o =
      parse({"--passes=cse", "--after=cse", "--after-all", "--kernels", "f"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->print_after, (std::set<std::string>{"cse"}));
  EXPECT_TRUE(o->print_after_all);
  EXPECT_EQ(o->emit, Emit::kLlvm);
}

TEST(IrdumpOptions, HelpNeedsNoInput) {
  absl::StatusOr<Options> o = parse({"--help"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->help);
  EXPECT_NE(usage().find("--explain-fusion"), std::string::npos);
}

TEST(IrdumpOptions, OutputFileAttached) {
  absl::StatusOr<Options> o = parse({"-oout.txt", "f.kir"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->output, "out.txt");
}

void expect_usage_error(std::vector<std::string_view> args, const std::string& message) {
  absl::StatusOr<Options> o = parse_options(args);
  ASSERT_FALSE(o.ok()) << "accepted: " << (args.empty() ? "" : args[0]);
  EXPECT_NE(o.status().message().find(message), std::string::npos) << o.status();
}

TEST(IrdumpOptions, UsageErrors) {
  expect_usage_error({}, "no input file");
  expect_usage_error({"a.kir", "b.kir"}, "more than one input file");
  expect_usage_error({"--frobnicate", "f.kir"}, "unknown option '--frobnicate'");
  expect_usage_error({"--emit=ptx", "f.kir"}, "unknown --emit value 'ptx'");
  expect_usage_error({"--emit", "f.kir"}, "--emit needs a value");
  expect_usage_error({"--passes", "f.kir"}, "--passes needs a value");
  expect_usage_error({"--passes=cse", "--passes=dce", "f.kir"}, "--passes given twice");
  expect_usage_error({"--dot=yes", "f.kir"}, "--dot takes no value");
  expect_usage_error({"f.kir", "-o"}, "-o needs a file name");
  expect_usage_error({"--print-ir-after=cse", "f.kir"}, "need --passes");
  expect_usage_error({"--print-ir-after-all", "f.kir"}, "need --passes");
}

}  // namespace
}  // namespace kiln::irdump
