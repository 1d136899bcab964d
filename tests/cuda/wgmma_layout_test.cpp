// A host model of the Hopper matmul's (matmul_wgmma.cpp) address arithmetic and pipeline,
// derived independently from the documentation, checked against the constants the generated
// kernel uses (no GPU needed):
// - where TMA writes each element of a box with CU_TENSOR_MAP_SWIZZLE_128B (CUDA driver API,
//   cuTensorMapEncodeTiled: 16-byte chunks swizzled within 128-byte rows; the pattern is the
//   address bits [4, 7) xor [7, 10), so a 1024-byte aligned box starts the pattern afresh);
// - where wgmma.mma_async reads each element of its m64/n256 x k16 operands from a shared memory
//   matrix descriptor (PTX ISA, "Matrix Descriptor Format" and the canonical layouts of the
//   128-byte swizzle mode: K-major ((8, m), (T, 2)) : ((8T, SBO), (1, T)), MN-major
//   ((T, 8, m), (8, k)) : ((1, T, LBO), (8T, SBO)) in units of 16 bytes, T = 8 halves);
// - the m64nNk16 f32 accumulator fragment (PTX ISA, "Register Fragments and Shared Memory
//   Matrix Layouts", matrix D) against the epilogue's (row, col) of every register;
// - the mbarrier ring (PTX ISA mbarrier: phases, pending arrivals, tx-count, try_wait.parity)
//   under random interleavings: no deadlock, every slice read after its bytes landed and no
//   stage overwritten while a wgmma group still reads it.
// The constants below are those of the generated source; the first test pins them to its text.
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "kiln/backends/cuda/matmul.h"

namespace kiln {
namespace {

namespace bc = backends::cuda;

// The kernel's layout constants (matmul_wgmma.cpp).
constexpr unsigned kStages = 4, kBk = 64;
constexpr unsigned kABytes = 128 * 128, kBBytes = 256 * 128, kStageBytes = kABytes + kBBytes;
constexpr unsigned kMnBoxBytes = 8192;       // MN-major: one {64, 64 k} box per 64 columns
constexpr unsigned kConsumerAOffset = 8192;  // consumer g's A rows (columns) start g * 8192 in
constexpr unsigned kSbo = 1024;
unsigned a_kstep(bool mn) { return mn ? 2048 : 32; }
unsigned lbo(bool mn) { return mn ? 8192 : 16; }

// The descriptor the kernel builds (smem_desc in the generated source).
uint64_t kernel_desc(unsigned addr, unsigned lbo_bytes, unsigned sbo_bytes) {
  return static_cast<uint64_t>((addr & 0x3ffffu) >> 4) |
         (static_cast<uint64_t>((lbo_bytes & 0x3ffffu) >> 4) << 16) |
         (static_cast<uint64_t>((sbo_bytes & 0x3ffffu) >> 4) << 32) | (uint64_t{1} << 62);
}

TEST(WgmmaLayout, ConstantsMatchTheGeneratedSource) {
  for (bool a_mn : {false, true}) {
    for (bool b_mn : {false, true}) {
      const std::string src = bc::matmul_wgmma_source(bfloat16, a_mn, b_mn);
      for (const char* line : {
               "constexpr int STAGES = 4, BK = 64;",
               "A_BYTES = 128 * 128, B_BYTES = 256 * 128, STAGE_BYTES = A_BYTES + B_BYTES;",
               "return (unsigned long long)((addr & 0x3ffffu) >> 4) |",
               "((unsigned long long)((lbo & 0x3ffffu) >> 4) << 16) |",
               "((unsigned long long)((sbo & 0x3ffffu) >> 4) << 32) | (1ull << 62);",
               "tma_load(a_dst + j * 8192, &ta, full, m0 + 64 * j, k0, z, p.a_batched);",
               "tma_load(a_dst, &ta, full, k0, m0, z, p.a_batched);",
               "tma_load(b_dst + j * 8192, &tb, full, n0 + 64 * j, k0, z, p.b_batched);",
               "tma_load(b_dst, &tb, full, k0, n0, z, p.b_batched);",
               "constexpr unsigned A_KSTEP = 2048, A_LBO = 8192;",
               "constexpr unsigned A_KSTEP = 32, A_LBO = 16;",
               "constexpr unsigned B_KSTEP = 2048, B_LBO = 8192;",
               "constexpr unsigned B_KSTEP = 32, B_LBO = 16;",
               "const unsigned a_tile = base + s * STAGE_BYTES + g * 8192;",
               "const unsigned b_tile = base + s * STAGE_BYTES + A_BYTES;",
               "wgmma_tile(d, smem_desc(a_tile + kk * A_KSTEP, A_LBO, 1024),",
               "smem_desc(b_tile + kk * B_KSTEP, B_LBO, 1024));",
               "const i64 row0 = (i64)m0 + g * 64 + (t / 32) * 16 + lane / 4;",
               "const i64 col0 = (i64)n0 + 2 * (lane % 4);",
               "const i64 row = row0 + 8 * h, col = col0 + 8 * j;",
               "(unsigned)k_f2b(d[4 * j + 2 * h]), hi = (unsigned)k_f2b(d[4 * j + 2 * h + 1]);",
               "bar_init(bars + 8 * s, 1);",
               "bar_init(bars + 8 * (STAGES + s), 8);",
               "bar_expect_bytes(full, STAGE_BYTES);",
               "if (kb >= STAGES) bar_wait(bars + 8 * (STAGES + s), ((kb / STAGES) - 1) & 1);",
               "bar_wait(bars + 8 * s, (kb / STAGES) & 1);",
               "asm volatile(\"wgmma.wait_group.sync.aligned 1;\\n\" ::: \"memory\");",
               "if (lane == 0) bar_arrive(bars + 8 * (STAGES + (kb - 1) % STAGES));",
           }) {
        EXPECT_NE(src.find(line), std::string::npos) << line;
      }
    }
  }
  // Shared memory: the stages, the 1024-byte alignment slack and the 8 barriers.
  EXPECT_EQ(bc::kWgmmaSharedBytes,
            static_cast<int>(kStages * kStageBytes + 1024 + 8 * 2 * kStages));
}

// The 128-byte swizzle on a shared memory byte address (16-byte chunk bits [4, 7) xor the
// 128-byte row bits [7, 10)).
unsigned swizzle128(unsigned addr) { return addr ^ (((addr >> 7) & 7u) << 4); }

// Where TMA puts element (inner i, outer r) of a {64, rows} box of 2-byte elements written at
// `dst` with CU_TENSOR_MAP_SWIZZLE_128B: rows of 64 * 2 = 128 bytes, chunks swizzled.
unsigned tma_address(unsigned dst, unsigned i, unsigned r) {
  EXPECT_EQ(dst % 1024, 0u) << "a swizzled box must start the 1024-byte pattern";
  EXPECT_LT(i, 64u);
  return swizzle128(dst + r * 128 + 2 * i);
}

struct Desc {
  unsigned start, lbo, sbo, base_offset, layout;
};
// The descriptor's fields (PTX ISA matrix descriptor: start address bits 0-13, leading byte
// offset 16-29, stride byte offset 32-45, all >> 4; base offset 49-51; swizzle mode 62-63 with
// 1 = 128-byte swizzle).
Desc decode(uint64_t d) {
  return {static_cast<unsigned>(d & 0x3fff) << 4, static_cast<unsigned>((d >> 16) & 0x3fff) << 4,
          static_cast<unsigned>((d >> 32) & 0x3fff) << 4, static_cast<unsigned>((d >> 49) & 7),
          static_cast<unsigned>(d >> 62)};
}

// Where wgmma reads element (x along M or N, k) of a k16 operand from descriptor `d` in the
// 128-byte swizzle mode (canonical layouts of the PTX ISA, 2-byte elements).
unsigned wgmma_address(uint64_t raw, bool mn_major, unsigned x, unsigned k) {
  const Desc d = decode(raw);
  EXPECT_EQ(d.layout, 1u);
  EXPECT_EQ(d.base_offset, 0u);
  EXPECT_LT(k, 16u);
  unsigned offset;
  if (mn_major) {
    // ((T, 8, m), (8, k)) : ((1, T, LBO), (8T, SBO)) in 16-byte units, T = 8 elements.
    offset = (x % 64) * 2 + (x / 64) * d.lbo + (k % 8) * 128 + (k / 8) * d.sbo;
  } else {
    // ((8, m), (T, 2)) : ((8T, SBO), (1, T)): rows of 128 bytes, 8-row groups SBO apart, the
    // 16 k of one instruction in two 16-byte chunks.
    offset = (x % 8) * 128 + (x / 8) * d.sbo + k * 2;
  }
  // The swizzle acts on the address (base offset 0: the pattern is anchored at 1024 bytes).
  return swizzle128(d.start + offset);
}

// Every element of every wgmma of every stage, consumer and k step reads what the TMA copies of
// the kernel wrote for it, in all four operand layouts.
TEST(WgmmaLayout, DescriptorsReadWhatTmaWrote) {
  const unsigned base = 1024;  // any 1024-aligned shared address
  for (bool a_mn : {false, true}) {
    for (bool b_mn : {false, true}) {
      SCOPED_TRACE(testing::Message() << "a_mn " << a_mn << " b_mn " << b_mn);
      for (unsigned s = 0; s < kStages; ++s) {
        const unsigned a_dst = base + s * kStageBytes, b_dst = a_dst + kABytes;
        // TMA side: the element (row of the tile, k of the slice) -> address.
        auto a_tma = [&](unsigned m, unsigned k) {
          return a_mn ? tma_address(a_dst + (m / 64) * kMnBoxBytes, m % 64, k)
                      : tma_address(a_dst, k, m);
        };
        auto b_tma = [&](unsigned n, unsigned k) {
          return b_mn ? tma_address(b_dst + (n / 64) * kMnBoxBytes, n % 64, k)
                      : tma_address(b_dst, k, n);
        };
        for (unsigned g = 0; g < 2; ++g) {
          const unsigned a_tile = base + s * kStageBytes + g * kConsumerAOffset;
          const unsigned b_tile = base + s * kStageBytes + kABytes;
          for (unsigned kk = 0; kk < kBk / 16; ++kk) {
            const uint64_t da = kernel_desc(a_tile + kk * a_kstep(a_mn), lbo(a_mn), kSbo);
            const uint64_t db = kernel_desc(b_tile + kk * a_kstep(b_mn), lbo(b_mn), kSbo);
            int bad = 0;
            for (unsigned x = 0; x < 64; ++x)
              for (unsigned k = 0; k < 16; ++k)
                bad += wgmma_address(da, a_mn, x, k) != a_tma(64 * g + x, 16 * kk + k);
            for (unsigned x = 0; x < 256; ++x)
              for (unsigned k = 0; k < 16; ++k)
                bad += wgmma_address(db, b_mn, x, k) != b_tma(x, 16 * kk + k);
            EXPECT_EQ(bad, 0) << "stage " << s << " consumer " << g << " k step " << kk;
          }
        }
      }
      // The bytes TMA delivers per stage (the full boxes, out-of-bounds parts included) are what
      // the full barrier expects.
      const unsigned a_bytes = a_mn ? 2 * 64 * 64 * 2 : 64 * 128 * 2;
      const unsigned b_bytes = b_mn ? 4 * 64 * 64 * 2 : 64 * 256 * 2;
      EXPECT_EQ(a_bytes + b_bytes, kStageBytes);
    }
  }
  // Descriptor fields fit: the largest shared address and the offsets survive the encoding.
  const unsigned top = base + kStages * kStageBytes - 16;
  EXPECT_EQ(decode(kernel_desc(top, 8192, 1024)).start, top);
  EXPECT_EQ(decode(kernel_desc(top, 8192, 1024)).lbo, 8192u);
  EXPECT_EQ(decode(kernel_desc(top, 8192, 1024)).sbo, 1024u);
}

// The m64nNk16 f32 accumulator of the PTX ISA (matrix D fragment): thread t of the warpgroup,
// register i: row 16 (warp) + (lane / 4) + 8 (bit 1 of i), column 8 (i / 4) + 2 (lane % 4) +
// (bit 0 of i). The epilogue's (row, col) of d[4j + 2h + e] must be the same, and cover the
// 64 x 256 tile once.
TEST(WgmmaLayout, EpilogueFollowsTheAccumulatorFragment) {
  std::vector<int> seen(64 * 256, 0);
  for (unsigned t = 0; t < 128; ++t) {
    const unsigned warp = t / 32, lane = t % 32;
    for (unsigned i = 0; i < 128; ++i) {
      const unsigned row = 16 * warp + lane / 4 + 8 * ((i >> 1) & 1);
      const unsigned col = 8 * (i / 4) + 2 * (lane % 4) + (i & 1);
      // The kernel: j = i / 4, h = (i / 2) % 2, e = i % 2.
      const unsigned j = i / 4, h = (i / 2) % 2, e = i % 2;
      const unsigned krow = (t / 32) * 16 + lane / 4 + 8 * h;
      const unsigned kcol = 2 * (lane % 4) + 8 * j + e;
      EXPECT_EQ(row, krow);
      EXPECT_EQ(col, kcol);
      ++seen[row * 256 + col];
    }
  }
  for (int v : seen) ASSERT_EQ(v, 1);
}

// The pipeline under random schedules. mbarrier model (PTX ISA): a phase completes when its
// pending arrivals reach 0 and its tx-count is 0; it then re-arms with the init count;
// try_wait.parity(P) succeeds once the phase of parity P has completed, i.e. while the current
// phase's parity differs from P. TMA completes (writes its bytes and counts them) at a random
// later time; a commit group of wgmmas completes at a random later time, and wait_group(N)
// waits until at most N are pending.
struct Barrier {
  int count, pending, tx = 0;
  unsigned phase = 0;
  explicit Barrier(int c) : count(c), pending(c) {}
  void complete_if_done() {
    if (pending == 0 && tx == 0) {
      ++phase;
      pending = count;
    }
  }
  void arrive() {
    ASSERT_GT(pending, 0);
    --pending;
    complete_if_done();
  }
  void expect_tx(int bytes) { tx += bytes; }
  void complete_tx(int bytes) {
    tx -= bytes;
    complete_if_done();
  }
  bool try_wait(unsigned parity) const { return (phase & 1) != parity; }
};

void simulate(int k_tiles, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Barrier> full(kStages, Barrier(1)), empty(kStages, Barrier(8));
  std::vector<int> stage_slice(kStages, -1);  // the slice whose bytes a stage holds
  std::vector<int> readers(kStages, 0);       // outstanding wgmma groups reading the stage
  struct Copy {
    int stage, slice;
  };
  std::deque<Copy> copies;  // issued TMA copies, completing in order
  int producer_kb = 0;
  struct Consumer {
    int kb = 0;
    std::deque<int> groups;  // stages of the commit groups in flight
    bool done = false;
  };
  // One consumer per warp (the 4 warps of a warpgroup run wgmma together; each arrives).
  std::vector<Consumer> warps(8);
  int steps = 0;
  for (;;) {
    ASSERT_LT(++steps, 100000) << "deadlock: k_tiles " << k_tiles;
    bool all_done = producer_kb == k_tiles && copies.empty();
    for (const Consumer& w : warps) all_done = all_done && w.done;
    if (all_done) break;
    const int who = static_cast<int>(rng() % 11);
    if (who == 0 && producer_kb < k_tiles) {  // the producer thread
      const int kb = producer_kb, s = kb % kStages;
      if (kb >= static_cast<int>(kStages) && !empty[s].try_wait(((kb / kStages) - 1) & 1)) continue;
      ASSERT_EQ(readers[s], 0) << "stage " << s << " overwritten while read";
      full[s].expect_tx(kStageBytes);
      full[s].arrive();
      copies.push_back({s, kb});
      ++producer_kb;
    } else if (who == 1 && !copies.empty()) {  // the TMA unit
      const Copy c = copies.front();
      copies.pop_front();
      ASSERT_EQ(readers[c.stage], 0) << "stage written while read";
      stage_slice[c.stage] = c.slice;
      full[c.stage].complete_tx(kStageBytes);
    } else if (who == 2) {  // a wgmma group completes (one warpgroup's oldest)
      const int wg = static_cast<int>(rng() % 2);
      if (warps[4 * wg].groups.empty()) continue;
      const int s = warps[4 * wg].groups.front();
      for (int w = 4 * wg; w < 4 * wg + 4; ++w) warps[w].groups.pop_front();
      --readers[s];
    } else if (who >= 3) {  // consumer warp group (the 4 warps in step: wgmma is aligned)
      const int wg = (who - 3) % 2;
      Consumer& w0 = warps[4 * wg];
      if (w0.done) continue;
      if (w0.kb == k_tiles) {  // wait_group 0
        if (!w0.groups.empty()) continue;
        for (int w = 4 * wg; w < 4 * wg + 4; ++w) warps[w].done = true;
        continue;
      }
      const int kb = w0.kb, s = kb % kStages;
      if (!full[s].try_wait((kb / kStages) & 1)) continue;
      ASSERT_EQ(stage_slice[s], kb) << "slice read before its bytes landed";
      for (int w = 4 * wg; w < 4 * wg + 4; ++w) warps[w].groups.push_back(s);
      ++readers[s];
      if (kb > 0) {
        // wait_group 1: the groups before this one complete.
        while (w0.groups.size() > 1) {
          const int old = w0.groups.front();
          for (int w = 4 * wg; w < 4 * wg + 4; ++w) warps[w].groups.pop_front();
          --readers[old];
        }
        for (int w = 0; w < 4; ++w) empty[(kb - 1) % kStages].arrive();
      }
      for (int w = 4 * wg; w < 4 * wg + 4; ++w) ++warps[w].kb;
    }
  }
}

TEST(WgmmaLayout, PipelineNeverDeadlocksNorOverwrites) {
  for (int k_tiles : {1, 2, 3, 4, 5, 7, 8, 9, 16, 33})
    for (uint32_t seed = 0; seed < 20; ++seed) {
      SCOPED_TRACE(testing::Message() << "k_tiles " << k_tiles << " seed " << seed);
      simulate(k_tiles, seed);
      if (HasFatalFailure()) return;
    }
}

}  // namespace
}  // namespace kiln
