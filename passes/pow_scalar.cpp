#include "kiln/passes/pow_scalar.h"

#include <optional>
#include <utility>
#include <vector>

#include "kiln/passes/constant_fold.h"

namespace kiln::passes {
namespace {

using ir::Op;
using ir::ValueId;

// The exponent of a pow node that PyTorch computes without pow, if this node is one.
std::optional<double> shortcut_exponent(const ir::Graph& g, const SplatValues& splats,
                                        const ir::Node& n) {
  if (n.op != Op::pow || !is_floating_point(n.type.dtype)) return std::nullopt;
  const std::optional<Scalar>& c = splats[n.inputs[1]];
  if (!c || g.node(n.inputs[0]).type != n.type) return std::nullopt;
  const double e = c->to_double();
  if (e == 1.0) return e;  // a copy in PyTorch, for every dtype (float16 too)
  if (n.type.dtype == float16) return std::nullopt;
  if (e == 2.0 || e == 3.0 || e == -1.0 || e == -2.0 || e == 0.5 || e == -0.5) return e;
  return std::nullopt;
}

// Appends PyTorch's arithmetic for x^e (e from shortcut_exponent) and returns its id.
ValueId add_shortcut(ir::Graph& out, ValueId x, double e, const ir::TensorType& type) {
  if (e == 1.0) return x;
  auto node = [&](Op op, absl::InlinedVector<ValueId, 3> inputs) {
    return out.add_node(ir::Node{op, type, std::move(inputs), ir::NoAttrs{}});
  };
  if (e == 0.5) return node(Op::sqrt, {x});
  if (e == -0.5) return node(Op::rsqrt, {x});
  if (e == -1.0) return node(Op::reciprocal, {x});
  const ValueId square = node(Op::mul, {x, x});
  if (e == 2.0) return square;
  if (e == 3.0) return node(Op::mul, {square, x});
  return node(Op::reciprocal, {square});  // -2
}

}  // namespace

bool PowScalarPass::run(ir::Graph& g) {
  SplatValues splats;
  splats.update(g);
  const ValueId n = g.size();
  std::vector<std::optional<double>> exponent(static_cast<size_t>(n));
  bool any = false;
  for (ValueId id = 0; id < n; ++id) {
    exponent[static_cast<size_t>(id)] = shortcut_exponent(g, splats, g.node(id));
    any |= exponent[static_cast<size_t>(id)].has_value();
  }
  if (!any) return false;
  // Rebuilt in order: a replacement's nodes go where the pow was, so every use still follows
  // its definition.
  ir::Graph out;
  std::vector<ValueId> new_id(static_cast<size_t>(n));
  for (ValueId id = 0; id < n; ++id) {
    ir::Node node = std::move(g.mutable_node(id));
    for (ValueId& in : node.inputs) in = new_id[static_cast<size_t>(in)];
    const std::optional<double>& e = exponent[static_cast<size_t>(id)];
    new_id[static_cast<size_t>(id)] =
        e ? add_shortcut(out, node.inputs[0], *e, node.type) : out.add_node(std::move(node));
  }
  std::vector<ValueId> outputs = g.outputs();
  for (ValueId& o : outputs) o = new_id[static_cast<size_t>(o)];
  out.set_outputs(std::move(outputs));
  g = std::move(out);
  return true;
}

}  // namespace kiln::passes
