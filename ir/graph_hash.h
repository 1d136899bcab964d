// Structural hashing and equality of IR nodes and graphs (Abseil hashing), consistent with the
// attributes' operator== (Scalar compares floating values bitwise: NaN matches NaN, -0.0 does
// not match 0.0). CSE keys nodes with it; the frontend keys whole realization graphs with it.
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>
#include <variant>

#include "absl/hash/hash.h"
#include "kiln/ir/graph.h"

namespace kiln::ir {

template <class H>
H hash_scalar(H h, const Scalar& s) {
  if (!s.is_floating_point()) return H::combine(std::move(h), s.kind(), s.to_int64());
  const double d = s.to_double();
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return H::combine(std::move(h), s.kind(), bits);
}

namespace hash_detail {
template <class H>
H hash_one(H h, const NoAttrs&) {
  return h;
}
template <class H>
H hash_one(H h, const InputAttrs& a) {
  return H::combine(std::move(h), a.index);
}
template <class H>
H hash_one(H h, const ConstantAttrs& a) {
  return hash_scalar(std::move(h), a.value);
}
template <class H>
H hash_one(H h, const CastAttrs& a) {
  return H::combine(std::move(h), a.to.kind());
}
template <class H>
H hash_one(H h, const ReduceAttrs& a) {
  return H::combine(std::move(h), a.axes, a.keepdim);
}
template <class H>
H hash_one(H h, const ShapeAttrs& a) {
  return H::combine(std::move(h), a.shape);
}
template <class H>
H hash_one(H h, const PermuteAttrs& a) {
  return H::combine(std::move(h), a.perm);
}
template <class H>
H hash_one(H h, const SliceAttrs& a) {
  return H::combine(std::move(h), a.dim, a.start, a.stop, a.step);
}
template <class H>
H hash_one(H h, const StridedAttrs& a) {
  return H::combine(std::move(h), a.sizes, a.strides, a.offset);
}
template <class H>
H hash_one(H h, const AxisAttrs& a) {
  return H::combine(std::move(h), a.dim);
}
template <class H>
H hash_one(H h, const IndexPutAttrs& a) {
  return H::combine(std::move(h), a.dim, a.accumulate);
}
}  // namespace hash_detail

// Which alternative, and its fields.
template <class H>
H hash_attrs(H h, const Attrs& attrs) {
  h = H::combine(std::move(h), attrs.index());
  return std::visit([&h](const auto& a) { return hash_detail::hash_one(std::move(h), a); }, attrs);
}

template <class H>
H hash_type(H h, const TensorType& t) {
  return H::combine(std::move(h), t.dtype.kind(), t.shape);
}

// Everything that defines a node: op, result type, operands and attributes.
template <class H>
H hash_node(H h, const Node& n) {
  h = H::combine(std::move(h), n.op, n.inputs);
  return hash_attrs(hash_type(std::move(h), n.type), n.attrs);
}
bool same_node(const Node& a, const Node& b);

// Nodes in order and outputs: equal graphs compute the same function of their inputs.
size_t graph_hash(const Graph& g);
bool same_graph(const Graph& a, const Graph& b);

}  // namespace kiln::ir
