// Reductions over a sorted set of axes: sum, prod, amax, amin, argmax, argmin.
//
// The input's dims split into kept dims (which index the output, in row-major order whether or
// not keepdim leaves size-1 dims behind) and reduced dims. Output element k reduces the input
// elements at kept_offsets[k] + reduced_offsets[r] for r in row-major order over the reduced
// dims, so "first index" in argmax means first along that order.
#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/backends/interp/element.h"
#include "kiln/backends/interp/kernels.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::backends::interp {
namespace {

using ir::Op;

std::vector<int64_t> offsets_of(const Shape& sizes, const Shape& strides) {
  std::vector<int64_t> offsets;
  offsets.reserve(static_cast<size_t>(numel(sizes)));
  for_each_strided(sizes, strides, 0, [&](int64_t, int64_t offset) { offsets.push_back(offset); });
  return offsets;
}

// Pairwise summation: error grows with log(n) rather than n, and unlike compensated (Kahan)
// summation it keeps inf + finite = inf instead of producing NaN from the compensation term.
double pairwise_sum(const double* values, size_t n) {
  constexpr size_t kBlock = 16;
  if (n <= kBlock) {
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += values[i];
    return sum;
  }
  const size_t half = n / 2;  // recursion depth is log2(n / kBlock), at most ~60
  return pairwise_sum(values, half) + pairwise_sum(values + half, n - half);
}

struct Layout {
  std::vector<int64_t> kept_offsets;
  std::vector<int64_t> reduced_offsets;
};

Layout layout_of(const Shape& shape, const Shape& axes) {
  const Shape strides = contiguous_strides(shape);
  Shape kept_sizes, kept_strides, reduced_sizes, reduced_strides;
  for (size_t d = 0; d < shape.size(); ++d) {
    // A 0-d input may name axis 0, which then reduces nothing away (one element).
    const bool reduced = std::find(axes.begin(), axes.end(), static_cast<int64_t>(d)) != axes.end();
    (reduced ? reduced_sizes : kept_sizes).push_back(shape[d]);
    (reduced ? reduced_strides : kept_strides).push_back(strides[d]);
  }
  return {offsets_of(kept_sizes, kept_strides), offsets_of(reduced_sizes, reduced_strides)};
}

template <class S>
void reduce(Op op, const Operand& in, const Layout& layout, std::byte* out) {
  using C = compute_t<S>;
  constexpr bool kFloating = is_floating_storage<S>;
  const std::vector<int64_t>& reduced = layout.reduced_offsets;
  std::vector<double> scratch;
  for (size_t k = 0; k < layout.kept_offsets.size(); ++k) {
    const int64_t base = layout.kept_offsets[k];
    const auto element = [&](size_t r) { return load<S>(in.data, base + reduced[r]); };
    const int64_t o = static_cast<int64_t>(k);
    switch (op) {
      case Op::sum:
        if constexpr (kFloating) {
          scratch.resize(reduced.size());
          for (size_t r = 0; r < reduced.size(); ++r) scratch[r] = element(r);
          store<S>(out, o, static_cast<C>(pairwise_sum(scratch.data(), scratch.size())));
        } else {
          int64_t sum = 0;
          for (size_t r = 0; r < reduced.size(); ++r) sum = wrap_add(sum, element(r));
          store<S>(out, o, sum);
        }
        break;
      case Op::prod:
        if constexpr (kFloating) {
          double product = 1.0;
          for (size_t r = 0; r < reduced.size(); ++r) product *= element(r);
          store<S>(out, o, static_cast<C>(product));
        } else {
          int64_t product = 1;
          for (size_t r = 0; r < reduced.size(); ++r) product = wrap_mul(product, element(r));
          store<S>(out, o, product);
        }
        break;
      case Op::amax:
      case Op::amin:
      case Op::argmax:
      case Op::argmin: {
        // The caller rejects empty reductions, so element 0 exists.
        const bool want_max = op == Op::amax || op == Op::argmax;
        C best = element(0);
        size_t best_index = 0;
        for (size_t r = 1; r < reduced.size(); ++r) {
          if constexpr (kFloating) {
            if (std::isnan(best)) break;  // the first NaN is the extreme
          }
          const C v = element(r);
          bool better = want_max ? v > best : v < best;  // strict: ties keep the first index
          if constexpr (kFloating) better = better || std::isnan(v);
          if (better) {
            best = v;
            best_index = r;
          }
        }
        if (op == Op::amax || op == Op::amin)
          store<S>(out, o, best);
        else
          store<int64_t>(out, o, static_cast<int64_t>(best_index));
        break;
      }
      default:
        throw Error(absl::StrCat("interp: ", sv(ir::op_name(op)), " is not a reduction"));
    }
  }
}

}  // namespace

void eval_reduce(const ir::Node& node, Operands in, std::byte* out) {
  const Shape& shape = in[0].type->shape;
  const auto& attrs = std::get<ir::ReduceAttrs>(node.attrs);
  const bool needs_element = node.op != Op::sum && node.op != Op::prod;
  if (needs_element) {
    // PyTorch's wording; sum and prod of nothing are 0 and 1 instead.
    for (int64_t axis : attrs.axes)
      if (axis < static_cast<int64_t>(shape.size()) && shape[axis] == 0)
        throw Error(absl::StrCat(sv(ir::op_name(node.op)), "(): Expected reduction dim ", axis,
                                 " to have non-zero size."));
  }
  const Layout layout = layout_of(shape, attrs.axes);
  visit_dtype(in[0].type->dtype,
              [&]<class S>(std::type_identity<S>) { reduce<S>(node.op, in[0], layout, out); });
}

}  // namespace kiln::backends::interp
