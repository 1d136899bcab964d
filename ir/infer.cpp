#include "kiln/ir/infer.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::ir {
namespace {

absl::Status fail(Op op, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(sv(op_name(op)), ": ", sv(what)));
}

std::string types_to_string(absl::Span<const TensorType> ts) {
  std::string s;
  for (size_t i = 0; i < ts.size(); ++i) absl::StrAppend(&s, i ? ", " : "", to_string(ts[i]));
  return s;
}

absl::StatusOr<TensorType> infer_elementwise(Op op, const Attrs& attrs,
                                             absl::Span<const TensorType> in) {
  for (const auto& t : in)
    if (t.shape != in[0].shape)
      return fail(op, absl::StrCat("operand shapes differ: ", types_to_string(in)));
  if (op == Op::cast) return TensorType{std::get<CastAttrs>(attrs).to, in[0].shape};
  if (op == Op::where) {
    if (in[0].dtype != boolean) return fail(op, "condition must be bool, got " + to_string(in[0]));
    if (in[1].dtype != in[2].dtype)
      return fail(op, absl::StrCat("branch dtypes differ: ", types_to_string(in)));
    return in[1];
  }
  if (has_trait(op, kLogical)) return TensorType{boolean, in[0].shape};
  for (const auto& t : in)
    if (t.dtype != in[0].dtype)
      return fail(op, absl::StrCat("operand dtypes differ: ", types_to_string(in)));
  if (has_trait(op, kFloatOnly) && !is_floating_point(in[0].dtype))
    return fail(op, "expects a floating operand, got " + to_string(in[0]));
  if (has_trait(op, kComparison)) return TensorType{boolean, in[0].shape};
  return in[0];
}

absl::StatusOr<TensorType> infer_reduction(Op op, const ReduceAttrs& a, const TensorType& in) {
  const int64_t rank = static_cast<int64_t>(in.shape.size());
  for (size_t i = 0; i < a.axes.size(); ++i) {
    if (a.axes[i] < 0 || a.axes[i] >= std::max<int64_t>(rank, 1))
      return fail(op, absl::StrCat("axis ", a.axes[i], " out of range for ", to_string(in)));
    if (i > 0 && a.axes[i] <= a.axes[i - 1]) return fail(op, "axes must be sorted and unique");
  }
  const bool arg = op == Op::argmax || op == Op::argmin;
  if (arg && a.axes.size() != 1) return fail(op, "expects exactly one axis");
  TensorType out{arg ? int64 : in.dtype, {}};
  for (int64_t d = 0; d < rank; ++d) {
    const bool reduced = std::find(a.axes.begin(), a.axes.end(), d) != a.axes.end();
    if (!reduced) out.shape.push_back(in.shape[d]);
    else if (a.keepdim) out.shape.push_back(1);
  }
  return out;
}

// Element count, or nullopt for a negative size or a product that overflows int64 (attributes
// come from parsed text too, so size arithmetic must not overflow).
std::optional<int64_t> checked_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return std::nullopt;
  return n;
}

// Requires sizes.size() == strides.size().
bool window_fits(const StridedAttrs& a, const Shape& input) {
  if (a.offset < 0) return false;
  for (size_t i = 0; i < a.sizes.size(); ++i)
    if (a.sizes[i] < 0 || a.strides[i] < 0) return false;
  const std::optional<int64_t> window = checked_numel(a.sizes), n = checked_numel(input);
  if (!window || !n) return false;
  if (*window == 0) return true;  // an empty window reads nothing
  int64_t last = a.offset;
  for (size_t i = 0; i < a.sizes.size(); ++i) {
    int64_t span = 0;
    if (__builtin_mul_overflow(a.sizes[i] - 1, a.strides[i], &span) ||
        __builtin_add_overflow(last, span, &last))
      return false;
  }
  return last < *n;
}

absl::StatusOr<TensorType> infer_movement(Op op, const Attrs& attrs,
                                          absl::Span<const TensorType> in) {
  const TensorType& x = in[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  switch (op) {
    case Op::reshape: {
      const Shape& s = std::get<ShapeAttrs>(attrs).shape;
      const std::optional<int64_t> n = checked_numel(s);
      if (!n) return fail(op, "invalid size in " + shape_to_string(s));
      if (*n != checked_numel(x.shape))
        return fail(op, absl::StrCat("cannot reshape ", to_string(x), " to ", shape_to_string(s)));
      return TensorType{x.dtype, s};
    }
    case Op::expand: {
      const Shape& s = std::get<ShapeAttrs>(attrs).shape;
      if (static_cast<int64_t>(s.size()) != rank)
        return fail(op, absl::StrCat("rank of ", shape_to_string(s), " differs from ", to_string(x)));
      for (int64_t d = 0; d < rank; ++d)
        if (s[d] < 0 || (x.shape[d] != s[d] && x.shape[d] != 1))
          return fail(op, absl::StrCat("cannot expand ", to_string(x), " to ", shape_to_string(s)));
      return TensorType{x.dtype, s};
    }
    case Op::permute: {
      const Shape& p = std::get<PermuteAttrs>(attrs).perm;
      if (static_cast<int64_t>(p.size()) != rank) return fail(op, "permutation has the wrong rank");
      Shape out(p.size());
      std::vector<bool> seen(p.size(), false);
      for (size_t i = 0; i < p.size(); ++i) {
        if (p[i] < 0 || p[i] >= rank || seen[p[i]])
          return fail(op, shape_to_string(p) + " is not a permutation");
        seen[p[i]] = true;
        out[i] = x.shape[p[i]];
      }
      return TensorType{x.dtype, out};
    }
    case Op::slice: {
      const auto& a = std::get<SliceAttrs>(attrs);
      if (a.dim < 0 || a.dim >= rank) return fail(op, "dim out of range");
      if (a.step < 1 || a.start < 0 || a.start > a.stop || a.stop > x.shape[a.dim])
        return fail(op, absl::StrCat("bad range ", a.start, ":", a.stop, ":", a.step, " for ",
                                     to_string(x)));
      TensorType out = x;
      out.shape[a.dim] = a.start == a.stop ? 0 : (a.stop - a.start - 1) / a.step + 1;
      return out;
    }
    case Op::as_strided: {
      const auto& a = std::get<StridedAttrs>(attrs);
      if (a.sizes.size() != a.strides.size()) return fail(op, "sizes and strides differ in rank");
      if (!window_fits(a, x.shape)) return fail(op, "window outside the input");
      return TensorType{x.dtype, a.sizes};
    }
    case Op::cat: {
      const int64_t dim = std::get<AxisAttrs>(attrs).dim;
      if (dim < 0 || dim >= rank) return fail(op, "dim out of range");
      TensorType out = x;
      for (size_t i = 1; i < in.size(); ++i) {
        if (in[i].dtype != x.dtype || in[i].shape.size() != x.shape.size())
          return fail(op, absl::StrCat("operands differ: ", types_to_string(in)));
        for (int64_t d = 0; d < rank; ++d)
          if (d != dim && in[i].shape[d] != x.shape[d])
            return fail(op, absl::StrCat("operands differ: ", types_to_string(in)));
        if (__builtin_add_overflow(out.shape[dim], in[i].shape[dim], &out.shape[dim]))
          return fail(op, "result size overflows");
      }
      return out;
    }
    default:
      return fail(op, "not a movement op");
  }
}

// Shape of index(src, idx...) at `dim`: src[:dim] + index shape + src[dim + k:].
absl::StatusOr<Shape> indexed_shape(Op op, const TensorType& src, int64_t dim,
                                    absl::Span<const TensorType> idx) {
  if (idx.empty()) return fail(op, "needs at least one index tensor");
  const int64_t rank = static_cast<int64_t>(src.shape.size());
  const int64_t k = static_cast<int64_t>(idx.size());
  if (dim < 0 || dim > rank - k) return fail(op, "indexed dims out of range");
  for (const auto& i : idx) {
    if (i.dtype != int64) return fail(op, "index tensors must be int64, got " + to_string(i));
    if (i.shape != idx[0].shape) return fail(op, "index tensors must have one shape");
  }
  Shape out(src.shape.begin(), src.shape.begin() + dim);
  out.insert(out.end(), idx[0].shape.begin(), idx[0].shape.end());
  out.insert(out.end(), src.shape.begin() + dim + k, src.shape.end());
  return out;
}

}  // namespace

std::string to_string(const TensorType& t) {
  return absl::StrCat(sv(short_name(t.dtype)), shape_to_string(t.shape));
}

absl::StatusOr<TensorType> infer_type(Op op, const Attrs& attrs,
                                      absl::Span<const TensorType> in) {
  if (!attrs_match(op, attrs)) return fail(op, "wrong attribute kind");
  const int arity = op_arity(op);
  if (has_trait(op, kLeaf)) return fail(op, "leaf types are declared, not inferred");
  if (arity != kVariadic && static_cast<int>(in.size()) != arity)
    return fail(op, absl::StrCat("expects ", arity, " operands, got ", in.size()));
  if (in.empty()) return fail(op, "expects operands");
  if (has_trait(op, kElementwise)) return infer_elementwise(op, attrs, in);
  if (has_trait(op, kReduction)) return infer_reduction(op, std::get<ReduceAttrs>(attrs), in[0]);
  if (has_trait(op, kMovement)) return infer_movement(op, attrs, in);
  switch (op) {
    case Op::as_strided_scatter: {
      const auto& a = std::get<StridedAttrs>(attrs);
      if (in[0].dtype != in[1].dtype) return fail(op, "dtypes differ: " + types_to_string(in));
      if (a.sizes.size() != a.strides.size() || in[1].shape != a.sizes)
        return fail(op, "source shape differs from the window: " + types_to_string(in));
      if (!window_fits(a, in[0].shape)) return fail(op, "window outside the base");
      return in[0];
    }
    case Op::index: {
      auto shape = indexed_shape(op, in[0], std::get<AxisAttrs>(attrs).dim, in.subspan(1));
      if (!shape.ok()) return shape.status();
      return TensorType{in[0].dtype, *shape};
    }
    case Op::index_put: {
      if (in.size() < 3) return fail(op, "expects base, values and index tensors");
      auto shape = indexed_shape(op, in[0], std::get<IndexPutAttrs>(attrs).dim, in.subspan(2));
      if (!shape.ok()) return shape.status();
      if (in[1].dtype != in[0].dtype || in[1].shape != *shape)
        return fail(op, absl::StrCat("values must be ", sv(short_name(in[0].dtype)),
                                     shape_to_string(*shape), ", got ", to_string(in[1])));
      return in[0];
    }
    case Op::matmul: {
      const TensorType &a = in[0], &b = in[1];
      const size_t r = a.shape.size();
      if (r < 2 || b.shape.size() != r || a.dtype != b.dtype ||
          !std::equal(a.shape.begin(), a.shape.end() - 2, b.shape.begin()) ||
          a.shape[r - 1] != b.shape[r - 2])
        return fail(op, "operands do not multiply: " + types_to_string(in));
      TensorType out = a;
      out.shape[r - 1] = b.shape[r - 1];
      return out;
    }
    default:
      return fail(op, "no inference rule");
  }
}

}  // namespace kiln::ir
