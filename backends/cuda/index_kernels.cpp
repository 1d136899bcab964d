// The CUDA C of the index/index_put kernels (index_steps.h describes the algorithm), one module
// per dtype: the element moves depend only on the storage type, the accumulation on the
// dtype's compute type and its rounding (codegen_expr.h's conversions, as the generated
// elementwise kernels use them).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "kiln/backends/cuda/codegen.h"
#include "kiln/backends/cuda/codegen_expr.h"
#include "kiln/backends/cuda/index_steps.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::backends::cuda {
namespace {

// T: memory type; C: compute type; LOADC(m): memory -> compute; STOREC(c): compute -> memory
// (rounded or truncated to the dtype); ADD(a, b): the interpreter's add in the compute type.
// Loops over the dims of a part are unrolled to kIndexMaxDims with a rank guard so that the
// parameter arrays are indexed by constants (no local-memory copy of the parameter).
constexpr std::string_view kIndexKernels = R"CUDA(
#define KD 8
#define KK 8
struct IndexParams {
  i64 k, positions, outer, inner, block;
  i64 idx_rank, outer_rank, inner_rank;
  i64 idx_sizes[KD], outer_sizes[KD], inner_sizes[KD];
  const i64* idx[KK];
  i64 idx_offset[KK];
  i64 idx_strides[KK][KD];
  i64 dim_sizes[KK];
  i64 run_strides[KK];
  const T* data;
  i64 data_offset;
  i64 data_outer[KD], data_mid[KD], data_inner[KD];
  T* out;
};

// The offset of row-major point i of a part (sizes) under `strides`.
KI i64 k_unravel(i64 i, i64 rank, const i64 (&sizes)[KD], const i64 (&strides)[KD]) {
  i64 off = 0;
#pragma unroll
  for (int d = KD - 1; d >= 0; --d) {
    if (d < rank) {
      const i64 s = sizes[d];
      off += (i % s) * strides[d];
      i /= s;
    }
  }
  return off;
}

#define GRID_LOOP(i, count) \
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (count); \
       i += (i64)gridDim.x * blockDim.x)

// Offset into `data` (values) of value element (o, n, e) of index_put.
KI i64 k_value_at(const IndexParams& p, i64 o, i64 n, i64 e) {
  return p.data_offset + k_unravel(o, p.outer_rank, p.outer_sizes, p.data_outer) +
         k_unravel(n, p.idx_rank, p.idx_sizes, p.data_mid) +
         k_unravel(e, p.inner_rank, p.inner_sizes, p.data_inner);
}

extern "C" __global__ void __launch_bounds__(256)
    SYM_resolve(const IndexParams p, i64* runs, u64* err) {
  GRID_LOOP(n, p.positions) {
    i64 run = 0;
#pragma unroll
    for (int j = 0; j < KK; ++j) {
      if (j < p.k) {
        const i64 v = p.idx[j][p.idx_offset[j] +
                               k_unravel(n, p.idx_rank, p.idx_sizes, p.idx_strides[j])];
        const i64 size = p.dim_sizes[j];
        if (v < -size || v >= size)
          atomicMin(err, (u64)j * (u64)p.positions + (u64)n);
        else
          run += (v < 0 ? v + size : v) * p.run_strides[j];
      }
    }
    runs[n] = run;
  }
}

// index: result element r = (o, n, e) of the dense [outer, positions, inner] result.
extern "C" __global__ void __launch_bounds__(256)
    SYM_gather(const IndexParams p, const i64* runs) {
  GRID_LOOP(r, p.outer * p.positions * p.inner) {
    const i64 e = r % p.inner, t = r / p.inner;
    const i64 n = t % p.positions, o = t / p.positions;
    p.out[r] = p.data[p.data_offset + k_unravel(o, p.outer_rank, p.outer_sizes, p.data_outer) +
                      runs[n] + k_unravel(e, p.inner_rank, p.inner_sizes, p.data_inner)];
  }
}

// index_put without accumulate, first pass: the winner word of each destination becomes the
// largest (last in row-major order) value element f writing it, plus 1 (0: none).
extern "C" __global__ void __launch_bounds__(256)
    SYM_win(const IndexParams p, const i64* runs, u64* win) {
  GRID_LOOP(f, p.outer * p.positions * p.inner) {
    const i64 e = f % p.inner, t = f / p.inner;
    const i64 n = t % p.positions, o = t / p.positions;
    atomicMax(&win[o * p.block + runs[n] + e], (u64)f + 1);
  }
}

// Second pass: only the winner writes, through the compute type as the interpreter does
// (bool bytes become 0/1, float16/bfloat16 NaNs are quieted).
extern "C" __global__ void __launch_bounds__(256)
    SYM_put(const IndexParams p, const i64* runs, const u64* win) {
  GRID_LOOP(f, p.outer * p.positions * p.inner) {
    const i64 e = f % p.inner, t = f / p.inner;
    const i64 n = t % p.positions, o = t / p.positions;
    const i64 dest = o * p.block + runs[n] + e;
    if (win[dest] == (u64)f + 1) p.out[dest] = STOREC(LOADC(p.data[k_value_at(p, o, n, e)]));
  }
}

// index_put with accumulate: sort keys run * positions + n (unique; ordered by destination run,
// then by source position).
extern "C" __global__ void __launch_bounds__(256)
    SYM_keys(const IndexParams p, const i64* runs, u64* keys) {
  GRID_LOOP(n, p.positions) keys[n] = (u64)runs[n] * (u64)p.positions + (u64)n;
}

// Sorts each tile of 256 keys: a key's place is the number of smaller keys in its tile.
extern "C" __global__ void __launch_bounds__(256)
    SYM_sort(const u64* keys, u64* out, i64 count) {
  __shared__ u64 tile[256];
  const i64 i = (i64)blockIdx.x * 256 + threadIdx.x;
  const u64 mine = i < count ? keys[i] : ~0ull;  // real keys are below 2^63
  tile[threadIdx.x] = mine;
  __syncthreads();
  if (i >= count) return;
  int rank = 0;
  for (int t = 0; t < 256; ++t) rank += tile[t] < mine ? 1 : 0;
  out[(i64)blockIdx.x * 256 + rank] = mine;
}

// Merges sorted runs of `width` keys pairwise: a key's place is its index in its run plus the
// number of smaller keys in the other run (binary search; keys are unique).
extern "C" __global__ void __launch_bounds__(256)
    SYM_merge(const u64* in, u64* out, i64 count, i64 width) {
  GRID_LOOP(i, count) {
    const i64 start = i / (2 * width) * (2 * width);
    const i64 mid = min(start + width, count), end = min(start + 2 * width, count);
    const u64 key = in[i];
    const bool left = i < mid;
    const i64 first = left ? mid : start;
    i64 lo = first, hi = left ? end : mid;
    while (lo < hi) {
      const i64 m = lo + (hi - lo) / 2;
      if (in[m] < key)
        lo = m + 1;
      else
        hi = m;
    }
    out[start + (i - (left ? start : mid)) + (lo - first)] = key;
  }
}

// One thread per (o, sorted position i, e); the first position of each run adds the run's
// contributions in source order, rounding after every add like the interpreter's store.
extern "C" __global__ void __launch_bounds__(256)
    SYM_accum(const IndexParams p, const u64* sorted) {
  const u64 positions = (u64)p.positions;
  GRID_LOOP(r, p.outer * p.positions * p.inner) {
    const i64 e = r % p.inner, t = r / p.inner;
    const i64 i = t % p.positions, o = t / p.positions;
    const u64 run = sorted[i] / positions;
    if (i > 0 && sorted[i - 1] / positions == run) continue;
    const i64 dest = o * p.block + (i64)run + e;
    C acc = LOADC(p.out[dest]);
    for (i64 j = i; j < p.positions; ++j) {
      const u64 key = sorted[j];
      if (key / positions != run) break;
      const C v = LOADC(p.data[k_value_at(p, o, (i64)(key % positions), e)]);
      acc = LOADC(STOREC(ADD(acc, v)));
    }
    p.out[dest] = STOREC(acc);
  }
}
)CUDA";

std::string add_expr(DType dtype) {
  if (dtype == float64) return "__dadd_rn(a, b)";
  if (is_floating_point(dtype)) return "__fadd_rn(a, b)";
  return "k_add(a, b)";
}

}  // namespace

std::string index_symbol(DType dtype, std::string_view kernel) {
  return absl::StrCat("kiln_index_", sv(short_name(dtype)), "_", sv(kernel));
}

std::string index_source(DType dtype) {
  const std::string body = absl::StrReplaceAll(
      sv(kIndexKernels), {{"SYM_", absl::StrCat("kiln_index_", sv(short_name(dtype)), "_")}});
  const std::string load = codegen::to_compute(dtype, codegen::from_memory(dtype, "(m)"));
  const std::string store = codegen::to_memory(dtype, codegen::from_compute(dtype, "(c)"));
  return absl::StrCat(sv(cuda_prelude()), "\n#define T ", codegen::memory_type(dtype),
                      "\n#define C ", codegen::compute_type(dtype), "\n#define LOADC(m) ", load,
                      "\n#define STOREC(c) ", store, "\n#define ADD(a, b) ", add_expr(dtype), "\n",
                      body);
}

}  // namespace kiln::backends::cuda
