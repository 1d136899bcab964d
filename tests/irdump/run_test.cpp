// kiln-irdump run in process: the sections, -o, exit codes and messages. The golden tests in
// tests/golden/ check the printed forms in detail through the binary.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "irdump/irdump.h"
#include "irdump/stats.h"
#include "kiln/ir/graph.h"
#include "kiln/passes/lower_program.h"

namespace kiln::irdump {
namespace {

// x * 2 + 1 summed over its rows: one reduction kernel.
constexpr const char* kIr =
    "%0 = input() {index=0} : f32[4, 8]\n"
    "%1 = constant() {value=2.0} : f32[]\n"
    "%2 = reshape(%1) {shape=[1, 1]} : f32[1, 1]\n"
    "%3 = expand(%2) {shape=[4, 8]} : f32[4, 8]\n"
    "%4 = mul(%0, %3) : f32[4, 8]\n"
    "%5 = exp(%4) : f32[4, 8]\n"
    "%6 = sum(%5) {axes=[1], keepdim=false} : f32[4]\n"
    "return %6\n";

class IrdumpRun : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "irdump_run_test.kir";
    std::ofstream(path_) << kIr;
  }
  void TearDown() override { std::remove(path_.c_str()); }

  int run(std::vector<std::string_view> args) {
    out_.str("");
    err_.str("");
    args.push_back(path_);
    return irdump_main(args, out_, err_);
  }

  std::string path_;
  std::ostringstream out_, err_;
};

TEST_F(IrdumpRun, PrintsTheGraphAsRead) {
  EXPECT_EQ(run({}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), kIr);
  EXPECT_EQ(err_.str(), "");
}

TEST_F(IrdumpRun, StatsOfOneReductionKernel) {
  EXPECT_EQ(run({"--stats"}), kExitOk) << err_.str();
  const std::string out = out_.str();
  EXPECT_NE(out.find("kernels: 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("library steps: 0\n"), std::string::npos) << out;
  // Reads 4*8 floats, writes 4: 144 bytes. mul and exp at 32 points, plus 32 summed elements.
  EXPECT_NE(out.find("bytes moved: 144\n"), std::string::npos) << out;
  EXPECT_NE(out.find("flops: 96\n"), std::string::npos) << out;
  EXPECT_NE(out.find("materialized buffers: 2 (144 bytes)"), std::string::npos) << out;
}

TEST_F(IrdumpRun, MatmulFlopsAndEpilogue) {
  ir::Graph g = *ir::parse_graph(
      "%0 = input() {index=0} : f32[2, 3, 5]\n"
      "%1 = input() {index=1} : f32[2, 5, 4]\n"
      "%2 = matmul(%0, %1) : f32[2, 3, 4]\n"
      "%3 = relu(%2) : f32[2, 3, 4]\n"
      "return %3\n");
  const ProgramStats stats = compute_stats(g, passes::lower_program(g));
  EXPECT_EQ(stats.library_steps, 1);
  EXPECT_EQ(stats.kernels, 0);
  EXPECT_EQ(stats.epilogues, 1);
  // 2 * (2*3*4 results) * 5 for the matmul, one relu per result element.
  EXPECT_EQ(stats.flops, 2 * 24 * 5 + 24);
}

TEST_F(IrdumpRun, OutputFile) {
  const std::string out_path = ::testing::TempDir() + "irdump_run_test.out";
  EXPECT_EQ(run({"--passes=default", "-o", out_path}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "");
  std::ifstream in(out_path);
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(written.find("return %"), std::string::npos) << written;
  std::remove(out_path.c_str());
}

TEST_F(IrdumpRun, UnknownPassListsTheKnownOnes) {
  EXPECT_EQ(run({"--passes=cse,bogus"}), kExitError);
  EXPECT_NE(err_.str().find("kiln-irdump: unknown pass 'bogus'; known passes: "), std::string::npos)
      << err_.str();
}

TEST_F(IrdumpRun, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run({"--no-such-flag"}), kExitUsage);
  EXPECT_NE(err_.str().find("unknown option '--no-such-flag'"), std::string::npos) << err_.str();
}

TEST_F(IrdumpRun, CudaPrintsTheGeneratedKernels) {
  EXPECT_EQ(run({"--emit=cuda"}), kExitOk) << err_.str();
  const std::string out = out_.str();
  EXPECT_NE(out.find("// prelude shared by every kernel"), std::string::npos) << out;
  EXPECT_NE(out.find("extern \"C\" __global__"), std::string::npos) << out;
  EXPECT_NE(out.find("kernel_step0"), std::string::npos) << out;
}

TEST_F(IrdumpRun, ParseErrorsNameTheLine) {
  std::ofstream(path_) << "%0 = input() {index=0} : f32[2]\n%1 = exq(%0) : f32[2]\nreturn %1\n";
  EXPECT_EQ(run({}), kExitError);
  EXPECT_NE(err_.str().find(path_ + ": line 2: unknown op 'exq'"), std::string::npos) << err_.str();
}

TEST_F(IrdumpRun, InvalidGraphsAreRefusedBeforeAnyPass) {
  std::ofstream(path_) << "%0 = input() {index=0} : f32[2]\n%1 = exp(%0) : f32[3]\nreturn %1\n";
  EXPECT_EQ(run({"--stats"}), kExitError);
  EXPECT_NE(err_.str().find("invalid graph"), std::string::npos) << err_.str();
}

TEST_F(IrdumpRun, Help) {
  out_.str("");
  EXPECT_EQ(irdump_main({"--help"}, out_, err_), kExitOk);
  EXPECT_NE(out_.str().find("usage: kiln-irdump"), std::string::npos);
}

}  // namespace
}  // namespace kiln::irdump
