// The CUDA code generator consumes the loop IR the CPU path produces: random graphs are
// lowered with passes::lower_program (the CPU backend's lowering), and every kernel of every
// program (epilogues included) is emitted as CUDA C and compiled by NVRTC for sm_90.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cuda/nvrtc_test_cache.h"
#include "interp/random_graph.h"
#include "kiln/backends/cpu/codegen.h"
#include "kiln/backends/cpu/cpu_backend.h"
#include "kiln/backends/cuda/codegen.h"
#include "kiln/backends/cuda/matmul.h"
#include "kiln/backends/cuda/nvrtc.h"
#include "kiln/ir/graph.h"
#include "kiln/passes/lower_program.h"
#include "kiln/passes/pipeline.h"

namespace kiln {
namespace {

void collect(const ir::ProgramStep& step, std::vector<ir::LoopKernel>& kernels) {
  if (step.kind == ir::ProgramStep::Kind::kKernel) {
    kernels.push_back(step.kernel);
  } else {
    for (const ir::ProgramStep& e : step.epilogue) {
      ir::LoopKernel k = e.kernel;
      ir::KernelLaunch l = e.launch;
      ir::canonicalize_launch(k, l);
      kernels.push_back(std::move(k));
    }
  }
}

TEST(NvrtcLowering, RandomGraphKernelsCompile) {
  if (!backends::cuda::nvrtc_available()) GTEST_SKIP() << backends::cuda::why_nvrtc_unavailable();
  std::set<std::string> seen;
  std::string unit(backends::cuda::cuda_prelude());
  int kernels = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    testing::RandomGraph g = testing::random_graph(seed);
    passes::run_realization_pipeline(g.graph);
    const ir::Program program = passes::lower_program(g.graph);
    std::vector<ir::LoopKernel> found;
    for (const ir::ProgramStep& step : program.steps) collect(step, found);
    for (const ir::LoopKernel& k : found) {
      // Both code generators accept the kernel (the CPU one sends integer div/pow to its
      // evaluator; the CUDA one emits them).
      ASSERT_EQ(backends::cuda::why_not_emittable(k), "") << ir::to_string(k);
      const std::string key = backends::cpu::cpu_kernel_key(k);
      if (!seen.insert(key).second) continue;
      const std::string symbol = absl::StrCat("k", kernels++);
      const std::string source = backends::cuda::emit_cuda_kernel(k, symbol);
      unit += source.substr(backends::cuda::cuda_prelude().size());
    }
  }
  EXPECT_GT(kernels, 40);
  try {
    const auto module = test::nvrtc_compile_cached(unit, "random_graphs", 90);
    EXPECT_TRUE(module.is_cubin);
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
}

// Sibling sums and products (one kernel, several accumulators) and elementwise siblings, of
// every accumulator type: the multi-output kernels of passes/group_kernels.h compile.
TEST(NvrtcLowering, GroupedKernelsCompile) {
  if (!backends::cuda::nvrtc_available()) GTEST_SKIP() << backends::cuda::why_nvrtc_unavailable();
  std::string unit(backends::cuda::cuda_prelude());
  int kernels = 0;
  for (DType t : {float32, float64, float16, int64, int32}) {
    for (ir::Op op : {ir::Op::sum, ir::Op::prod}) {
      const std::string ty(short_name(t));
      const std::string red(ir::op_name(op));
      std::string text = "%0 = input() {index=0} : " + ty + "[8, 300]\n" +
                         "%1 = input() {index=1} : " + ty + "[8, 300]\n" +
                         "%2 = mul(%0, %1) : " + ty + "[8, 300]\n" +  //
                         "%3 = " + red + "(%0) {axes=[1], keepdim=false} : " + ty + "[8]\n" +
                         "%4 = " + red + "(%2) {axes=[1], keepdim=false} : " + ty + "[8]\n" +
                         "%5 = sub(%0, %1) : " + ty + "[8, 300]\n" + "return %2, %3, %4, %5\n";
      absl::StatusOr<ir::Graph> g = ir::parse_graph(text);
      ASSERT_TRUE(g.ok()) << g.status();
      const ir::Program program = passes::lower_program(*g);
      ASSERT_EQ(program.steps.size(), 2u) << text;
      for (const ir::ProgramStep& step : program.steps) {
        EXPECT_EQ(step.kernel.stores.size(), 2u) << ir::to_string(step.kernel);
        ASSERT_EQ(backends::cuda::why_not_emittable(step.kernel), "");
        const std::string symbol = absl::StrCat("g", kernels++);
        unit += backends::cuda::emit_cuda_kernel(step.kernel, symbol)
                    .substr(backends::cuda::cuda_prelude().size());
      }
    }
  }
  try {
    const auto module = test::nvrtc_compile_cached(unit, "grouped_kernels", 90);
    EXPECT_TRUE(module.is_cubin);
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
}

TEST(NvrtcMatmul, EveryFloatDtypeCompiles) {
  if (!backends::cuda::nvrtc_available()) GTEST_SKIP() << backends::cuda::why_nvrtc_unavailable();
  for (DType t : {float32, float64, float16, bfloat16}) {
    ASSERT_TRUE(backends::cuda::matmul_supported(t));
    const auto module = test::nvrtc_compile_cached(backends::cuda::matmul_source(t), "matmul", 90);
    EXPECT_TRUE(module.is_cubin);
  }
  EXPECT_FALSE(backends::cuda::matmul_supported(int64));
  for (DType t : {float16, bfloat16}) {
    const auto module =
        test::nvrtc_compile_cached(backends::cuda::matmul_mma_source(t), "matmul_mma", 90);
    EXPECT_TRUE(module.is_cubin);
  }
}

}  // namespace
}  // namespace kiln
