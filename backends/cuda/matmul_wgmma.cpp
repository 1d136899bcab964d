// The Hopper (sm_90a) tensor-core matmul of float16/bfloat16 (matmul.h): TMA loads into
// 128-byte-swizzled shared memory, wgmma.mma_async m64n256k16 with float accumulators, a
// 4-stage mbarrier pipeline between one producer warpgroup and two consumer warpgroups.
//
// A 384-thread block computes a 128 x 256 tile of C. Warpgroup 0 is the producer: one thread
// issues, for each 64-deep k slice, the TMA copies of A's 128 x 64 and B's 64 x 256 tiles into
// the next free stage (48 KiB) and arms the stage's "full" barrier with the byte count.
// Warpgroups 1 and 2 are consumers: each waits for the full barrier, runs four m64n256k16 wgmmas
// (k = 16 each) on its 64 rows of A against all of B, keeps one k slice of wgmmas in flight and
// releases the previous slice's stage on its "empty" barrier (one arrival per consumer warp).
//
// Shared memory layout of an operand tile (what TMA writes with CU_TENSOR_MAP_SWIZZLE_128B and
// what the wgmma descriptors describe): rows of 128 bytes (64 elements), 16-byte chunk c of row
// r stored at chunk c ^ (r % 8), every stage aligned to 1024 bytes (the swizzle's period).
// - K-major operand (k contiguous in global memory): row = m (or n), 64 k per row. One TMA box
//   {64 k, rows}. Descriptor: stride byte offset 1024 (8-row groups), leading byte offset unused;
//   the k16 step advances the start address by 32 bytes inside the swizzled row.
// - MN-major operand (m or n contiguous, wgmma's transpose flag): row = k, 64 m (n) per row, one
//   TMA box {64, 64 k} per 64 columns, 8 KiB apart. Descriptor: leading byte offset 8192 (the
//   next 64 columns), stride byte offset 1024 (the next 8 k rows); the k16 step advances the
//   start address by 16 rows = 2048 bytes.
// Accumulator layout of m64nNk16 (f32): thread t of the warpgroup holds, for every 8 columns j
// of N, d[4j + 0..1] at row 16 * (t / 32) + (t % 32) / 4, columns 8j + 2 * (t % 4) + 0..1, and
// d[4j + 2..3] eight rows below.
//
// Edges: TMA fills out-of-bounds elements with zeros (rows past m, columns past n, k past the
// end contribute 0) and the epilogue stores only rows < m and columns < n, so every m, n, k >= 1
// works. Batches: a 3-d tensor map (the batch as its outer coordinate) per operand with a batch
// stride, or a 2-d map reused for every batch entry of a broadcast operand.
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "kiln/backends/cuda/codegen.h"
#include "kiln/backends/cuda/matmul.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::backends::cuda {
namespace {

constexpr std::string_view kWgmma = R"CUDA(
struct __align__(64) TmaMap { unsigned long long v[16]; };
struct WgmmaParams {
  u16* c;
  i64 m, n;
  int k_tiles;
  int a_batched, b_batched;  // 1: 3-d tensor map with the batch coordinate
};

constexpr int STAGES = 4, BK = 64;
constexpr unsigned A_BYTES = 128 * 128, B_BYTES = 256 * 128, STAGE_BYTES = A_BYTES + B_BYTES;

KI unsigned smem_addr(const void* p) { return (unsigned)__cvta_generic_to_shared(p); }

KI void bar_init(unsigned bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
KI void bar_expect_bytes(unsigned bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
}
KI void bar_arrive(unsigned bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Waits until the barrier's phase of parity `parity` has completed.
KI void bar_wait(unsigned bar, unsigned parity) {
  unsigned done = 0;
  do {
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
        "selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
  } while (!done);
}

// One TMA tile copy global -> shared; completion counts its bytes on `bar`. Coordinates are
// innermost first; the batch coordinate only for 3-d maps.
KI void tma_load(unsigned dst, const TmaMap* map, unsigned bar, int c0, int c1, int batch,
                 int batched) {
  const unsigned long long m = (unsigned long long)map;
  if (batched)
    asm volatile(
        "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes"
        " [%0], [%1, {%3, %4, %5}], [%2];\n" ::"r"(dst),
        "l"(m), "r"(bar), "r"(c0), "r"(c1), "r"(batch)
        : "memory");
  else
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
        " [%0], [%1, {%3, %4}], [%2];\n" ::"r"(dst),
        "l"(m), "r"(bar), "r"(c0), "r"(c1)
        : "memory");
}

// wgmma shared memory descriptor: start address, leading and stride byte offsets (all >> 4),
// base offset 0 (stages are 1024-aligned; the k16 steps of K-major tiles stay below 128 bytes),
// layout 1 = 128-byte swizzle in bits 62-63.
KI unsigned long long smem_desc(unsigned addr, unsigned lbo, unsigned sbo) {
  return (unsigned long long)((addr & 0x3ffffu) >> 4) |
         ((unsigned long long)((lbo & 0x3ffffu) >> 4) << 16) |
         ((unsigned long long)((sbo & 0x3ffffu) >> 4) << 32) | (1ull << 62);
}

// The accumulators must not be read or moved by the compiler across wgmma's asynchronous
// writes: every access goes through asm operands, and this empty asm pins them after a wait.
KI void fence_acc(float* d) {
#pragma unroll
  for (int i = 0; i < 128; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

KI void wgmma_tile(float* d, unsigned long long da, unsigned long long db) {
  const int one = 1;
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n256k16.f32.KIND.KIND "
      WGMMA_OPERANDS
      ", %128, %129, p, 1, 1, TRANS_A, TRANS_B;\n}\n"
      : WGMMA_OUTPUTS
      : "l"(da), "l"(db), "r"(one)
      : "memory");
}

extern "C" __global__ void __launch_bounds__(384, 1)
    SYMBOL(const __grid_constant__ TmaMap ta, const __grid_constant__ TmaMap tb,
           const WgmmaParams p) {
  extern __shared__ unsigned char smem_raw[];
  const unsigned base = (smem_addr(smem_raw) + 1023u) & ~1023u;
  // full[s] at bars + 8 s, empty[s] at bars + 8 (STAGES + s)
  const unsigned bars = base + STAGES * STAGE_BYTES;
  const int tid = threadIdx.x;
  if (tid == 0) {
    for (int s = 0; s < STAGES; ++s) {
      bar_init(bars + 8 * s, 1);                 // the producer's arrive (+ TMA bytes)
      bar_init(bars + 8 * (STAGES + s), 8);      // one arrival per consumer warp
    }
    // Make the initialized barriers visible to the TMA unit (the async proxy).
    asm volatile("fence.mbarrier_init.release.cluster;\nfence.proxy.async.shared::cta;\n" ::
                     : "memory");
  }
  __syncthreads();
  const int m0 = blockIdx.y * 128, n0 = blockIdx.x * 256, z = blockIdx.z;

  if (tid < 128) {  // producer warpgroup: one thread issues every copy
    if (tid == 0) {
      asm volatile("prefetch.tensormap [%0];\n" ::"l"((unsigned long long)&ta) : "memory");
      asm volatile("prefetch.tensormap [%0];\n" ::"l"((unsigned long long)&tb) : "memory");
      for (int kb = 0; kb < p.k_tiles; ++kb) {
        const int s = kb % STAGES;
        // Round r of stage s reuses the buffers of round r - 1: wait for its release.
        if (kb >= STAGES) bar_wait(bars + 8 * (STAGES + s), ((kb / STAGES) - 1) & 1);
        const unsigned full = bars + 8 * s;
        bar_expect_bytes(full, STAGE_BYTES);
        const unsigned a_dst = base + s * STAGE_BYTES, b_dst = a_dst + A_BYTES;
        const int k0 = kb * BK;
#if A_MN_MAJOR
        for (int j = 0; j < 2; ++j)
          tma_load(a_dst + j * 8192, &ta, full, m0 + 64 * j, k0, z, p.a_batched);
#else
        tma_load(a_dst, &ta, full, k0, m0, z, p.a_batched);
#endif
#if B_MN_MAJOR
        for (int j = 0; j < 4; ++j)
          tma_load(b_dst + j * 8192, &tb, full, n0 + 64 * j, k0, z, p.b_batched);
#else
        tma_load(b_dst, &tb, full, k0, n0, z, p.b_batched);
#endif
      }
    }
    return;
  }

  // Consumer warpgroups 1 and 2: rows 64 (g) .. 64 (g) + 63 of the block tile.
  const int g = tid / 128 - 1, t = tid % 128, lane = tid % 32;
  float d[128];
#pragma unroll
  for (int i = 0; i < 128; ++i) d[i] = 0.0f;
  fence_acc(d);
#if A_MN_MAJOR
  constexpr unsigned A_KSTEP = 2048, A_LBO = 8192;
#else
  constexpr unsigned A_KSTEP = 32, A_LBO = 16;
#endif
#if B_MN_MAJOR
  constexpr unsigned B_KSTEP = 2048, B_LBO = 8192;
#else
  constexpr unsigned B_KSTEP = 32, B_LBO = 16;
#endif
  for (int kb = 0; kb < p.k_tiles; ++kb) {
    const int s = kb % STAGES;
    bar_wait(bars + 8 * s, (kb / STAGES) & 1);
    __syncwarp();  // the wgmma instructions below are warp-aligned: reconverge after the spin
    // Consumer g's 64 rows of A start 64 rows (K-major) or 64 columns (MN-major) in: 8 KiB.
    const unsigned a_tile = base + s * STAGE_BYTES + g * 8192;
    const unsigned b_tile = base + s * STAGE_BYTES + A_BYTES;
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk)
      wgmma_tile(d, smem_desc(a_tile + kk * A_KSTEP, A_LBO, 1024),
                 smem_desc(b_tile + kk * B_KSTEP, B_LBO, 1024));
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
    if (kb > 0) {
      // The previous slice's wgmmas are done: hand its stage back to the producer.
      asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
      if (lane == 0) bar_arrive(bars + 8 * (STAGES + (kb - 1) % STAGES));
      __syncwarp();
    }
  }
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
  fence_acc(d);

  const i64 row0 = (i64)m0 + g * 64 + (t / 32) * 16 + lane / 4;
  const i64 col0 = (i64)n0 + 2 * (lane % 4);
  u16* __restrict__ c = p.c + (i64)z * p.m * p.n;
  const bool pairs = (p.n % 2) == 0;
#pragma unroll
  for (int j = 0; j < 32; ++j) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const i64 row = row0 + 8 * h, col = col0 + 8 * j;
      if (row >= p.m || col >= p.n) continue;
      const unsigned lo = STORE(d[4 * j + 2 * h]), hi = STORE(d[4 * j + 2 * h + 1]);
      u16* out = c + row * p.n + col;
      if (pairs) {
        *(unsigned*)out = lo | (hi << 16);  // col even and n even: 4-byte aligned
      } else {
        out[0] = (u16)lo;
        if (col + 1 < p.n) out[1] = (u16)hi;
      }
    }
  }
}
)CUDA";

// "{%0, %1, ..., %127}" and the matching "+f"(d[i]) outputs of the wgmma asm.
std::string wgmma_operands() {
  std::string s = "\"{";
  for (int i = 0; i < 128; ++i) absl::StrAppend(&s, i ? ", " : "", "%", i);
  return s + "}\"";
}
std::string wgmma_outputs() {
  std::string s;
  for (int i = 0; i < 128; ++i) absl::StrAppend(&s, i ? ", " : "", "\"+f\"(d[", i, "])");
  return s;
}

// The collapsed batch stride of an operand (WgmmaPlan), or nullopt when its batch dims do not
// collapse into one stride over the row-major batch index.
std::optional<int64_t> batch_stride(const MatmulParams& p, const int64_t* strides) {
  int64_t stride = -1, inner = 1;  // inner: batch entries per step of dim d
  for (int64_t d = p.batch_dims - 1; d >= 0; --d) {
    if (p.batch_sizes[d] == 1) continue;
    if (stride < 0) stride = strides[d];  // the innermost dim that is not 1 sets the stride
    if (strides[d] != stride * inner) return std::nullopt;
    inner *= p.batch_sizes[d];
  }
  return stride < 0 ? 0 : stride;
}

// A TMA stride (bytes) must be a positive multiple of 16 below 2^40.
bool tma_stride(int64_t elements) {
  return elements > 0 && elements % 8 == 0 && elements < (int64_t{1} << 38);
}

}  // namespace

std::optional<WgmmaPlan> matmul_wgmma_plan(DType dtype, const MatmulParams& p) {
  if (dtype != float16 && dtype != bfloat16) return std::nullopt;
  constexpr int64_t kMaxCoord = int64_t{1} << 31;  // TMA coordinates are 32-bit signed
  if (p.m < 1 || p.n < 1 || p.k < 1 || p.m >= kMaxCoord || p.n >= kMaxCoord || p.k >= kMaxCoord)
    return std::nullopt;
  if ((p.m + kWgmmaTileM - 1) / kWgmmaTileM > 65535) return std::nullopt;  // grid y
  WgmmaPlan plan;
  if (p.a_stride_k == 1 && tma_stride(p.a_stride_m)) {
    plan.a_mn_major = false;
  } else if (p.a_stride_m == 1 && tma_stride(p.a_stride_k)) {
    plan.a_mn_major = true;
  } else {
    return std::nullopt;
  }
  if (p.b_stride_k == 1 && tma_stride(p.b_stride_n)) {
    plan.b_mn_major = false;
  } else if (p.b_stride_n == 1 && tma_stride(p.b_stride_k)) {
    plan.b_mn_major = true;
  } else {
    return std::nullopt;
  }
  // Base addresses 16-byte aligned (2-byte elements).
  if ((p.a + 2 * static_cast<uint64_t>(p.a_offset)) % 16 != 0 ||
      (p.b + 2 * static_cast<uint64_t>(p.b_offset)) % 16 != 0 || p.a_offset < 0 || p.b_offset < 0 ||
      p.c % 4 != 0)
    return std::nullopt;
  const std::optional<int64_t> sa = batch_stride(p, p.a_batch_strides);
  const std::optional<int64_t> sb = batch_stride(p, p.b_batch_strides);
  if (!sa || !sb || (*sa != 0 && !tma_stride(*sa)) || (*sb != 0 && !tma_stride(*sb)))
    return std::nullopt;
  plan.a_batch_stride = *sa;
  plan.b_batch_stride = *sb;
  return plan;
}

MmaMode mma_mode() {
  const char* env = std::getenv("KILN_CUDA_MMA");
  const std::string v = env == nullptr ? "" : env;
  if (v == "0") return MmaMode::kOff;
  if (v == "sync") return MmaMode::kSyncOnly;
  return MmaMode::kAuto;
}

std::string matmul_wgmma_symbol(DType dtype, bool a_mn_major, bool b_mn_major) {
  return absl::StrCat("kiln_matmul_wgmma_", sv(short_name(dtype)), a_mn_major ? "_am" : "_ak",
                      b_mn_major ? "_bn" : "_bk");
}

std::string matmul_wgmma_source(DType dtype, bool a_mn_major, bool b_mn_major) {
  const bool half = dtype == float16;
  const std::string body = absl::StrReplaceAll(
      sv(kWgmma), {{"SYMBOL", matmul_wgmma_symbol(dtype, a_mn_major, b_mn_major)},
                   {"KIND", half ? "f16" : "bf16"},
                   {"STORE", half ? "(unsigned)k_f2h" : "(unsigned)k_f2b"},
                   {"TRANS_A", a_mn_major ? "1" : "0"},
                   {"TRANS_B", b_mn_major ? "1" : "0"},
                   {"WGMMA_OPERANDS", wgmma_operands()},
                   {"WGMMA_OUTPUTS", wgmma_outputs()}});
  return absl::StrCat(sv(cuda_prelude()), "\n#define A_MN_MAJOR ", a_mn_major ? 1 : 0,
                      "\n#define B_MN_MAJOR ", b_mn_major ? 1 : 0, "\n", body);
}

}  // namespace kiln::backends::cuda
