// The tensor-core matmuls on a device against a float64 host reference: the Hopper wgmma/TMA
// kernel (chosen on compute capability 9.0) across the operand layouts it takes (row-major B,
// B = w.t(), A = x.t()), edge tiles in m, n and k, strided views with offsets, batches
// (contiguous and broadcast), the 4096 benchmark shape and both 16-bit dtypes, checking through
// the backend's counters that the dispatch really ran it; and KILN_CUDA_MMA's switches.
//
// Tolerance: products of two bfloat16 (float16) values are exact in float, the kernel sums k of
// them in float accumulators and rounds the sum once to the output type. So elementwise
// |got - ref| <= u * |ref| + k * 2^-22 * (|a| @ |b|), where u = 2^-8 (bfloat16) or 2^-11
// (float16) is the output's unit roundoff and k * 2^-22 is four times float's first-order bound
// on a k-term sum (margin for the tensor cores' internal adds). A wrong fragment, swizzle or
// edge shows up as errors of the size of the entries themselves.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "cuda/gpu_skip.h"
#include "kiln/backends/cuda/cuda_backend.h"
#include "kiln/kiln.h"
#include "kiln/runtime/cuda/driver.h"

namespace kiln {
namespace {

namespace bc = backends::cuda;

#define SM90_OR_SKIP()                                                      \
  TENSOR_CORES_OR_SKIP();                                                   \
  if (runtime::cuda::device_properties(0).major != 9 ||                     \
      runtime::cuda::device_properties(0).minor != 0)                       \
  GTEST_SKIP() << "the wgmma kernel needs compute capability 9.0, this is " \
               << runtime::cuda::device_properties(0).major << "."          \
               << runtime::cuda::device_properties(0).minor

// Restores KILN_CUDA_MMA (unset) when a test ends.
struct MmaEnv {
  explicit MmaEnv(const char* value) { setenv("KILN_CUDA_MMA", value, 1); }
  ~MmaEnv() { unsetenv("KILN_CUDA_MMA"); }
};

// `got` (on the device) against the float64 product of `a` and `b`, with the bound above.
void expect_matches_reference(const Tensor& got, const Tensor& a, const Tensor& b, DType t,
                              const std::string& what) {
  const Tensor a64 = a.cpu().to(float64), b64 = b.cpu().to(float64);
  const Tensor ref = matmul(a64, b64);
  ASSERT_EQ(got.sizes(), ref.sizes()) << what;
  const Tensor magnitude = matmul(a64.abs(), b64.abs());
  const double k = static_cast<double>(a.sizes().back());
  const double u = t == bfloat16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
  const Tensor bound = ref.abs() * u + magnitude * (k * std::ldexp(1.0, -22)) + 1e-30;
  const Tensor err = (got.cpu().to(float64) - ref).abs();
  const Tensor finite = (err == err).all();  // NaN never passes a <= test, but say so
  EXPECT_TRUE(finite.item<bool>()) << what << ": NaN in the result";
  EXPECT_TRUE((err <= bound).all().item<bool>())
      << what << ": largest error " << err.max().item<double>()
      << ", largest excess over the bound " << (err - bound).max().item<double>();
}

// Runs `fn` (one matmul) and expects exactly one step on the wgmma kernel and none on mma.sync.
template <class F>
Tensor on_wgmma(const std::string& what, F&& fn) {
  const bc::CudaBackendStats before = bc::cuda_backend_stats();
  Tensor c = fn();
  eval({c});
  const bc::CudaBackendStats after = bc::cuda_backend_stats();
  EXPECT_EQ(after.wgmma_matmuls, before.wgmma_matmuls + 1) << what;
  EXPECT_EQ(after.mma_matmuls, before.mma_matmuls) << what;
  return c;
}

TEST(CudaWgmma, BenchmarkShape4096) {
  SM90_OR_SKIP();
  manual_seed(7);
  for (DType t : {bfloat16, float16}) {
    const Tensor a = randn({4096, 4096}).to(t), b = randn({4096, 4096}).to(t);
    const Tensor ga = a.cuda(), gb = b.cuda();
    const Tensor c = on_wgmma("4096", [&] { return matmul(ga, gb); });
    // Rows of the first and last block tiles (float64 on the host costs 2 GFLOP per 64 rows).
    for (int64_t row : {int64_t{0}, int64_t{4032}}) {
      expect_matches_reference(c.narrow(0, row, 64), a.narrow(0, row, 64), b, t,
                               "4096 rows from " + std::to_string(row));
    }
  }
}

TEST(CudaWgmma, LayoutsAndEdgeTiles) {
  SM90_OR_SKIP();
  manual_seed(8);
  for (DType t : {bfloat16, float16}) {
    const std::string dt = t == bfloat16 ? " bf16" : " f16";
    {
      // x @ w.t(): B K-major; m and n odd, k = 64 + 8 (a partial k tile).
      const Tensor x = randn({197, 72}).to(t), w = randn({131, 72}).to(t);
      const Tensor gx = x.cuda(), gw = w.cuda();
      const Tensor c = on_wgmma("x @ w.t()" + dt, [&] { return matmul(gx, gw.t()); });
      expect_matches_reference(c, x, w.t(), t, "x @ w.t()" + dt);
    }
    {
      // x.t() @ b: A M-major, B N-major, k = 77 odd, n = 136 (a partial n tile).
      const Tensor x = randn({77, 200}).to(t), b = randn({77, 136}).to(t);
      const Tensor gx = x.cuda(), gb = b.cuda();
      const Tensor c = on_wgmma("x.t() @ b" + dt, [&] { return matmul(gx.t(), gb); });
      expect_matches_reference(c, x.t(), b, t, "x.t() @ b" + dt);
    }
    {
      // x.t() @ w.t(): both transposed; n = 40 inside one tile.
      const Tensor x = randn({96, 264}).to(t), w = randn({40, 96}).to(t);
      const Tensor gx = x.cuda(), gw = w.cuda();
      const Tensor c = on_wgmma("x.t() @ w.t()" + dt, [&] { return matmul(gx.t(), gw.t()); });
      expect_matches_reference(c, x.t(), w.t(), t, "x.t() @ w.t()" + dt);
    }
    {
      // A is a window of a wider buffer (row stride 80, offset 8, k = 67) whose other columns
      // hold NaN: the k tail must read zeros, not the neighbours.
      const Tensor a = randn({130, 67}).to(t), b = randn({67, 64}).to(t);
      const double nan = std::numeric_limits<double>::quiet_NaN();
      const Tensor storage = cat({full({130, 8}, nan, t), a, full({130, 5}, nan, t)}, 1);
      const Tensor gs = storage.cuda(), gb = b.cuda();
      const Tensor c = on_wgmma("window" + dt, [&] { return matmul(gs.narrow(1, 8, 67), gb); });
      expect_matches_reference(c, a, b, t, "window" + dt);
    }
  }
}

TEST(CudaWgmma, Batches) {
  SM90_OR_SKIP();
  manual_seed(9);
  for (DType t : {bfloat16, float16}) {
    const std::string dt = t == bfloat16 ? " bf16" : " f16";
    {
      const Tensor a = randn({3, 130, 64}).to(t), b = randn({3, 64, 264}).to(t);
      const Tensor ga = a.cuda(), gb = b.cuda();
      const Tensor c = on_wgmma("bmm" + dt, [&] { return matmul(ga, gb); });
      expect_matches_reference(c, a, b, t, "bmm" + dt);
    }
    {
      // Two batch dims on A, B broadcast (a 2-d tensor map reused by every batch entry).
      const Tensor a = randn({2, 3, 100, 128}).to(t), b = randn({128, 72}).to(t);
      const Tensor ga = a.cuda(), gb = b.cuda();
      const Tensor c = on_wgmma("broadcast" + dt, [&] { return matmul(ga, gb); });
      expect_matches_reference(c, a, b, t, "broadcast" + dt);
    }
    {
      const Tensor x = randn({4, 96, 128}).to(t), w = randn({4, 200, 128}).to(t);
      const Tensor gx = x.cuda(), gw = w.cuda();
      const Tensor c =
          on_wgmma("batched w.t()" + dt, [&] { return matmul(gx, gw.transpose(1, 2)); });
      expect_matches_reference(c, x, w.transpose(1, 2), t, "batched w.t()" + dt);
    }
  }
}

TEST(CudaWgmma, EpilogueReadsTheResult) {
  SM90_OR_SKIP();
  manual_seed(10);
  const Tensor x = randn({256, 512}).to(bfloat16), w = randn({384, 512}).to(bfloat16);
  const Tensor bias = randn({384}).to(bfloat16);
  const Tensor gx = x.cuda(), gw = w.cuda(), gbias = bias.cuda();
  const Tensor plain = on_wgmma("plain", [&] { return matmul(gx, gw.t()); });
  expect_matches_reference(plain, x, w.t(), bfloat16, "plain");
  const Tensor fused = on_wgmma("fused", [&] { return (matmul(gx, gw.t()) + gbias).relu(); });
  // The epilogue runs on the matmul's bfloat16 result, bit for bit like the host.
  EXPECT_TRUE(equal(fused.cpu(), (plain.cpu() + bias).relu()));
}

TEST(CudaWgmma, EnvironmentSwitchesKernels) {
  SM90_OR_SKIP();
  manual_seed(11);
  const Tensor a = randn({256, 320}).to(bfloat16), b = randn({320, 264}).to(bfloat16);
  const Tensor ga = a.cuda(), gb = b.cuda();
  {
    MmaEnv env("sync");
    const bc::CudaBackendStats before = bc::cuda_backend_stats();
    const Tensor c = matmul(ga, gb);
    eval({c});
    EXPECT_EQ(bc::cuda_backend_stats().mma_matmuls, before.mma_matmuls + 1);
    EXPECT_EQ(bc::cuda_backend_stats().wgmma_matmuls, before.wgmma_matmuls);
    expect_matches_reference(c, a, b, bfloat16, "mma.sync");
  }
  {
    MmaEnv env("0");
    const bc::CudaBackendStats before = bc::cuda_backend_stats();
    const Tensor c = matmul(ga, gb);
    eval({c});
    EXPECT_EQ(bc::cuda_backend_stats().mma_matmuls, before.mma_matmuls);
    EXPECT_EQ(bc::cuda_backend_stats().wgmma_matmuls, before.wgmma_matmuls);
    EXPECT_EQ(bc::cuda_backend_stats().matmuls, before.matmuls + 1);
    expect_matches_reference(c, a, b, bfloat16, "tiled");
  }
  const Tensor c = on_wgmma("default", [&] { return matmul(ga, gb); });
  expect_matches_reference(c, a, b, bfloat16, "wgmma");
  // float32 never takes the 16-bit kernels.
  const bc::CudaBackendStats before = bc::cuda_backend_stats();
  const Tensor f = matmul(ga.to(float32), gb.to(float32));
  eval({f});
  EXPECT_EQ(bc::cuda_backend_stats().wgmma_matmuls, before.wgmma_matmuls);
}

}  // namespace
}  // namespace kiln
