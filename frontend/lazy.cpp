#include "kiln/frontend/lazy.h"

#include <atomic>
#include <vector>

#include "kiln/ir/infer.h"
#include "kiln/runtime/error.h"

namespace kiln::frontend {

namespace {
std::atomic<int64_t> read_markers{0};
}  // namespace

void mark_read_marker(LazyNode& node) {
  if (node.read_marker) return;
  node.read_marker = true;
  read_markers.fetch_add(1, std::memory_order_relaxed);
}

int64_t live_read_markers() { return read_markers.load(std::memory_order_relaxed); }

LazyNode::~LazyNode() {
  if (read_marker) read_markers.fetch_sub(1, std::memory_order_relaxed);
  if (inputs.empty()) return;
  // Operands that others still hold go now; the thread-local queue is only for operands whose
  // last reference is ours.
  bool orphaned = false;
  for (auto& in : inputs) {
    if (in.use_count() == 1) {
      orphaned = true;
      continue;
    }
    in.reset();
  }
  if (!orphaned) {
    inputs.clear();
    return;
  }
  // Operands whose last reference is ours are destroyed from this loop, not recursively.
  thread_local std::vector<LazyPtr> orphans;
  thread_local bool draining = false;
  for (auto& in : inputs)
    if (in) orphans.push_back(std::move(in));
  inputs.clear();
  if (draining) return;
  draining = true;
  while (!orphans.empty()) {
    LazyPtr last = std::move(orphans.back());
    orphans.pop_back();
    last.reset();  // may push this node's operands onto `orphans`
  }
  draining = false;
}

LazyPtr make_leaf(std::shared_ptr<runtime::Buffer> buffer, ir::TensorType type, Device device) {
  auto n = std::make_shared<LazyNode>();
  n->op = ir::Op::input;
  n->attrs = ir::InputAttrs{};
  n->type = std::move(type);
  n->device = device;
  n->buffer = std::move(buffer);
  return n;
}

LazyPtr make_constant(Scalar value, DType dtype, Device device) {
  auto n = std::make_shared<LazyNode>();
  n->op = ir::Op::constant;
  n->attrs = ir::ConstantAttrs{value};
  n->type.dtype = dtype;  // shape stays [] (assigning a TensorType{} trips a GCC 12 false warning)
  n->device = device;
  return n;
}

LazyPtr make_node(ir::Op op, absl::Span<const LazyPtr> inputs, ir::Attrs attrs) {
  absl::InlinedVector<ir::TensorType, 3> types;
  for (const auto& in : inputs) types.push_back(in->type);
  auto type = ir::infer_type(op, attrs, types);
  if (!type.ok()) throw Error("internal error: " + std::string(type.status().message()));
  auto n = std::make_shared<LazyNode>();
  n->op = op;
  n->attrs = std::move(attrs);
  n->type = *std::move(type);
  n->device = inputs.empty() ? cpu : inputs[0]->device;
  n->inputs.assign(inputs.begin(), inputs.end());
  for (const auto& in : inputs) n->external |= in->external;
  return n;
}

LazyPtr cast(LazyPtr x, DType dtype) {
  if (x->type.dtype == dtype) return x;
  return make_node(ir::Op::cast, {x}, ir::CastAttrs{dtype});
}

LazyPtr reshape(LazyPtr x, const Shape& shape) {
  if (x->type.shape == shape) return x;
  return make_node(ir::Op::reshape, {x}, ir::ShapeAttrs{shape});
}

LazyPtr broadcast_to(LazyPtr x, const Shape& shape) {
  if (x->type.shape == shape) return x;
  const Shape& from = x->type.shape;
  Shape padded(shape.size() - from.size(), 1);
  padded.insert(padded.end(), from.begin(), from.end());
  return make_node(ir::Op::expand, {reshape(std::move(x), padded)}, ir::ShapeAttrs{shape});
}

LazyPtr full_node(Scalar value, DType dtype, const Shape& shape, Device device) {
  return broadcast_to(make_constant(value, dtype, device), shape);
}

}  // namespace kiln::frontend
