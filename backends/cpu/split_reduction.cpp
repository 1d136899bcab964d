#include "kiln/backends/cpu/split_reduction.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"
#include "kiln/runtime/thread_pool.h"

namespace kiln::backends::cpu {
namespace {

using ir::Op;

// Reduced elements per range (at least), and the most ranges per kept point.
constexpr int64_t kRangeWork = 32 * 1024;
constexpr int64_t kMaxRanges = 64;
// Kernels with this many kept points or more are parallel enough over their points alone.
constexpr int64_t kFewPoints = 32;

double as_double(int64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

// The interpreter's scan step over two consecutive candidates: strictly better replaces (ties
// keep the earlier), a NaN beats everything and, once there, stays.
template <class T>
bool better(T candidate, T best, bool want_max) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(best)) return false;
    if (std::isnan(candidate)) return true;
  }
  return want_max ? candidate > best : candidate < best;
}

// Stores a compute value (double for floating dtypes, int64 otherwise) as `dtype`, like the
// kernel's own final store: double -> float rounds once, then float16/bfloat16 again.
void store(DType dtype, void* address, double f, int64_t i) {
  auto put = [&](auto v) { std::memcpy(address, &v, sizeof v); };
  switch (dtype.kind()) {
    case DType::Kind::kFloat32:
      return put(static_cast<float>(f));
    case DType::Kind::kFloat64:
      return put(f);
    case DType::Kind::kFloat16:
      return put(Half::from_float(static_cast<float>(f)));
    case DType::Kind::kBFloat16:
      return put(BFloat16::from_float(static_cast<float>(f)));
    case DType::Kind::kInt8:
      return put(static_cast<int8_t>(i));
    case DType::Kind::kInt16:
      return put(static_cast<int16_t>(i));
    case DType::Kind::kInt32:
      return put(static_cast<int32_t>(i));
    case DType::Kind::kInt64:
      return put(i);
    case DType::Kind::kUInt8:
      return put(static_cast<uint8_t>(i));
    case DType::Kind::kBool:
      return put(static_cast<uint8_t>(i != 0 ? 1 : 0));
  }
  throw Error("cpu backend: unknown dtype");
}

// Combines the states of one kept point's consecutive ranges for store `which` and stores
// the result.
void combine(const ir::LoopKernel& k, size_t which, absl::Span<const ReductionState> states,
             void* out) {
  const DType dtype = k.exprs[k.stores[which].second].dtype;
  const DType out_dtype = k.args[k.stores[which].first].dtype;
  const Op op = k.reduce_op;
  const bool want_max = op == Op::amax || op == Op::argmax;
  const bool arg = op == Op::argmax || op == Op::argmin;
  if (is_floating_point(dtype)) {
    double value = as_double(states[0].value);
    int64_t index = states[0].index;
    for (size_t s = 1; s < states.size(); ++s) {
      const double v = as_double(states[s].value);
      if (op == Op::sum) {
        value += v;
      } else if (op == Op::prod) {
        throw Error("internal error: a floating prod was split");
      } else if (better(v, value, want_max)) {
        value = v;
        index = states[s].index;
      }
    }
    return arg ? store(out_dtype, out, 0.0, index) : store(out_dtype, out, value, 0);
  }
  uint64_t value = static_cast<uint64_t>(states[0].value);  // wrapping arithmetic
  int64_t index = states[0].index;
  for (size_t s = 1; s < states.size(); ++s) {
    const uint64_t v = static_cast<uint64_t>(states[s].value);
    if (op == Op::sum) {
      value += v;
    } else if (op == Op::prod) {
      value *= v;
    } else if (better(static_cast<int64_t>(v), static_cast<int64_t>(value), want_max)) {
      value = v;
      index = states[s].index;
    }
  }
  store(out_dtype, out, 0.0, arg ? index : static_cast<int64_t>(value));
}

}  // namespace

int64_t split_count(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch) {
  if (kernel.kind != ir::LoopKernel::Kind::kReduction) return 1;
  if (parallel_extent(kernel, launch) >= kFewPoints) return 1;
  const int64_t ranges = std::min(kMaxRanges, work_per_point(kernel, launch) / kRangeWork);
  if (ranges < 2) return 1;
  // A floating product is sequential in double: multiplying partial products would round
  // differently (the caller runs emittable kernels only: can_split's other half).
  const DType dtype = kernel.exprs[kernel.stores[0].second].dtype;
  if (kernel.reduce_op == Op::prod && is_floating_point(dtype)) return 1;
  return ranges;
}

void run_split_reduction(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                         absl::Span<void* const> data, const int64_t* sizes, const int64_t* strides,
                         PartialFunction partial, int64_t ranges) {
  const int64_t points = parallel_extent(kernel, launch);
  const int64_t work = work_per_point(kernel, launch);
  // One state per (point, range, store), a partial call filling its stores' states.
  const size_t stores = kernel.stores.size();
  std::vector<ReductionState> states(static_cast<size_t>(points * ranges) * stores);
  // Range r of a point: [r * q + min(r, m), (r + 1) * q + min(r + 1, m)) with work = q * ranges +
  // m.
  const int64_t q = work / ranges, m = work % ranges;
  auto bound = [&](int64_t r) { return r * q + std::min(r, m); };
  runtime::parallel_for(0, points * ranges, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t r = t % ranges;
      partial(data.data(), sizes, strides, launch.offsets.data(), bound(r), bound(r + 1),
              t / ranges, &states[static_cast<size_t>(t) * stores]);
    }
  });
  // The output element of each kept point (its strides over the reduced dims are 0).
  const int32_t kept = kernel.rank - kernel.reduced_dims;
  std::vector<ReductionState> point_states(static_cast<size_t>(ranges));
  for (size_t s = 0; s < stores; ++s) {
    const size_t out = static_cast<size_t>(kernel.stores[s].first);
    const size_t size = itemsize(kernel.args[out].dtype);
    for (int64_t p = 0; p < points; ++p) {
      int64_t offset = launch.offsets[out];
      for (int64_t d = kept - 1, rest = p; d >= 0; --d) {
        offset += (rest % launch.sizes[d]) * launch.strides[out][d];
        rest /= launch.sizes[d];
      }
      for (int64_t r = 0; r < ranges; ++r)
        point_states[static_cast<size_t>(r)] =
            states[static_cast<size_t>(p * ranges + r) * stores + s];
      auto* address = static_cast<unsigned char*>(data[out]) + offset * static_cast<int64_t>(size);
      combine(kernel, s, point_states, address);
    }
  }
}

}  // namespace kiln::backends::cpu
