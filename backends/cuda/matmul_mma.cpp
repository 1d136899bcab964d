// The tensor-core matmul of float16/bfloat16 (matmul.h): mma.sync m16n8k16 with float
// accumulators, fragments loaded with ldmatrix.
//
// A 256-thread block computes a 128 x 128 tile of C; its 8 warps form a 2 x 4 grid of 64 x 32
// warp tiles (4 x 4 mma tiles each, 64 float accumulators per thread). K advances in slices of
// 32: A (128 x 32, row-major, padded rows) and B (32 x 128) are staged in shared memory,
// double buffered through registers (16-byte global loads of the next slice are in flight while
// the tensor cores work on this one). Requirements (matmul_mma_fits): A and B dense along k and
// n (unit stride), row strides, offsets and batch strides multiples of 8 elements, k a multiple
// of 32, n a multiple of 8; M is free (rows past it read as zeros and are not stored).
#include "kiln/backends/cuda/matmul.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::backends::cuda {
namespace {

constexpr std::string_view kMma = R"CUDA(
struct __align__(16) Chunk { unsigned x, y, z, w; };

// Two blocks per SM (128 registers per thread, no spills on sm_90).
extern "C" __global__ void __launch_bounds__(256, 2) SYMBOL(const MatmulParams p) {
  constexpr int BM = 128, BN = 128, BK = 32, AP = BK + 8, BP = BN + 8;
  __shared__ __align__(16) u16 As[2][BM * AP];
  __shared__ __align__(16) u16 Bs[2][BK * BP];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = (warp >> 2) * 64, wn = (warp & 3) * 32;
  const i64 row0 = (i64)blockIdx.y * BM, col0 = (i64)blockIdx.x * BN;
  i64 a_base, b_base;
  matmul_batch_bases(p, a_base, b_base);
  const u16* __restrict__ a = p.a + a_base;
  const u16* __restrict__ b = p.b + b_base;
  u16* __restrict__ c = p.c + (i64)blockIdx.z * p.m * p.n;

  float acc[4][4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;

  Chunk ra[2], rb[2];
  const Chunk zero = {0u, 0u, 0u, 0u};
  auto fetch = [&](i64 k0) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int ch = tid + i * 256;
      const int r = ch >> 2, kc = (ch & 3) * 8;
      const i64 gm = row0 + r;
      ra[i] = gm < p.m ? *(const Chunk*)(a + gm * p.a_stride_m + k0 + kc) : zero;
      const int kr = ch >> 4, nc = (ch & 15) * 8;
      const i64 gn = col0 + nc;
      rb[i] = gn < p.n ? *(const Chunk*)(b + (k0 + kr) * p.b_stride_k + gn) : zero;
    }
  };
  auto stage = [&](int buf) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int ch = tid + i * 256;
      *(Chunk*)(&As[buf][(ch >> 2) * AP + (ch & 3) * 8]) = ra[i];
      *(Chunk*)(&Bs[buf][(ch >> 4) * BP + (ch & 15) * 8]) = rb[i];
    }
  };
  fetch(0);
  stage(0);
  __syncthreads();
  int buf = 0;
  for (i64 k0 = 0; k0 < p.k; k0 += BK) {
    const bool more = k0 + BK < p.k;
    if (more) fetch(k0 + BK);
#pragma unroll
    for (int kk = 0; kk < BK; kk += 16) {
      unsigned af[4][4], bf[4][2];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const u16* src = &As[buf][(wm + i * 16 + (lane & 15)) * AP + kk + (lane >> 4) * 8];
        const unsigned addr = (unsigned)__cvta_generic_to_shared(src);
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                     : "=r"(af[i][0]), "=r"(af[i][1]), "=r"(af[i][2]), "=r"(af[i][3])
                     : "r"(addr));
      }
#pragma unroll
      for (int j = 0; j < 4; j += 2) {
        const u16* src =
            &Bs[buf][(kk + (lane & 7) + ((lane >> 3) & 1) * 8) * BP + wn + j * 8 + (lane >> 4) * 8];
        const unsigned addr = (unsigned)__cvta_generic_to_shared(src);
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                     : "=r"(bf[j][0]), "=r"(bf[j][1]), "=r"(bf[j + 1][0]), "=r"(bf[j + 1][1])
                     : "r"(addr));
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
          asm volatile(
              "mma.sync.aligned.m16n8k16.row.col.f32.KIND.KIND.f32 {%0, %1, %2, %3}, "
              "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
              : "+f"(acc[i][j][0]), "+f"(acc[i][j][1]), "+f"(acc[i][j][2]), "+f"(acc[i][j][3])
              : "r"(af[i][0]), "r"(af[i][1]), "r"(af[i][2]), "r"(af[i][3]), "r"(bf[j][0]),
                "r"(bf[j][1]));
    }
    if (more) {
      stage(buf ^ 1);
      __syncthreads();
      buf ^= 1;
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const i64 gm = row0 + wm + i * 16 + (lane >> 2) + h * 8;
      if (gm >= p.m) continue;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const i64 gn = col0 + wn + j * 8 + (lane & 3) * 2;
        if (gn >= p.n) continue;
        const unsigned lo = STORE(acc[i][j][h * 2]), hi = STORE(acc[i][j][h * 2 + 1]);
        *(unsigned*)(c + gm * p.n + gn) = lo | (hi << 16);
      }
    }
  }
}
)CUDA";

}  // namespace

bool matmul_mma_fits(DType dtype, const MatmulParams& p) {
  if (dtype != float16 && dtype != bfloat16) return false;
  bool ok = p.a_stride_k == 1 && p.b_stride_n == 1 && p.a_stride_m % 8 == 0 &&
            p.b_stride_k % 8 == 0 && p.a_offset % 8 == 0 && p.b_offset % 8 == 0 && p.k % 32 == 0 &&
            p.k > 0 && p.n % 8 == 0 && p.a % 16 == 0 && p.b % 16 == 0 && p.c % 16 == 0;
  for (int64_t d = 0; d < p.batch_dims; ++d)
    ok = ok && p.a_batch_strides[d] % 8 == 0 && p.b_batch_strides[d] % 8 == 0;
  return ok;
}

std::string matmul_mma_symbol(DType dtype) {
  return absl::StrCat("kiln_matmul_mma_", sv(short_name(dtype)));
}

std::string matmul_mma_source(DType dtype) {
  const bool half = dtype == float16;
  const std::string body =
      absl::StrReplaceAll(sv(kMma), {{"SYMBOL", matmul_mma_symbol(dtype)},
                                     {"KIND", half ? "f16" : "bf16"},
                                     {"STORE", half ? "(unsigned)k_f2h" : "(unsigned)k_f2b"}});
  return matmul_module_source("u16", "", body);
}

}  // namespace kiln::backends::cuda
