#include "kiln/backends/cuda/matmul.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "kiln/backends/cuda/codegen.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::backends::cuda {
namespace {

// What every kernel over MatmulParams starts with (this file's and matmul_mma.cpp's): the
// parameter struct (T: the storage type) and the batch entry's offsets.
constexpr std::string_view kMatmulCommon = R"CUDA(
struct MatmulParams {
  const T* a; const T* b; T* c;
  i64 m, n, k;
  i64 a_offset, a_stride_m, a_stride_k;
  i64 b_offset, b_stride_k, b_stride_n;
  i64 batch_dims;
  i64 batch_sizes[6], a_batch[6], b_batch[6];
};

// Element offsets in A and B of batch entry blockIdx.z (row-major over the batch dims).
KI void matmul_batch_bases(const MatmulParams& p, i64& a_base, i64& b_base) {
  a_base = p.a_offset;
  b_base = p.b_offset;
  i64 rest = blockIdx.z;
  for (int d = (int)p.batch_dims - 1; d >= 0; --d) {
    const i64 coord = rest % p.batch_sizes[d];
    rest /= p.batch_sizes[d];
    a_base += coord * p.a_batch[d];
    b_base += coord * p.b_batch[d];
  }
}
)CUDA";

// T: storage type; A: accumulator; LOAD(x): storage -> A; STORE(x): A -> storage.
constexpr std::string_view kMatmul = R"CUDA(
extern "C" __global__ void __launch_bounds__(256) SYMBOL(const MatmulParams p) {
  constexpr int BM = TILE_M, BN = TILE_N, BK = 8, TM = BM / 16, TN = BN / 16;
  __shared__ A As[2][BK][BM];
  __shared__ A Bs[2][BK][BN];
  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;
  const i64 row0 = (i64)blockIdx.y * BM, col0 = (i64)blockIdx.x * BN;
  i64 a_base, b_base;
  matmul_batch_bases(p, a_base, b_base);
  const T* __restrict__ a = p.a + a_base;
  const T* __restrict__ b = p.b + b_base;
  T* __restrict__ c = p.c + (i64)blockIdx.z * p.m * p.n;

  A acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = (A)0;

  // Each thread stages BM * BK / 256 elements of A and BK * BN / 256 of B per slice.
  constexpr int LA = BM * BK / 256, LB = BK * BN / 256;
  A ra[LA], rb[LB];
  auto fetch = [&](i64 k0) {
#pragma unroll
    for (int l = 0; l < LA; ++l) {
      const int e = tid + l * 256;
      const int kk = e % BK, mm = e / BK;
      const i64 gm = row0 + mm, gk = k0 + kk;
      ra[l] = (gm < p.m && gk < p.k) ? LOAD(a[gm * p.a_stride_m + gk * p.a_stride_k]) : (A)0;
    }
#pragma unroll
    for (int l = 0; l < LB; ++l) {
      const int e = tid + l * 256;
      const int nn = e % BN, kk = e / BN;
      const i64 gk = k0 + kk, gn = col0 + nn;
      rb[l] = (gk < p.k && gn < p.n) ? LOAD(b[gk * p.b_stride_k + gn * p.b_stride_n]) : (A)0;
    }
  };
  auto stage = [&](int buf) {
#pragma unroll
    for (int l = 0; l < LA; ++l) {
      const int e = tid + l * 256;
      As[buf][e % BK][e / BK] = ra[l];
    }
#pragma unroll
    for (int l = 0; l < LB; ++l) {
      const int e = tid + l * 256;
      Bs[buf][e / BN][e % BN] = rb[l];
    }
  };
  fetch(0);
  stage(0);
  __syncthreads();
  int buf = 0;
  for (i64 k0 = 0; k0 < p.k; k0 += BK) {
    const bool more = k0 + BK < p.k;
    if (more) fetch(k0 + BK);  // global loads in flight during the math below
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      A av[TM], bv[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) av[i] = As[buf][kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < TN; ++j) bv[j] = Bs[buf][kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = FMA(av[i], bv[j], acc[i][j]);
    }
    if (more) {
      stage(buf ^ 1);
      __syncthreads();
      buf ^= 1;
    }
  }
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const i64 gm = row0 + ty + 16 * i;
    if (gm >= p.m) continue;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const i64 gn = col0 + tx + 16 * j;
      if (gn < p.n) c[gm * p.n + gn] = STORE(acc[i][j]);
    }
  }
}
)CUDA";

}  // namespace

bool matmul_supported(DType dtype) {
  return dtype == float32 || dtype == float64 || dtype == float16 || dtype == bfloat16;
}

std::string matmul_symbol(DType dtype) {
  return absl::StrCat("kiln_matmul_", sv(short_name(dtype)));
}

int matmul_tile_m(DType dtype) { return dtype == float64 ? 64 : 128; }
int matmul_tile_n(DType dtype) { return dtype == float64 ? 64 : 128; }

std::string matmul_source(DType dtype) {
  std::string t = "float", a = "float", load = "(x)", store = "(x)", fma = "fmaf";
  if (dtype == float64) {
    t = "double";
    a = "double";
    fma = "fma";
  } else if (dtype == float16) {
    t = "u16";
    load = "k_h2f(x)";
    store = "k_f2h(x)";
  } else if (dtype == bfloat16) {
    t = "u16";
    load = "k_b2f(x)";
    store = "k_f2b(x)";
  }
  const std::string body =
      absl::StrReplaceAll(sv(kMatmul), {{"SYMBOL", matmul_symbol(dtype)},
                                        {"TILE_M", absl::StrCat(matmul_tile_m(dtype))},
                                        {"TILE_N", absl::StrCat(matmul_tile_n(dtype))}});
  return matmul_module_source(
      t,
      absl::StrCat("#define A ", a, "\n#define LOAD(x) ", load, "\n#define STORE(x) ", store,
                   "\n#define FMA ", fma, "\n"),
      body);
}

std::string matmul_module_source(std::string_view storage, std::string_view defines,
                                 std::string_view kernel) {
  return absl::StrCat(sv(cuda_prelude()), "\n#define T ", sv(storage), "\n", sv(defines),
                      sv(kMatmulCommon), sv(kernel));
}

}  // namespace kiln::backends::cuda
