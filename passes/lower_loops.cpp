#include "kiln/passes/lower_loops.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"

namespace kiln::passes {
namespace {

using ir::KernelExpr;
using ir::Op;
using ir::ValueId;

// Where a node coordinate comes from at an iteration point: start + scale * i[iter_dim]
// (iter_dim -1: the constant `start`).
struct DimMap {
  int32_t iter_dim = -1;
  int64_t scale = 0;
  int64_t start = 0;
};
using NodeMap = absl::InlinedVector<DimMap, 6>;

// A value at a placement of its coordinates: the memo key of the expressions built so far.
struct PlacedValue {
  ValueId id;
  NodeMap map;
  friend bool operator==(const PlacedValue& a, const PlacedValue& b) {
    if (a.id != b.id || a.map.size() != b.map.size()) return false;
    for (size_t k = 0; k < a.map.size(); ++k) {
      const DimMap &x = a.map[k], &y = b.map[k];
      if (x.iter_dim != y.iter_dim || x.scale != y.scale || x.start != y.start) return false;
    }
    return true;
  }
  template <typename H>
  friend H AbslHashValue(H h, const PlacedValue& v) {
    h = H::combine(std::move(h), v.id, v.map.size());
    for (const DimMap& d : v.map) h = H::combine(std::move(h), d.iter_dim, d.scale, d.start);
    return h;
  }
};

NodeMap identity_map(int32_t rank) {
  NodeMap m(static_cast<size_t>(rank));
  for (int32_t d = 0; d < rank; ++d) m[d] = DimMap{d, 1, 0};
  return m;
}

// The strides over `rank` iteration dims (and, added to `offset`, the start) of a buffer
// addressed by offset + sum_k weights[k] * coord_k, where `map` places the coordinates.
Shape strides_over(int32_t rank, const Shape& weights, const NodeMap& map, int64_t& offset) {
  Shape strides(static_cast<size_t>(rank), 0);
  for (size_t k = 0; k < map.size(); ++k) {
    offset += weights[k] * map[k].start;
    if (map[k].iter_dim >= 0) strides[map[k].iter_dim] += weights[k] * map[k].scale;
  }
  return strides;
}

// Where each operand of `node` is read when `map` places the node's coordinates.
std::vector<NodeMap> operand_maps(const ir::Graph& g, const ir::Node& node, const NodeMap& map) {
  std::vector<NodeMap> maps;
  switch (node.op) {
    case Op::expand: {
      NodeMap m = map;
      const Shape& from = g.node(node.inputs[0]).type.shape;
      for (size_t k = 0; k < m.size(); ++k)
        if (from[k] == 1 && node.type.shape[k] != 1) m[k] = DimMap{};
      maps.push_back(std::move(m));
      return maps;
    }
    case Op::permute: {
      const Shape& perm = std::get<ir::PermuteAttrs>(node.attrs).perm;
      NodeMap m(map.size());
      for (size_t i = 0; i < perm.size(); ++i) m[perm[i]] = map[i];
      maps.push_back(std::move(m));
      return maps;
    }
    case Op::slice: {
      const auto& a = std::get<ir::SliceAttrs>(node.attrs);
      NodeMap m = map;
      m[a.dim] = DimMap{map[a.dim].iter_dim, map[a.dim].scale * a.step,
                        a.start + a.step * map[a.dim].start};
      maps.push_back(std::move(m));
      return maps;
    }
    case Op::as_strided:
    case Op::reshape: {
      const Shape& from = g.node(node.inputs[0]).type.shape;
      // as_strided and a reshape that regroups dims get here only over a view of a constant
      // (leaf_expr addresses a buffer otherwise): every point reads the one value, so any
      // coordinates of the operand's rank do.
      if (node.op == Op::as_strided || !is_unit_dim_reshape(from, node.type.shape)) {
        maps.emplace_back(from.size());
        return maps;
      }
      // A reshape that only inserts or removes size-1 dims carries each other dim's coordinate.
      NodeMap m(from.size());
      size_t k = 0;
      for (size_t d = 0; d < from.size(); ++d) {
        if (from[d] == 1) continue;
        while (node.type.shape[k] == 1) ++k;
        m[d] = map[k++];
      }
      maps.push_back(std::move(m));
      return maps;
    }
    default:  // elementwise: operands share the node's shape
      maps.assign(node.inputs.size(), map);
      return maps;
  }
}

// Builds one kernel: its args (buffers read or written with their strides) and expressions.
class KernelBuilder {
 public:
  KernelBuilder(const ir::Graph& g, const FusionPlan& plan, ir::ProgramStep& step, int32_t rank)
      : g_(g), plan_(plan), step_(step), rank_(rank) {
    step_.kernel.rank = rank;
  }

  // The expression computing `root` at each point, where `map` places its coordinates. With
  // `define_root`, a materialized root is computed from its operands (it is the kernel's
  // result) instead of loaded.
  int32_t build(ValueId root, const NodeMap& map, bool define_root);

  // Adds an argument over `value`'s buffer addressed by the linear form
  // offset + sum_k weights[k] * coord_k of the coordinates that `map` describes.
  int32_t add_arg(ValueId value, bool is_output, const Shape& weights, int64_t offset,
                  const NodeMap& map) {
    Shape strides = strides_over(rank_, weights, map, offset);
    step_.kernel.args.push_back(ir::KernelArg{g_.node(value).type.dtype, is_output});
    step_.launch.strides.push_back(std::move(strides));
    step_.launch.offsets.push_back(offset);
    step_.arg_values.push_back(value);
    return static_cast<int32_t>(step_.kernel.args.size()) - 1;
  }

 private:
  struct Frame {
    ValueId id;
    NodeMap map;
    std::vector<NodeMap> operand_maps;
    size_t next = 0;
    absl::InlinedVector<int32_t, 3> operand_exprs;
  };

  int32_t add_expr(KernelExpr e) {
    step_.kernel.exprs.push_back(std::move(e));
    return static_cast<int32_t>(step_.kernel.exprs.size()) - 1;
  }
  int32_t load(ValueId value, const Shape& weights, int64_t offset, const NodeMap& map) {
    KernelExpr e;
    e.kind = KernelExpr::Kind::kLoad;
    e.dtype = g_.node(value).type.dtype;
    e.arg = add_arg(value, false, weights, offset, map);
    return add_expr(std::move(e));
  }
  // Expressions that need no operand: loads of buffers and constants. -1 when `id` is computed.
  int32_t leaf_expr(const Frame& f, bool is_root);

  const ir::Graph& g_;
  const FusionPlan& plan_;
  ir::ProgramStep& step_;
  int32_t rank_;
  absl::flat_hash_map<PlacedValue, int32_t> memo_;
};

int32_t KernelBuilder::leaf_expr(const Frame& f, bool is_root) {
  const ir::Node& node = g_.node(f.id);
  if (node.op == Op::constant) {
    KernelExpr e;
    e.kind = KernelExpr::Kind::kConstant;
    e.dtype = node.type.dtype;
    e.constant = std::get<ir::ConstantAttrs>(node.attrs).value;
    return add_expr(std::move(e));
  }
  if (plan_.materialized[f.id] && !is_root)
    return load(f.id, contiguous_strides(node.type.shape), 0, f.map);
  // Views that regroup elements address their (materialized) operand's buffer directly.
  if (node.op == Op::as_strided || node.op == Op::reshape) {
    const ValueId in = node.inputs[0];
    const ir::Node& operand = g_.node(in);
    // A view of a scalar is the scalar (even when the constant, as a graph output, also has a
    // one-element buffer, which the view's strides must not address).
    if (operand.op == Op::constant) return -1;
    if (!plan_.materialized[in]) {
      if (is_constant_view(g_, in)) return -1;  // likewise through views of it
      if (node.op == Op::reshape && is_unit_dim_reshape(operand.type.shape, node.type.shape))
        return -1;
      throw Error(absl::StrCat("internal error: lowering ", sv(op_name(node.op)), " %", f.id,
                               " of a computed value"));
    }
    if (node.op == Op::reshape) return load(in, contiguous_strides(node.type.shape), 0, f.map);
    const auto& a = std::get<ir::StridedAttrs>(node.attrs);
    return load(in, a.strides, a.offset, f.map);
  }
  return -1;
}

int32_t KernelBuilder::build(ValueId root, const NodeMap& root_map, bool define_root) {
  std::vector<Frame> stack;
  stack.push_back(Frame{root, root_map, {}, 0, {}});
  int32_t result = -1;
  bool first_visit = true;
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (first_visit) {
      first_visit = false;
      PlacedValue key{f.id, f.map};
      auto hit = memo_.find(key);
      int32_t expr =
          hit != memo_.end() ? hit->second : leaf_expr(f, define_root && stack.size() == 1);
      if (expr >= 0) {
        memo_.emplace(std::move(key), expr);
        result = expr;
        stack.pop_back();
        if (!stack.empty()) stack.back().operand_exprs.push_back(result);
        continue;
      }
      f.operand_maps = operand_maps(g_, g_.node(f.id), f.map);
    }
    if (f.next < f.operand_maps.size()) {
      const ValueId operand = g_.node(f.id).inputs[f.next];
      NodeMap m = std::move(f.operand_maps[f.next]);
      ++f.next;
      stack.push_back(Frame{operand, std::move(m), {}, 0, {}});
      first_visit = true;
      continue;
    }
    const ir::Node& node = g_.node(f.id);
    if (ir::has_trait(node.op, ir::kMovement)) {
      result = f.operand_exprs[0];  // views only move the point; the value is the operand's
    } else if (ir::has_trait(node.op, ir::kElementwise)) {
      KernelExpr e;
      e.kind = KernelExpr::Kind::kOp;
      e.op = node.op;
      e.dtype = node.type.dtype;
      e.operands = f.operand_exprs;
      result = add_expr(std::move(e));
    } else {
      throw Error(absl::StrCat("internal error: cannot fuse ", sv(op_name(node.op)), " %", f.id));
    }
    memo_.emplace(PlacedValue{f.id, f.map}, result);
    stack.pop_back();
    if (!stack.empty()) stack.back().operand_exprs.push_back(result);
  }
  return result;
}

ir::ProgramStep lower_elementwise(const ir::Graph& g, const FusionPlan& plan, ValueId id) {
  const ir::Node& node = g.node(id);
  const int32_t rank = static_cast<int32_t>(node.type.shape.size());
  ir::ProgramStep step;
  step.kind = ir::ProgramStep::Kind::kKernel;
  step.kernel.kind = ir::LoopKernel::Kind::kElementwise;
  step.launch.sizes = node.type.shape;
  KernelBuilder builder(g, plan, step, rank);
  NodeMap map = identity_map(rank);
  const int32_t expr = builder.build(id, map, true);
  const int32_t out = builder.add_arg(id, true, contiguous_strides(node.type.shape), 0, map);
  step.kernel.stores.emplace_back(out, expr);
  return step;
}

ir::ProgramStep lower_reduction(const ir::Graph& g, const FusionPlan& plan, ValueId id) {
  const ir::Node& node = g.node(id);
  const auto& attrs = std::get<ir::ReduceAttrs>(node.attrs);
  const ValueId in = node.inputs[0];
  const Shape& in_shape = g.node(in).type.shape;
  const int32_t rank = static_cast<int32_t>(in_shape.size());
  // Iteration dims: the kept input dims in order, then the reduced ones. With no axes, or over
  // a 0-d input (which may name axis 0), each output element reduces exactly one element: one
  // reduced iteration dim of size 1. That is not the identity: a float sum adds its elements
  // to 0.0 (so -0.0 sums to +0.0) and argmax/argmin give index 0.
  const bool single = rank == 0 || attrs.axes.empty();
  std::vector<int32_t> order;
  for (int32_t d = 0; d < rank; ++d)
    if (std::find(attrs.axes.begin(), attrs.axes.end(), d) == attrs.axes.end()) order.push_back(d);
  const int32_t kept = static_cast<int32_t>(order.size());
  if (!single)
    for (int64_t d : attrs.axes) order.push_back(static_cast<int32_t>(d));
  ir::ProgramStep step;
  step.kind = ir::ProgramStep::Kind::kKernel;
  step.kernel.kind = ir::LoopKernel::Kind::kReduction;
  step.kernel.reduced_dims = single ? 1 : static_cast<int32_t>(attrs.axes.size());
  step.kernel.reduce_op = node.op;
  KernelBuilder builder(g, plan, step, kept + step.kernel.reduced_dims);
  NodeMap in_map(static_cast<size_t>(rank));
  for (size_t j = 0; j < order.size(); ++j) {
    step.launch.sizes.push_back(in_shape[order[j]]);
    in_map[order[j]] = DimMap{static_cast<int32_t>(j), 1, 0};
  }
  if (single) step.launch.sizes.push_back(1);
  const int32_t expr = builder.build(in, in_map, false);
  // The output is dense in the reduction's shape; kept input dim d lands at output dim
  // (keepdim ? d : its index among the kept dims); reduced dims do not move the output.
  const Shape out_strides = contiguous_strides(node.type.shape);
  NodeMap out_map(node.type.shape.size());
  for (int32_t j = 0; j < kept; ++j) out_map[attrs.keepdim ? order[j] : j] = DimMap{j, 1, 0};
  const int32_t out = builder.add_arg(id, true, out_strides, 0, out_map);
  step.kernel.stores.emplace_back(out, expr);
  return step;
}

// Where a library routine reads operand `id`: the buffer of the first materialized value
// under its views, through the views' strides (or a constant, with all strides 0).
ir::OperandView view_operand(const ir::Graph& g, const FusionPlan& plan, ValueId id) {
  const int32_t rank = static_cast<int32_t>(g.node(id).type.shape.size());
  NodeMap map = identity_map(rank);
  ValueId v = id;
  while (true) {
    const ir::Node& node = g.node(v);
    if (node.op == Op::constant || (!plan.materialized[v] && is_constant_view(g, v))) {
      while (g.node(v).op != Op::constant) v = g.node(v).inputs[0];
      return ir::OperandView{v, Shape(static_cast<size_t>(rank), 0), 0};
    }
    Shape weights;
    int64_t offset = 0;
    ValueId buffer = v;
    if (plan.materialized[v]) {
      weights = contiguous_strides(node.type.shape);
    } else if (node.op == Op::as_strided) {
      const auto& a = std::get<ir::StridedAttrs>(node.attrs);
      weights = a.strides, offset = a.offset, buffer = node.inputs[0];
    } else if (node.op == Op::reshape &&
               !is_unit_dim_reshape(g.node(node.inputs[0]).type.shape, node.type.shape)) {
      weights = contiguous_strides(node.type.shape), buffer = node.inputs[0];
    } else if (ir::has_trait(node.op, ir::kMovement) && node.op != Op::cat) {
      map = operand_maps(g, node, map)[0];
      v = node.inputs[0];
      continue;
    } else {
      throw Error(absl::StrCat("internal error: library operand %", id, " reads computed %", v));
    }
    if (!plan.materialized[buffer])
      throw Error(
          absl::StrCat("internal error: library operand %", id, " views computed %", buffer));
    ir::OperandView view{buffer, {}, offset};
    view.strides = strides_over(rank, weights, map, view.offset);
    return view;
  }
}

ir::ProgramStep lower_library(const ir::Graph& g, const FusionPlan& plan, ValueId id) {
  ir::ProgramStep step;
  step.kind = ir::ProgramStep::Kind::kNode;
  step.node = id;
  for (ValueId in : g.node(id).inputs) step.operands.push_back(view_operand(g, plan, in));
  return step;
}

// The matmul step whose epilogue the elementwise `step` (for value `id`, not yet canonicalized)
// can be: one that computes a value `step` reads point for point (same shape, dense strides),
// while every other value `step` reads is ready before that matmul runs. Null if none.
ir::ProgramStep* epilogue_host(const ir::Graph& g, ir::Program& program, ValueId id,
                               const ir::ProgramStep& step) {
  for (auto it = program.steps.rbegin(); it != program.steps.rend(); ++it) {
    if (it->kind != ir::ProgramStep::Kind::kNode || g.node(it->node).op != Op::matmul) continue;
    if (!it->epilogue.empty()) continue;
    const ValueId m = it->node;
    const ir::TensorType& m_type = g.node(m).type;
    if (m_type.shape != g.node(id).type.shape) continue;
    const Shape dense = contiguous_strides(m_type.shape);
    bool reads_m = false, ok = true;
    for (size_t a = 0; a < step.arg_values.size() && ok; ++a) {
      const ValueId v = step.arg_values[a];
      if (step.kernel.args[a].is_output) {
        ok = v == id;
      } else if (v == m) {
        reads_m = true;
        ok = step.launch.strides[a] == dense && step.launch.offsets[a] == 0;
      } else {
        ok = v < m || g.node(v).op == Op::input;
      }
    }
    if (ok && reads_m) return &*it;
  }
  return nullptr;
}

}  // namespace

ir::Program lower_to_loops(const ir::Graph& g, const FusionPlan& plan) {
  ir::Program program;
  for (ValueId id = 0; id < g.size(); ++id) {
    const ir::Node& node = g.node(id);
    program.decisions.push_back(
        absl::StrCat("%", id, " = ", sv(op_name(node.op)), ": ", plan.reasons[id]));
    if (!plan.materialized[id]) continue;
    program.materialized.push_back(id);
    if (node.op == Op::input) continue;
    if (is_library_op(node.op)) {
      program.steps.push_back(lower_library(g, plan, id));
      continue;
    }
    if (ir::has_trait(node.op, ir::kReduction)) {
      ir::ProgramStep step = lower_reduction(g, plan, id);
      ir::canonicalize_launch(step.kernel, step.launch);
      program.steps.push_back(std::move(step));
      continue;
    }
    ir::ProgramStep step = lower_elementwise(g, plan, id);
    if (ir::ProgramStep* host = epilogue_host(g, program, id, step)) {
      ir::compute_layouts(step.kernel, step.launch);
      absl::StrAppend(&program.decisions.back(), "; runs as the epilogue of matmul %", host->node,
                      ", tile by tile");
      host->epilogue.push_back(std::move(step));
      continue;
    }
    ir::canonicalize_launch(step.kernel, step.launch);
    program.steps.push_back(std::move(step));
  }
  return program;
}

}  // namespace kiln::passes
