#include "kiln/passes/fusion.h"

#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/libm_ops.h"

namespace kiln::passes {

using ir::Op;

bool is_library_op(Op op) {
  switch (op) {
    case Op::matmul:
    case Op::index:
    case Op::index_put:
    case Op::cat:
    case Op::as_strided_scatter:
      return true;
    default:
      return false;
  }
}

bool is_unit_dim_reshape(const Shape& from, const Shape& to) {
  Shape a, b;
  for (int64_t s : from)
    if (s != 1) a.push_back(s);
  for (int64_t s : to)
    if (s != 1) b.push_back(s);
  return a == b;
}

bool is_constant_view(const ir::Graph& g, ir::ValueId id) {
  while (true) {
    const ir::Node& n = g.node(id);
    if (n.op == Op::constant) return true;
    if (!ir::has_trait(n.op, ir::kMovement) || n.op == Op::cat) return false;
    id = n.inputs[0];
  }
}

ir::ValueId strided_view_base(const ir::Graph& g, ir::ValueId id) {
  while (true) {
    const ir::Node& n = g.node(id);
    if (!ir::has_trait(n.op, ir::kMovement) || n.op == Op::cat) return id;
    id = n.inputs[0];
  }
}

namespace {

// A view or cast chain ending at an input or constant: cheaper to recompute per consumer than
// to store (it is a load with different strides, or a broadcast scalar).
bool is_cheap(const ir::Graph& g, ir::ValueId id) {
  while (true) {
    const ir::Node& n = g.node(id);
    if (n.op == Op::input || n.op == Op::constant) return true;
    if (!ir::has_trait(n.op, ir::kMovement) && n.op != Op::cast) return false;
    if (n.op == Op::cat) return false;
    id = n.inputs[0];
  }
}

// The work of computing an elementwise value inside each of its consumers instead of once
// into a buffer: its ops down to buffers and constants, a transcendental function counting as
// several. Shared subexpressions count once per path (an upper bound).
int op_weight(Op op) {
  if (ir::is_libm_op(op)) return 4;
  return ir::has_trait(op, ir::kMovement) ? 0 : 1;
}

// Extra work allowed when a value is recomputed by its consumers rather than stored: a buffer
// costs a store and a load per consumer of every element, and a kernel launch, which is worth
// a few dozen vector ops per element on a CPU whose kernels are memory bound.
constexpr int kMaxRecomputeWork = 32;

// A movement op whose index arithmetic cannot be followed through a computed operand.
bool needs_materialized_operand(const ir::Graph& g, const ir::Node& n) {
  if (n.op == Op::as_strided) return true;
  if (n.op == Op::reshape)
    return !is_unit_dim_reshape(g.node(n.inputs[0]).type.shape, n.type.shape);
  return false;
}

}  // namespace

FusionPlan plan_fusion(const ir::Graph& g) {
  const int32_t n = g.size();
  FusionPlan plan;
  plan.materialized.assign(static_cast<size_t>(n), false);
  plan.reasons.assign(static_cast<size_t>(n), "fused into its consumer");
  std::vector<int32_t> uses(static_cast<size_t>(n), 0);
  // Values that a user regrouping dims needs in a buffer anyway (the movement sweep below
  // materializes them): computing those once is free.
  std::vector<bool> regrouped(static_cast<size_t>(n), false);
  for (const ir::Node& node : g.nodes()) {
    for (ir::ValueId in : node.inputs) ++uses[in];
    if (ir::has_trait(node.op, ir::kMovement) && node.op != Op::cat &&
        needs_materialized_operand(g, node))
      regrouped[node.inputs[0]] = true;
  }

  // Constants are inlined wherever they are read; only a graph output needs one in a buffer.
  auto materialize = [&](ir::ValueId id, std::string reason, bool even_constant = false) {
    const Op op = g.node(id).op;
    if ((op == Op::constant && !even_constant) || plan.materialized[id]) return;
    plan.materialized[id] = true;
    plan.reasons[id] = std::move(reason);
  };

  for (ir::ValueId out : g.outputs()) materialize(out, "graph output", true);
  // cost[id]: the work of recomputing a fused elementwise value (op_weight).
  std::vector<int> cost(static_cast<size_t>(n), 0);
  auto fused_cost = [&](ir::ValueId id) {
    const ir::Node& node = g.node(id);
    int c = op_weight(node.op);
    for (ir::ValueId in : node.inputs)
      if (!plan.materialized[in]) c += cost[in];
    return c;
  };
  for (ir::ValueId id = 0; id < n; ++id) {
    const ir::Node& node = g.node(id);
    if (node.op == Op::constant) {
      if (!plan.materialized[id]) plan.reasons[id] = "constant, inlined";
    } else if (node.op == Op::input) {
      materialize(id, "graph input");
    } else if (node.op == Op::matmul) {
      materialize(id, "matmul runs as a library routine");
      for (ir::ValueId in : node.inputs) {
        const ir::ValueId base = strided_view_base(g, in);
        if (base == in) {
          materialize(
              in, absl::StrCat("operand of matmul %", id,
                               " (its packing reads buffers: a fused producer would be recomputed "
                               "for every block of columns)"));
        } else {
          materialize(base, absl::StrCat("read in place by matmul %", id, " through views (%", in,
                                         " is strides over this buffer)"));
        }
      }
    } else if (is_library_op(node.op)) {
      materialize(id, absl::StrCat(sv(op_name(node.op)), " runs as a library routine"));
      for (ir::ValueId in : node.inputs)
        materialize(in, absl::StrCat("operand of ", sv(op_name(node.op)), " %", id));
    } else if (ir::has_trait(node.op, ir::kReduction)) {
      materialize(id, "reduction result");
    } else if (uses[id] > 1 && !is_cheap(g, id) && !plan.materialized[id]) {
      const int c = fused_cost(id);
      if (c * (uses[id] - 1) > kMaxRecomputeWork || regrouped[id]) {
        materialize(id, absl::StrCat("used by ", uses[id], " consumers: computed once"));
      } else {
        plan.reasons[id] =
            absl::StrCat("used by ", uses[id], " consumers: recomputed in each (work ", c, ")");
      }
    }
    if (!plan.materialized[id] &&
        (ir::has_trait(node.op, ir::kElementwise) || ir::has_trait(node.op, ir::kMovement)))
      cost[id] = fused_cost(id);
  }
  // Consumers come after producers, so one backward sweep settles the movement constraints:
  // materializing more only turns computed operands into buffers, which never adds a constraint.
  for (ir::ValueId id = n - 1; id >= 0; --id) {
    const ir::Node& node = g.node(id);
    if (!ir::has_trait(node.op, ir::kMovement) || node.op == Op::cat) continue;
    if (!needs_materialized_operand(g, node)) continue;
    const ir::ValueId in = node.inputs[0];
    if (is_constant_view(g, in)) continue;
    materialize(in, absl::StrCat(sv(op_name(node.op)), " %", id,
                                 " regroups its dims: index arithmetic needs a buffer"));
  }
  return plan;
}

}  // namespace kiln::passes
