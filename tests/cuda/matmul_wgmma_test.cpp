// The Hopper matmul without a GPU: its four operand layouts of both dtypes compile with NVRTC
// for sm_90a (CUBIN) and compute_90a (the PTX fallback), the generated code uses TMA, mbarriers
// and wgmma with the right transpose flags, and matmul_wgmma_plan accepts exactly the layouts
// TMA can describe.
#include <gtest/gtest.h>

#include <string>

#include "cuda/nvrtc_test_cache.h"
#include "kiln/backends/cuda/matmul.h"
#include "kiln/backends/cuda/nvrtc.h"
#include "kiln/runtime/error.h"

namespace kiln {
namespace {

namespace bc = backends::cuda;

TEST(NvrtcMatmul, WgmmaCompilesForSm90aInEveryLayout) {
  if (!bc::nvrtc_available()) GTEST_SKIP() << bc::why_nvrtc_unavailable();
  for (DType t : {bfloat16, float16}) {
    for (bool a_mn : {false, true}) {
      for (bool b_mn : {false, true}) {
        const std::string src = bc::matmul_wgmma_source(t, a_mn, b_mn);
        const std::string symbol = bc::matmul_wgmma_symbol(t, a_mn, b_mn);
        SCOPED_TRACE(symbol);
        try {
          const bc::CompiledModule cubin =
              test::nvrtc_compile_cached(src, symbol, 90, /*cubin=*/true, {.arch_specific = true});
          EXPECT_TRUE(cubin.is_cubin);
          EXPECT_FALSE(cubin.image.empty());
          // ptxas reports wgmma it had to serialize (a lost overlap) in the log.
          EXPECT_EQ(cubin.log.find("serialized"), std::string::npos) << cubin.log;
          const bc::CompiledModule ptx =
              test::nvrtc_compile_cached(src, symbol, 90, /*cubin=*/false, {.arch_specific = true});
          EXPECT_FALSE(ptx.is_cubin);
          const std::string& text = ptx.image;
          EXPECT_NE(text.find(".target sm_90a"), std::string::npos);
          const std::string kind = t == float16 ? ".f16.f16" : ".bf16.bf16";
          EXPECT_NE(text.find("wgmma.mma_async.sync.aligned.m64n256k16.f32" + kind),
                    std::string::npos);
          EXPECT_NE(text.find("cp.async.bulk.tensor"), std::string::npos);
          EXPECT_NE(text.find("mbarrier.try_wait.parity"), std::string::npos);
          // The transpose immediates follow the layouts (A's then B's).
          const std::string flags =
              std::string(", p, 1, 1, ") + (a_mn ? "1" : "0") + ", " + (b_mn ? "1" : "0") + ";";
          EXPECT_NE(text.find(flags), std::string::npos) << flags;
        } catch (const Error& e) {
          FAIL() << e.what();
        }
      }
    }
  }
  // sm_90 without the 'a' cannot take wgmma: the module must be compiled architecture-specific.
  EXPECT_THROW(bc::nvrtc_compile(bc::matmul_wgmma_source(bfloat16, false, true), "plain", 90),
               Error);
}

// Row-major A [m, k] and B [k, n] at aligned device addresses.
bc::MatmulParams row_major(int64_t m, int64_t n, int64_t k) {
  bc::MatmulParams p;
  p.a = 1 << 20;
  p.b = 2 << 20;
  p.c = 3 << 20;
  p.m = m, p.n = n, p.k = k;
  p.a_stride_m = k, p.a_stride_k = 1;
  p.b_stride_k = n, p.b_stride_n = 1;
  return p;
}

TEST(WgmmaPlan, LayoutsOfCommonViews) {
  // x @ w with both row-major: A K-major, B N-major (transposed for wgmma).
  std::optional<bc::WgmmaPlan> plan = bc::matmul_wgmma_plan(bfloat16, row_major(4096, 4096, 4096));
  ASSERT_TRUE(plan);
  EXPECT_FALSE(plan->a_mn_major);
  EXPECT_TRUE(plan->b_mn_major);
  EXPECT_EQ(plan->a_batch_stride, 0);
  // x @ w.t() of a [n, k] weight: B K-major; odd m and n are free.
  bc::MatmulParams p = row_major(197, 131, 72);
  p.b_stride_k = 1, p.b_stride_n = 72;
  plan = bc::matmul_wgmma_plan(float16, p);
  ASSERT_TRUE(plan);
  EXPECT_FALSE(plan->b_mn_major);
  // x.t() @ w: A M-major, k free.
  p = row_major(200, 136, 77);
  p.a_stride_m = 1, p.a_stride_k = 200;
  plan = bc::matmul_wgmma_plan(bfloat16, p);
  ASSERT_TRUE(plan);
  EXPECT_TRUE(plan->a_mn_major);
  EXPECT_TRUE(plan->b_mn_major);
}

TEST(WgmmaPlan, RejectsWhatTmaCannotDescribe) {
  EXPECT_FALSE(bc::matmul_wgmma_plan(float32, row_major(256, 256, 256)));
  EXPECT_FALSE(bc::matmul_wgmma_plan(bfloat16, row_major(256, 256, 100)));  // 200-byte rows
  EXPECT_FALSE(bc::matmul_wgmma_plan(bfloat16, row_major(256, 100, 256)));
  bc::MatmulParams p = row_major(256, 256, 256);
  p.a_offset = 4;  // 8-byte aligned start
  EXPECT_FALSE(bc::matmul_wgmma_plan(bfloat16, p));
  p.a_offset = 8;  // 16-byte aligned
  EXPECT_TRUE(bc::matmul_wgmma_plan(bfloat16, p));
  p = row_major(256, 256, 256);
  p.a_stride_k = 2;  // no unit-stride dim
  EXPECT_FALSE(bc::matmul_wgmma_plan(bfloat16, p));
  p = row_major(256, 256, 0);
  EXPECT_FALSE(bc::matmul_wgmma_plan(bfloat16, p));
}

TEST(WgmmaPlan, BatchDimsCollapseIntoOneStride) {
  bc::MatmulParams p = row_major(64, 128, 32);
  p.batch_dims = 2;
  p.batch_sizes[0] = 2, p.batch_sizes[1] = 3;
  p.a_batch_strides[0] = 3 * 64 * 32, p.a_batch_strides[1] = 64 * 32;  // contiguous
  p.b_batch_strides[0] = 0, p.b_batch_strides[1] = 0;                  // broadcast
  std::optional<bc::WgmmaPlan> plan = bc::matmul_wgmma_plan(bfloat16, p);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->a_batch_stride, 64 * 32);
  EXPECT_EQ(plan->b_batch_stride, 0);
  // Size-1 dims do not matter.
  p.batch_sizes[0] = 1, p.a_batch_strides[0] = 12345;
  plan = bc::matmul_wgmma_plan(bfloat16, p);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->a_batch_stride, 64 * 32);
  // Permuted batch dims do not collapse; nor does a broadcast inner dim under a strided one.
  p.batch_sizes[0] = 2;
  p.a_batch_strides[0] = 64 * 32, p.a_batch_strides[1] = 2 * 64 * 32;
  EXPECT_FALSE(bc::matmul_wgmma_plan(bfloat16, p));
  p.a_batch_strides[0] = 64 * 32, p.a_batch_strides[1] = 0;
  EXPECT_FALSE(bc::matmul_wgmma_plan(bfloat16, p));
  // A batch stride that is not 16-byte aligned.
  p.a_batch_strides[0] = 3 * 2180, p.a_batch_strides[1] = 2180;
  EXPECT_FALSE(bc::matmul_wgmma_plan(bfloat16, p));
}

}  // namespace
}  // namespace kiln
