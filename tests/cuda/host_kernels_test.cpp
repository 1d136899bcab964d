// The host execution of CUDA C (backends/cuda/host_kernels.h): the dialect shim's barriers,
// warp shuffles, shared memory and atomics against CUDA's semantics, worked out here by hand;
// launch failures (a barrier deadlock, a compile error) as errors; the kernel names found in a
// module. ctest runs the launches with KILN_EMULATE_CUDA=2 KILN_EMULATE_CUDA_KERNELS=1;
// elsewhere they skip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "frontend/frontend_test_util.h"
#include "kiln/backends/cpu/build_id.h"
#include "kiln/backends/cuda/codegen.h"
#include "kiln/backends/cuda/host_kernels.h"
#include "kiln/backends/cuda/module_cache.h"
#include "kiln/runtime/buffer.h"
#include "kiln/runtime/cuda/copy.h"
#include "kiln/runtime/cuda/driver.h"

namespace kiln {
namespace {

namespace bc = backends::cuda;
namespace rc = runtime::cuda;
using testing::error_of;

#define HOST_KERNELS_OR_SKIP()    \
  if (!bc::kernels_run_on_host()) \
  GTEST_SKIP() << "needs KILN_EMULATE_CUDA=N and KILN_EMULATE_CUDA_KERNELS=1"

// Launches `symbol` of `source` with one pointer argument over grid x block (x, y).
void launch(const std::string& source, const std::string& symbol, void* data, unsigned grid,
            unsigned block_x, unsigned block_y = 1) {
  rc::CUfunction f = bc::cuda_function(0, "host-kernels-test\n" + source, symbol,
                                       [&] { return std::string(bc::cuda_prelude()) + source; });
  void* args[] = {&data};
  rc::check(rc::require_driver().cuLaunchKernel(f, grid, 1, 1, block_x, block_y, 1, 0, nullptr,
                                                args, nullptr),
            "cuLaunchKernel");
}

template <class T>
std::vector<T> run_on_device(const std::string& source, const std::string& symbol,
                             std::vector<T> values, unsigned grid, unsigned block_x,
                             unsigned block_y = 1) {
  const size_t bytes = values.size() * sizeof(T);
  auto buffer = runtime::Buffer::allocate(bytes, cuda);
  rc::copy_host_to_device(buffer->data(), values.data(), bytes, 0);
  launch(source, symbol, buffer->data(), grid, block_x, block_y);
  rc::copy_device_to_host(values.data(), buffer->data(), bytes, 0);
  return values;
}

TEST(HostKernels, KernelNamesAreTheGlobalFunctions) {
  EXPECT_EQ(bc::kernel_names(R"(
    KI float helper(float x) { return x; }
    extern "C" __global__ void __launch_bounds__(256) first(const P p) {}
    extern "C" __global__ void __launch_bounds__(384, 1)
        second(const __grid_constant__ T t) {}
    extern "C" __global__ void third(int* x) {})"),
            std::vector<std::string>({"first", "second", "third"}));
}

// A block sum in the generated reductions' style: per-warp shuffles down, one word per warp in
// shared memory, __syncthreads, then warp 0 combines. Three blocks of 96 threads (a partial
// third warp would be a bug in the kernels, so the block is whole warps).
TEST(HostKernels, ShufflesAndSharedMemoryReduceABlock) {
  HOST_KERNELS_OR_SKIP();
  const std::string source = R"(
extern "C" __global__ void block_sum(i64* data) {
  __shared__ i64 partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  i64 v = data[blockIdx.x * blockDim.x + threadIdx.x];
  for (int s = 16; s > 0; s >>= 1) v += __shfl_down_sync(0xffffffffu, v, s);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < (int)(blockDim.x / 32) ? partial[lane] : 0;
    for (int s = 16; s > 0; s >>= 1) v += __shfl_down_sync(0xffffffffu, v, s);
    if (lane == 0) data[blockIdx.x * blockDim.x] = v;
  }
}
)";
  std::vector<int64_t> values(3 * 96);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int64_t>(i * i % 1000);
  const std::vector<int64_t> out = run_on_device(source, "block_sum", values, 3, 96);
  for (size_t b = 0; b < 3; ++b) {
    int64_t want = 0;
    for (size_t i = 0; i < 96; ++i) want += values[b * 96 + i];
    EXPECT_EQ(out[b * 96], want) << "block " << b;
  }
}

// Every shuffle's lane arithmetic (width 32 and 8), a 2-d block's thread index, and atomics
// whose result does not depend on the threads' order.
TEST(HostKernels, ShuffleVariantsTwoDimensionalBlocksAndAtomics) {
  HOST_KERNELS_OR_SKIP();
  const std::string source = R"(
extern "C" __global__ void shuffles(int* out) {
  const int t = threadIdx.y * blockDim.x + threadIdx.x;  // 0..63
  const int v = 100 + t;
  out[4 * t + 0] = __shfl_down_sync(0xffffffffu, v, 3);
  out[4 * t + 1] = __shfl_up_sync(0xffffffffu, v, 2, 8);
  out[4 * t + 2] = __shfl_xor_sync(0xffffffffu, v, 5);
  out[4 * t + 3] = __shfl_sync(0xffffffffu, v, 7, 16);
  atomicAdd(&out[256], 1);
  atomicMax(&out[257], v);
  atomicMin(&out[258], v);
}
)";
  std::vector<int32_t> init(259, 0);
  init[258] = 1 << 30;
  const std::vector<int32_t> out = run_on_device(source, "shuffles", init, 1, 16, 4);
  for (int t = 0; t < 64; ++t) {
    const int lane = t % 32, warp_base = t - lane, v = 100 + t;
    SCOPED_TRACE(t);
    EXPECT_EQ(out[4 * t + 0], lane + 3 < 32 ? v + 3 : v);
    EXPECT_EQ(out[4 * t + 1], lane % 8 >= 2 ? v - 2 : v);
    EXPECT_EQ(out[4 * t + 2], 100 + warp_base + (lane ^ 5));
    EXPECT_EQ(out[4 * t + 3], 100 + warp_base + lane / 16 * 16 + 7);
  }
  EXPECT_EQ(out[256], 64);
  EXPECT_EQ(out[257], 163);
  EXPECT_EQ(out[258], 100);
}

TEST(HostKernels, ADeadlockedBarrierIsALaunchError) {
  HOST_KERNELS_OR_SKIP();
  // Lane 0 waits at __syncthreads while the rest of its warp waits at __syncwarp: neither
  // barrier can complete (a hang on a GPU).
  const std::string source = R"(
extern "C" __global__ void deadlock(int* out) {
  if (threadIdx.x == 0) {
    __syncthreads();
  } else {
    __syncwarp();
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}
)";
  std::vector<int32_t> values(64, 0);
  EXPECT_THAT(error_of([&] { (void)run_on_device(source, "deadlock", values, 1, 64); }),
              ::testing::HasSubstr("barrier deadlock in block (0, 0, 0)"));
  // The device goes on working after a failed launch.
  const std::string ok = R"(
extern "C" __global__ void fill(int* out) { out[threadIdx.x] = (int)threadIdx.x; }
)";
  const std::vector<int32_t> out = run_on_device(ok, "fill", values, 1, 64);
  EXPECT_EQ(out[63], 63);
}

TEST(HostKernels, CompileErrorsCarryTheCompilersOutput) {
  HOST_KERNELS_OR_SKIP();
  const std::string source = R"(
extern "C" __global__ void broken(int* out) { out[threadIdx.x] = undefined_name; }
)";
  std::vector<int32_t> values(4, 0);
  EXPECT_THAT(error_of([&] { (void)run_on_device(source, "broken", values, 1, 4); }),
              ::testing::AllOf(::testing::HasSubstr("cuda host module"),
                               ::testing::HasSubstr("undefined_name")));
}

// The stored CUBIN of a kernel is found again only by a compile that would produce the same
// bytes: same options (architecture, fmad, architecture-specific code), same compiler, and
// the same kiln build, whose code generation made the source.
TEST(ModuleCache, DiskKeyNamesTheOptionsTheCompilerAndTheBuild) {
  const std::string base = bc::module_disk_key("kernel-key", 90, {}, "nvrtc 13000");
  for (const std::string& option : bc::nvrtc_options(90, /*cubin=*/true, {}))
    EXPECT_THAT(base, ::testing::HasSubstr(option));
  EXPECT_THAT(base, ::testing::HasSubstr(backends::cpu::kiln_build_id()));
  EXPECT_THAT(base, ::testing::HasSubstr("nvrtc 13000"));
  EXPECT_EQ(base, bc::module_disk_key("kernel-key", 90, {}, "nvrtc 13000"));
  bc::NvrtcFlags fmad;
  fmad.fmad = true;
  bc::NvrtcFlags arch_specific;
  arch_specific.arch_specific = true;
  for (const std::string& other :
       {bc::module_disk_key("kernel-key2", 90, {}, "nvrtc 13000"),
        bc::module_disk_key("kernel-key", 89, {}, "nvrtc 13000"),
        bc::module_disk_key("kernel-key", 90, fmad, "nvrtc 13000"),
        bc::module_disk_key("kernel-key", 90, arch_specific, "nvrtc 13000"),
        bc::module_disk_key("kernel-key", 90, {}, "nvrtc 13010")})
    EXPECT_NE(base, other);
}

}  // namespace
}  // namespace kiln
