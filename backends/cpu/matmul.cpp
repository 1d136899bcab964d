#include "kiln/backends/cpu/matmul.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <type_traits>

#include "absl/strings/str_format.h"
#include "kiln/backends/cpu/matmul_kernel.h"
#include "kiln/backends/cpu/matmul_pack.h"
#include "kiln/backends/cpu/matmul_pack_kernel.h"
#include "kiln/runtime/buffer.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"
#include "kiln/runtime/thread_pool.h"

namespace kiln::backends::cpu {
namespace {

using matmul_detail::BoolByte;
using matmul_detail::PackAFn;
using matmul_detail::PackBFn;

// Below this many multiply-adds per thread (about a microsecond), waking another thread costs
// more than it saves.
constexpr double kMinWorkPerThread = 65536;
// Elements of B below which one thread packs the block alone.
constexpr int64_t kMinParallelPack = 32768;

int64_t round_up(int64_t x, int64_t multiple) { return (x + multiple - 1) / multiple * multiple; }
int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

// One matrix of an operand: element (i, j) at data + (i * rs + j * cs) elements.
struct View {
  const std::byte* data;
  int64_t rs, cs;
};

// The blocking of one call, for compute type T.
template <class T>
struct Plan {
  // [partial rows][partial columns]: the full tile's kernel, and the edge kernels for the
  // last panel of rows (m % mr), of columns (n % nr), and their corner.
  MatmulMicroKernel kernels[2][2];
  int mr, nr, lanes;
  int64_t mc, kc, nc;  // kc is also the row stride of packed A (the kernel's a_stride)
  int tail_width;      // columns of the last, partial panel of B (the edge kernel's nr)
  PackAFn<T> pack_a;
  PackBFn<T> pack_b;
  // The JIT's copies for row-major operands already of type T (null: convert in C++).
  MatmulPackAFn pack_a_copy;
  MatmulPackBFn pack_b_copy;
};

// How the threads share the tiles of C against one packed block of B: items of `rows` rows
// (a multiple of mr) by `group` panels of columns, claimed dynamically so that a thread slowed
// down (by another process on a busy machine) takes fewer. A thread packs the rows of A of an
// item unless its previous item had the same rows, so rows are split in preference; a short,
// wide C is split by columns instead.
struct Split {
  int64_t rows = 0, row_blocks = 0;
  int64_t group = 0, groups = 0;
  int64_t items() const { return row_blocks * groups; }
};

Split choose_split(int threads, int64_t m, int64_t panels, int mr, int64_t mc) {
  Split split;
  const int64_t row_tiles = ceil_div(m, mr);
  // Many items per thread: the last item to finish then idles the others only briefly (with 4
  // per thread, 512 x 512 lost 10% to that). Items cost little: each one sweeps the block of
  // B for its rows whatever their number, and packs only its own rows of A.
  const int64_t target = threads == 1 ? 1 : 32 * int64_t{threads};
  if (threads == 1 || row_tiles >= 2 * threads) {
    split.rows = std::clamp(ceil_div(row_tiles, target), int64_t{1}, mc / mr) * mr;
    split.group = panels;
  } else {
    split.rows = std::min(mc, row_tiles * mr);
    split.group = ceil_div(panels, std::min(panels, target));
  }
  split.row_blocks = ceil_div(m, split.rows);
  split.groups = ceil_div(panels, split.group);
  return split;
}

// Packed panels of one multiplication: a block of B shared by all units, and a block of A per
// unit. From the caching allocator, so repeated calls do not page-fault fresh memory.
template <class T>
struct Workspace {
  Workspace(const Plan<T>& plan, int units, int64_t m, int64_t k, int64_t n) {
    b_elements = round_up(std::min(plan.nc, n), plan.nr) * std::min(plan.kc, k);
    // Rows of packed A are plan.kc apart even when k is shorter.
    a_elements = round_up(std::min(plan.mc, m), plan.mr) * plan.kc;
    // Each unit's A block starts on its own cache line (no false sharing while packing).
    a_elements = round_up(a_elements, 64);
    buffer =
        runtime::Buffer::allocate(static_cast<size_t>(b_elements + a_elements * units) * sizeof(T));
    b = buffer->as<T>();
  }
  T* a(int unit) const { return b + b_elements + a_elements * unit; }

  std::shared_ptr<runtime::Buffer> buffer;
  int64_t b_elements = 0, a_elements = 0;
  T* b = nullptr;
};

// x + y, wrapping for integers (as the micro-kernel does).
template <class T>
T add(T x, T y) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(x) + static_cast<U>(y));
  } else {
    return x + y;
  }
}

// The tiles of C for one packed block of A (rows [0, mc) of it) against panels [q0, q1) of the
// packed block of B. `c` points at C's element for the block's first row and column.
template <class T>
void macro_kernel(const Plan<T>& plan, const T* a, const T* b, int64_t mc, int64_t kc, int64_t q0,
                  int64_t q1, int64_t nc, T* c, int64_t rs_c, int64_t cs_c, bool accumulate) {
  const int mr = plan.mr, nr = plan.nr;
  alignas(64) T tile[kMatmulMaxTileElements];
  for (int64_t i = 0; i < mc; i += mr) {
    const T* a_panel = a + i * plan.kc;
    const int64_t h = std::min<int64_t>(mr, mc - i);
    for (int64_t q = q0; q < q1; ++q) {
      const T* b_panel = b + q * nr * kc;
      const int64_t j = q * nr;
      const int64_t w = std::min<int64_t>(nr, nc - j);
      T* to = c + i * rs_c + j * cs_c;
      const MatmulMicroKernel& kernel = plan.kernels[h < mr][w < nr];
      if (h == kernel.shape.mr && w == kernel.shape.nr && cs_c == 1) {
        kernel.fn(kc, a_panel, b_panel, to, rs_c, accumulate ? 1 : 0);
        continue;
      }
      // The edge kernel's tile is larger than what is left of C (or C is not unit-stride): the
      // tile goes to the stack, and only its valid part into C.
      const int64_t ldt = kernel.shape.nr;
      kernel.fn(kc, a_panel, b_panel, tile, ldt, 0);
      for (int64_t r = 0; r < h; ++r) {
        T* row = to + r * rs_c;
        const T* from = tile + r * ldt;
        if (accumulate) {
          for (int64_t s = 0; s < w; ++s) row[s * cs_c] = add(row[s * cs_c], from[s]);
        } else {
          for (int64_t s = 0; s < w; ++s) row[s * cs_c] = from[s];
        }
      }
    }
  }
}

// c = a @ b for one m x k by k x n product (all > 0), computed by `threads` threads sharing
// each packed block of B. `a_size`/`b_size`: bytes per stored element of A and B.
template <class T>
void gemm(const Plan<T>& plan, const Workspace<T>& ws, int threads, View a, int a_size, View b,
          int b_size, T* c, int64_t rs_c, int64_t cs_c, int64_t m, int64_t k, int64_t n,
          const std::function<void(int64_t, int64_t, int64_t, int64_t)>& on_tile) {
  const int nr = plan.nr;
  for (int64_t jc = 0; jc < n; jc += plan.nc) {
    const int64_t nc = std::min(plan.nc, n - jc);
    const int64_t panels = ceil_div(nc, nr);
    const Split split = choose_split(threads, m, panels, plan.mr, plan.mc);
    for (int64_t pc = 0; pc < k; pc += plan.kc) {
      const int64_t kc = std::min(plan.kc, k - pc);
      const std::byte* b_block = b.data + (pc * b.rs + jc * b.cs) * b_size;
      auto pack_b = [&](int64_t q0, int64_t q1) {
        const std::byte* from = b_block + q0 * nr * b.cs * b_size;
        const int64_t cols = std::min(nc - q0 * nr, (q1 - q0) * nr);
        T* to = ws.b + q0 * nr * kc;
        if (plan.pack_b_copy != nullptr && b.cs == 1) {
          const int64_t full = cols / nr;
          plan.pack_b_copy(from, b.rs, kc, full, to);
          from += full * nr * b_size, to += full * nr * kc;
          if (cols == full * nr) return;
          plan.pack_b(from, b.rs, 1, kc, cols - full * nr, nr, plan.tail_width, to);
          return;
        }
        plan.pack_b(from, b.rs, b.cs, kc, cols, nr, plan.tail_width, to);
      };
      std::atomic<int64_t> next{0};
      auto compute = [&](int64_t unit) {
        T* a_block = ws.a(static_cast<int>(unit));
        int64_t packed = -1;  // the row block whose A is in a_block
        for (int64_t item; (item = next.fetch_add(1, std::memory_order_relaxed)) < split.items();) {
          const int64_t block = item / split.groups, group = item % split.groups;
          const int64_t ic = block * split.rows, mc = std::min(split.rows, m - ic);
          if (block != packed) {
            const std::byte* from = a.data + (ic * a.rs + pc * a.cs) * a_size;
            if (plan.pack_a_copy != nullptr && a.cs == 1) {
              // Rows up to the next multiple of mr must be zero (see pack_a).
              const int64_t padded = round_up(mc, plan.mr);
              plan.pack_a_copy(from, a.rs, mc, kc, a_block, plan.kc);
              for (int64_t i = mc; i < padded; ++i) {
                std::fill(a_block + i * plan.kc, a_block + i * plan.kc + kc, T{0});
              }
            } else {
              plan.pack_a(from, a.rs, a.cs, mc, kc, plan.mr, plan.kc, a_block);
            }
            packed = block;
          }
          const int64_t q0 = group * split.group;
          const int64_t q1 = std::min(panels, q0 + split.group);
          macro_kernel(plan, a_block, ws.b, mc, kc, q0, q1, nc, c + ic * rs_c + jc * cs_c, rs_c,
                       cs_c, pc > 0);
          // The last block of k: these tiles are final, and still in cache.
          if (on_tile && pc + kc >= k)
            on_tile(ic, mc, jc + q0 * nr, std::min(nc - q0 * nr, (q1 - q0) * nr));
        }
      };
      if (threads == 1) {
        pack_b(0, panels);
        compute(0);
      } else {
        // A small block is packed before the threads start: one wake-up fewer.
        if (panels * nr * kc < kMinParallelPack) {
          pack_b(0, panels);
        } else {
          runtime::parallel_for(0, panels, ceil_div(panels, threads), pack_b);
        }
        runtime::parallel_for(0, threads, 1, [&](int64_t u0, int64_t u1) {
          for (int64_t unit = u0; unit < u1; ++unit) compute(unit);
        });
      }
    }
  }
}

template <class T>
constexpr MatmulCompute compute_of() {
  if constexpr (std::is_same_v<T, float>) return MatmulCompute::kFloat32;
  if constexpr (std::is_same_v<T, double>) return MatmulCompute::kFloat64;
  if constexpr (std::is_same_v<T, int32_t>) return MatmulCompute::kInt32;
  if constexpr (std::is_same_v<T, int64_t>) return MatmulCompute::kInt64;
}

// The blocking of an m x n product: the micro-kernel's shape and kc (its A stride) from the
// host's defaults or the tuning, the edge kernels, and mc and nc rounded to whole panels.
template <class T>
Plan<T> make_plan(const MatmulTuning& tuning, int64_t m, int64_t n) {
  constexpr MatmulCompute compute = compute_of<T>();
  const MatmulMicroKernel& standard = matmul_micro_kernel(compute);
  MatmulKernelShape shape = standard.shape;
  if (tuning.mr != 0 || tuning.nr != 0 || tuning.lanes != 0) {
    shape.mr = tuning.mr, shape.nr = tuning.nr, shape.lanes = tuning.lanes;
  }
  if (tuning.kc != 0) shape.a_stride = static_cast<int>(std::min<int64_t>(tuning.kc, 65536));
  Plan<T> plan{};
  plan.kernels[0][0] = shape == standard.shape ? standard : matmul_micro_kernel(compute, shape);
  plan.mr = shape.mr;
  plan.nr = shape.nr;
  plan.lanes = shape.lanes;
  plan.kc = shape.a_stride;
  // The edges: m % mr rows and n % nr columns (nc is a multiple of nr, so only the last panel
  // of the last block of columns can be partial).
  const int rows = static_cast<int>(m % shape.mr), cols = static_cast<int>(n % shape.nr);
  if (rows != 0) plan.kernels[1][0] = matmul_edge_kernel(compute, shape, rows, shape.nr);
  if (cols != 0) plan.kernels[0][1] = matmul_edge_kernel(compute, shape, shape.mr, cols);
  if (rows != 0 && cols != 0) plan.kernels[1][1] = matmul_edge_kernel(compute, shape, rows, cols);
  plan.tail_width = cols != 0 ? plan.kernels[0][1].shape.nr : shape.nr;
  // mc rows of A are packed at a time, each panel then reused across the whole block of B.
  // The block of B (kc x nc) streams from L2 or L3 through the micro-kernel (each panel is read
  // once per panel of A, sequentially, which the prefetchers serve well): a wide block, which
  // packs A fewer times, beat one sized for L2 on Zen 4.
  plan.mc = round_up(tuning.mc > 0 ? tuning.mc : 120, plan.mr);
  plan.nc = round_up(tuning.nc > 0 ? tuning.nc : 4096, plan.nr);
  return plan;
}

// The whole call for storage type S and compute type T.
template <class S, class T>
void run(const MatmulOperand& a, const MatmulOperand& b, const MatmulResult& c, int64_t batch,
         int64_t m, int64_t k, int64_t n, const MatmulTuning& tuning, const MatmulTileFn& on_tile) {
  constexpr int size = sizeof(S);
  // Results the micro-kernel can write in place; the others are computed in T and converted.
  constexpr bool in_place = std::is_same_v<S, T>;
  Plan<T> plan = make_plan<T>(tuning, m, n);
  plan.pack_a = &matmul_detail::pack_a<S, T>;
  plan.pack_b = &matmul_detail::pack_b<S, T>;
  if constexpr (in_place) {
    plan.pack_a_copy = matmul_pack_a_kernel(compute_of<T>());
    plan.pack_b_copy = matmul_pack_b_kernel(compute_of<T>(), plan.nr, plan.lanes);
  }

  int threads = runtime::in_parallel_region() ? 1 : runtime::num_threads();
  if (tuning.threads > 0) threads = std::min(threads, tuning.threads);
  const double work = static_cast<double>(batch) * static_cast<double>(m) * static_cast<double>(n) *
                      static_cast<double>(k);
  threads = static_cast<int>(std::clamp(work / kMinWorkPerThread, 1.0, double(threads)));

  const auto* a_data = static_cast<const std::byte*>(a.data);
  const auto* b_data = static_cast<const std::byte*>(b.data);
  auto* c_data = static_cast<std::byte*>(c.data);
  // One product of the batch with `units` threads; `scratch` holds C in T when not in place.
  auto one = [&](int64_t p, int units, const Workspace<T>& ws, T* scratch) {
    const View av{a_data + p * a.batch_stride * size, a.row_stride, a.col_stride};
    const View bv{b_data + p * b.batch_stride * size, b.row_stride, b.col_stride};
    std::byte* cp = c_data + p * c.batch_stride * size;
    if constexpr (in_place) {
      std::function<void(int64_t, int64_t, int64_t, int64_t)> tile;
      if (on_tile) {
        tile = [&on_tile, p](int64_t row, int64_t rows, int64_t col, int64_t cols) {
          on_tile(p, row, rows, col, cols);
        };
      }
      gemm<T>(plan, ws, units, av, size, bv, size, reinterpret_cast<T*>(cp), c.row_stride,
              c.col_stride, m, k, n, tile);
    } else {
      gemm<T>(plan, ws, units, av, size, bv, size, scratch, n, 1, m, k, n, {});
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          matmul_detail::store_as<S, T>(cp, i * c.row_stride + j * c.col_stride,
                                        scratch[i * n + j]);
        }
      }
      if (on_tile) on_tile(p, 0, m, 0, n);
    }
  };
  auto make_scratch = [&] {
    return in_place ? nullptr : runtime::Buffer::allocate(static_cast<size_t>(m * n) * sizeof(T));
  };
  auto scratch_data = [](const std::shared_ptr<runtime::Buffer>& buffer) {
    return buffer ? buffer->as<T>() : nullptr;
  };

  if (batch > 1 && threads > 1 && (batch % threads == 0 || batch >= 4 * threads)) {
    // Whole products per thread: no synchronization inside a product.
    runtime::parallel_for(0, batch, ceil_div(batch, threads), [&](int64_t p0, int64_t p1) {
      const Workspace<T> ws(plan, 1, m, k, n);
      const auto scratch = make_scratch();
      for (int64_t p = p0; p < p1; ++p) one(p, 1, ws, scratch_data(scratch));
    });
    return;
  }
  const Workspace<T> ws(plan, threads, m, k, n);
  const auto scratch = make_scratch();
  for (int64_t p = 0; p < batch; ++p) one(p, threads, ws, scratch_data(scratch));
}

// C = 0 (every dtype's zero is all-zero bytes).
void fill_zero(const MatmulResult& c, int size, int64_t batch, int64_t m, int64_t n) {
  auto* data = static_cast<std::byte*>(c.data);
  for (int64_t p = 0; p < batch; ++p) {
    for (int64_t i = 0; i < m; ++i) {
      std::byte* row = data + (p * c.batch_stride + i * c.row_stride) * size;
      if (c.col_stride == 1) {
        std::memset(row, 0, static_cast<size_t>(n * size));
      } else {
        for (int64_t j = 0; j < n; ++j) std::memset(row + j * c.col_stride * size, 0, size);
      }
    }
  }
}

}  // namespace

void matmul(DType dtype, const MatmulOperand& a, const MatmulOperand& b, const MatmulResult& c,
            int64_t batch, int64_t m, int64_t k, int64_t n, const MatmulTuning& tuning,
            const MatmulTileFn& on_tile) {
  if (batch < 0 || m < 0 || k < 0 || n < 0) {
    throw Error(
        absl::StrFormat("matmul: negative size (batch %d, m %d, k %d, n %d)", batch, m, k, n));
  }
  if (tuning.mc < 0 || tuning.kc < 0 || tuning.nc < 0 || tuning.threads < 0) {
    throw Error("matmul: negative blocking");
  }
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {
    fill_zero(c, static_cast<int>(itemsize(dtype)), batch, m, n);
    if (on_tile)
      for (int64_t p = 0; p < batch; ++p) on_tile(p, 0, m, 0, n);
    return;
  }
  switch (dtype.kind()) {
    case DType::Kind::kFloat32:
      return run<float, float>(a, b, c, batch, m, k, n, tuning, on_tile);
    case DType::Kind::kFloat64:
      return run<double, double>(a, b, c, batch, m, k, n, tuning, on_tile);
    case DType::Kind::kFloat16:
      return run<Half, float>(a, b, c, batch, m, k, n, tuning, on_tile);
    case DType::Kind::kBFloat16:
      return run<BFloat16, float>(a, b, c, batch, m, k, n, tuning, on_tile);
    case DType::Kind::kInt8:
      return run<int8_t, int32_t>(a, b, c, batch, m, k, n, tuning, on_tile);
    case DType::Kind::kInt16:
      return run<int16_t, int32_t>(a, b, c, batch, m, k, n, tuning, on_tile);
    case DType::Kind::kInt32:
      return run<int32_t, int32_t>(a, b, c, batch, m, k, n, tuning, on_tile);
    case DType::Kind::kInt64:
      return run<int64_t, int64_t>(a, b, c, batch, m, k, n, tuning, on_tile);
    case DType::Kind::kUInt8:
      return run<uint8_t, int32_t>(a, b, c, batch, m, k, n, tuning, on_tile);
    case DType::Kind::kBool:
      // Products and sums of 0s and 1s: a sum is nonzero exactly when some a & b holds, and
      // float32 keeps that true for any k (no cancellation, no overflow to zero).
      return run<BoolByte, float>(a, b, c, batch, m, k, n, tuning, on_tile);
  }
  throw Error("matmul: unknown dtype");
}

void matmul(DType dtype, const void* a, const void* b, void* c, int64_t batch, int64_t m, int64_t k,
            int64_t n) {
  matmul(dtype, MatmulOperand{a, m * k, k, 1}, MatmulOperand{b, k * n, n, 1},
         MatmulResult{c, m * n, n, 1}, batch, m, k, n);
}

}  // namespace kiln::backends::cpu
