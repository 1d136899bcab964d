#include "kiln/passes/cse.h"

#include <cstring>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "kiln/passes/rewrite.h"

namespace kiln::passes {
namespace {

// Hashing for each attribute struct, consistent with its operator== (Scalar compares floating
// values bitwise, so the hash does too: NaN matches NaN, -0.0 does not match 0.0).
template <class H>
H hash_scalar(H h, const Scalar& s) {
  if (!s.is_floating_point()) return H::combine(std::move(h), s.kind(), s.to_int64());
  const double d = s.to_double();
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return H::combine(std::move(h), s.kind(), bits);
}

template <class H>
H hash_attrs(H h, const ir::NoAttrs&) {
  return h;
}
template <class H>
H hash_attrs(H h, const ir::InputAttrs& a) {
  return H::combine(std::move(h), a.index);
}
template <class H>
H hash_attrs(H h, const ir::ConstantAttrs& a) {
  return hash_scalar(std::move(h), a.value);
}
template <class H>
H hash_attrs(H h, const ir::CastAttrs& a) {
  return H::combine(std::move(h), a.to.kind());
}
template <class H>
H hash_attrs(H h, const ir::ReduceAttrs& a) {
  return H::combine(std::move(h), a.axes, a.keepdim);
}
template <class H>
H hash_attrs(H h, const ir::ShapeAttrs& a) {
  return H::combine(std::move(h), a.shape);
}
template <class H>
H hash_attrs(H h, const ir::PermuteAttrs& a) {
  return H::combine(std::move(h), a.perm);
}
template <class H>
H hash_attrs(H h, const ir::SliceAttrs& a) {
  return H::combine(std::move(h), a.dim, a.start, a.stop, a.step);
}
template <class H>
H hash_attrs(H h, const ir::StridedAttrs& a) {
  return H::combine(std::move(h), a.sizes, a.strides, a.offset);
}
template <class H>
H hash_attrs(H h, const ir::AxisAttrs& a) {
  return H::combine(std::move(h), a.dim);
}
template <class H>
H hash_attrs(H h, const ir::IndexPutAttrs& a) {
  return H::combine(std::move(h), a.dim, a.accumulate);
}

// What makes two nodes compute the same value. Operands are already replaced by their
// representatives, and sorted for commutative ops.
struct NodeKey {
  ir::Op op;
  ir::Attrs attrs;
  absl::InlinedVector<ir::ValueId, 3> inputs;
  ir::TensorType type;

  friend bool operator==(const NodeKey&, const NodeKey&) = default;
  template <class H>
  friend H AbslHashValue(H h, const NodeKey& k) {
    h = H::combine(std::move(h), k.op, k.inputs, k.type.dtype.kind(), k.type.shape,
                   k.attrs.index());
    return std::visit([&h](const auto& a) { return hash_attrs(std::move(h), a); }, k.attrs);
  }
};

}  // namespace

bool CsePass::run(ir::Graph& g) {
  const ir::ValueId n = g.size();
  std::vector<ir::ValueId> forward(static_cast<size_t>(n));
  absl::flat_hash_map<NodeKey, ir::ValueId> first_of;
  first_of.reserve(static_cast<size_t>(n));
  bool merged = false;
  for (ir::ValueId id = 0; id < n; ++id) {
    const ir::Node& node = g.node(id);
    forward[static_cast<size_t>(id)] = id;
    // Each input is its own argument even when two have equal types. (Random ops, when they
    // join the op table, must be skipped here too: two draws are different values.)
    if (node.op == ir::Op::input) continue;
    NodeKey key{node.op, node.attrs, node.inputs, node.type};
    for (ir::ValueId& in : key.inputs) in = forward[static_cast<size_t>(in)];
    if (ir::has_trait(node.op, ir::kCommutative) && key.inputs.size() == 2 &&
        key.inputs[1] < key.inputs[0])
      std::swap(key.inputs[0], key.inputs[1]);
    const auto [it, inserted] = first_of.try_emplace(std::move(key), id);
    if (!inserted) {
      forward[static_cast<size_t>(id)] = it->second;
      merged = true;
    }
  }
  if (merged) rebuild(g, forward);
  return merged;
}

}  // namespace kiln::passes
