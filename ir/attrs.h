// Typed attributes, one struct per op family. The op table (ops.h) names which struct each
// op carries; the printer, parser and verifier dispatch on the struct type.
#pragma once

#include <cstdint>
#include <variant>

#include "kiln/ir/dtype.h"
#include "kiln/ir/scalar.h"
#include "kiln/ir/shape.h"

namespace kiln::ir {

struct NoAttrs {
  friend bool operator==(const NoAttrs&, const NoAttrs&) = default;
};
// A graph input: the executor binds argument `index` to it.
struct InputAttrs {
  int64_t index = 0;
  friend bool operator==(const InputAttrs&, const InputAttrs&) = default;
};
// A scalar constant; the node's type gives its dtype (its shape is always []).
struct ConstantAttrs {
  Scalar value = 0;
  friend bool operator==(const ConstantAttrs&, const ConstantAttrs&) = default;
};
struct CastAttrs {
  DType to = float32;
  friend bool operator==(const CastAttrs&, const CastAttrs&) = default;
};
// Reductions over `axes` (sorted, non-negative). argmax/argmin take exactly one axis.
struct ReduceAttrs {
  Shape axes;
  bool keepdim = false;
  friend bool operator==(const ReduceAttrs&, const ReduceAttrs&) = default;
};
// reshape and expand: the result shape.
struct ShapeAttrs {
  Shape shape;
  friend bool operator==(const ShapeAttrs&, const ShapeAttrs&) = default;
};
struct PermuteAttrs {
  Shape perm;
  friend bool operator==(const PermuteAttrs&, const PermuteAttrs&) = default;
};
// slice along one dim: start <= stop (already clamped), step > 0.
struct SliceAttrs {
  int64_t dim = 0;
  int64_t start = 0;
  int64_t stop = 0;
  int64_t step = 1;
  friend bool operator==(const SliceAttrs&, const SliceAttrs&) = default;
};
// A strided window over the input's elements in row-major order (as_strided and its scatter).
struct StridedAttrs {
  Shape sizes;
  Shape strides;
  int64_t offset = 0;
  friend bool operator==(const StridedAttrs&, const StridedAttrs&) = default;
};
// cat's dim; index's first indexed dim.
struct AxisAttrs {
  int64_t dim = 0;
  friend bool operator==(const AxisAttrs&, const AxisAttrs&) = default;
};
struct IndexPutAttrs {
  int64_t dim = 0;
  bool accumulate = false;
  friend bool operator==(const IndexPutAttrs&, const IndexPutAttrs&) = default;
};

using Attrs = std::variant<NoAttrs, InputAttrs, ConstantAttrs, CastAttrs, ReduceAttrs, ShapeAttrs,
                           PermuteAttrs, SliceAttrs, StridedAttrs, AxisAttrs, IndexPutAttrs>;

}  // namespace kiln::ir
