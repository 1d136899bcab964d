// lower_program: fusion + lowering, and the KILN_LOG=fusion report of every decision.
#include <cstdlib>

#include "gtest/gtest.h"
#include "kiln/passes/lower_program.h"
#include "passes/loop_test_util.h"

namespace kiln::passes::testing {
namespace {

constexpr std::string_view kChain =
    "%0 = input() {index=0} : f32[4, 3]\n"
    "%1 = exp(%0) : f32[4, 3]\n"
    "%2 = sum(%1) {axes=[1], keepdim=false} : f32[4]\n"
    "return %2\n";

TEST(LowerProgram, LogsEveryFusionDecisionWithKilnLogFusion) {
  auto g = parse_verified(kChain);
  ASSERT_TRUE(g.ok());
  const char* old = std::getenv("KILN_LOG");
  const std::string saved = old != nullptr ? old : "";
  setenv("KILN_LOG", "cache,fusion", 1);
  ::testing::internal::CaptureStderr();
  const ir::Program program = lower_program(*g);
  const std::string logged = ::testing::internal::GetCapturedStderr();
  unsetenv("KILN_LOG");
  ::testing::internal::CaptureStderr();
  lower_program(*g);
  const std::string quiet = ::testing::internal::GetCapturedStderr();
  if (old != nullptr) setenv("KILN_LOG", saved.c_str(), 1);

  EXPECT_EQ(program.steps.size(), 1u);
  EXPECT_EQ(logged,
            "// fusion: 1 steps for 3 nodes\n"
            "//   %0 = input: graph input\n"
            "//   %1 = exp: fused into its consumer\n"
            "//   %2 = sum: graph output\n");
  EXPECT_EQ(quiet, "");
}

}  // namespace
}  // namespace kiln::passes::testing
