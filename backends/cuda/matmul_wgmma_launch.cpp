// Launching the Hopper matmul (matmul_wgmma.cpp): the TMA tensor maps of its operands, built on
// the host with cuTensorMapEncodeTiled for every call (they hold the operands' addresses) and
// passed by value as __grid_constant__ kernel parameters, the dynamic shared memory opt-in, and
// the launch itself.
#include "kiln/backends/cuda/matmul_wgmma_launch.h"

#include <mutex>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kiln/backends/cuda/module_cache.h"
#include "kiln/runtime/cuda/driver.h"

namespace kiln::backends::cuda {
namespace {

namespace rc = runtime::cuda;

// The kernel's third parameter (layout shared with the CUDA source's WgmmaParams).
struct WgmmaParams {
  uint64_t c = 0;
  int64_t m = 0, n = 0;
  int32_t k_tiles = 0;
  int32_t a_batched = 0, b_batched = 0;
};

// The tensor map of one operand: `inner` (unit stride) and `outer` extents with the outer
// dim's stride, a batch dim when batch_stride != 0; `box_outer` rows of 64 elements (128 bytes,
// the 128-byte swizzle's width) per copy. False when the driver refuses it.
bool encode(const rc::Driver& d, rc::CUtensorMap& map, DType dtype, uint64_t address, int64_t inner,
            int64_t outer, int64_t outer_stride, int64_t batch, int64_t batch_stride,
            unsigned box_outer) {
  if (d.cuTensorMapEncodeTiled == nullptr) return false;
  const uint64_t dims[3] = {static_cast<uint64_t>(inner), static_cast<uint64_t>(outer),
                            static_cast<uint64_t>(batch)};
  const uint64_t strides[2] = {static_cast<uint64_t>(outer_stride) * 2,
                               static_cast<uint64_t>(batch_stride) * 2};
  const unsigned box[3] = {64, box_outer, 1};
  const unsigned element_strides[3] = {1, 1, 1};
  const unsigned rank = batch_stride != 0 ? 3 : 2;
  const int type =
      dtype == float16 ? rc::CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : rc::CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
  return d.cuTensorMapEncodeTiled(&map, type, rank, reinterpret_cast<void*>(address), dims, strides,
                                  box, element_strides, rc::CU_TENSOR_MAP_INTERLEAVE_NONE,
                                  rc::CU_TENSOR_MAP_SWIZZLE_128B,
                                  rc::CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                                  rc::CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == rc::CUDA_SUCCESS;
}

// Raises the function's dynamic shared memory limit once per (device, function).
void opt_in_shared(int index, rc::CUfunction f) {
  static std::mutex m;
  static std::set<std::pair<int, rc::CUfunction>> done;
  std::lock_guard<std::mutex> lock(m);
  if (!done.insert({index, f}).second) return;
  rc::check(rc::require_driver().cuFuncSetAttribute(
                f, rc::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, kWgmmaSharedBytes),
            "cuFuncSetAttribute");
}

}  // namespace

bool wgmma_device(int index) {
  const rc::DeviceProperties& props = rc::device_properties(index);
  return props.major == 9 && props.minor == 0 &&
         props.max_shared_per_block_optin >= kWgmmaSharedBytes &&
         rc::require_driver().cuTensorMapEncodeTiled != nullptr;
}

bool launch_matmul_wgmma(int index, DType dtype, const MatmulParams& p, const WgmmaPlan& plan,
                         int64_t batch) {
  const rc::Driver& d = rc::require_driver();
  alignas(128) rc::CUtensorMap map_a{}, map_b{};
  const uint64_t a = p.a + 2 * static_cast<uint64_t>(p.a_offset);
  const uint64_t b = p.b + 2 * static_cast<uint64_t>(p.b_offset);
  // A is m x k: K-major {k, m} with 128 rows per copy, MN-major {m, k} with 64 k rows (two
  // copies cover the tile's 128 columns). B is k x n likewise, with 256 rows or 4 copies.
  const bool ok_a = plan.a_mn_major ? encode(d, map_a, dtype, a, p.m, p.k, p.a_stride_k, batch,
                                             plan.a_batch_stride, 64)
                                    : encode(d, map_a, dtype, a, p.k, p.m, p.a_stride_m, batch,
                                             plan.a_batch_stride, kWgmmaTileM);
  const bool ok_b = plan.b_mn_major ? encode(d, map_b, dtype, b, p.n, p.k, p.b_stride_k, batch,
                                             plan.b_batch_stride, 64)
                                    : encode(d, map_b, dtype, b, p.k, p.n, p.b_stride_n, batch,
                                             plan.b_batch_stride, kWgmmaTileN);
  if (!ok_a || !ok_b) return false;
  WgmmaParams params;
  params.c = p.c;
  params.m = p.m;
  params.n = p.n;
  params.k_tiles = static_cast<int32_t>((p.k + 63) / 64);
  params.a_batched = plan.a_batch_stride != 0 ? 1 : 0;
  params.b_batched = plan.b_batch_stride != 0 ? 1 : 0;
  const std::string symbol = matmul_wgmma_symbol(dtype, plan.a_mn_major, plan.b_mn_major);
  rc::CUfunction f =
      cuda_function(index, absl::StrCat("matmul/1\n", symbol), symbol,
                    [&] { return matmul_wgmma_source(dtype, plan.a_mn_major, plan.b_mn_major); },
                    {.arch_specific = true});
  opt_in_shared(index, f);
  void* args[] = {&map_a, &map_b, &params};
  rc::check(d.cuLaunchKernel(f, static_cast<unsigned>((p.n + kWgmmaTileN - 1) / kWgmmaTileN),
                             static_cast<unsigned>((p.m + kWgmmaTileM - 1) / kWgmmaTileM),
                             static_cast<unsigned>(batch), kWgmmaThreads, 1, 1, kWgmmaSharedBytes,
                             nullptr, args, nullptr),
            "cuLaunchKernel");
  return true;
}

}  // namespace kiln::backends::cuda
