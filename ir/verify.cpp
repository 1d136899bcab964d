// The verifier: the structural and type rules every pass must preserve. It runs between passes
// (pass manager) and on parsed text, so it must reject anything, however malformed, without
// crashing: each check guards the ones after it (operand ids before their types are read).
#include <limits>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/graph.h"
#include "kiln/ir/infer.h"

namespace kiln::ir {
namespace {

// "node %3: add: <what>", the op spelled like infer_type's own errors.
absl::Status node_error(ValueId id, Op op, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("node %", id, ": ", sv(op_name(op)), ": ", sv(what)));
}

// Sizes are non-negative and their product fits int64, so later size arithmetic cannot overflow.
bool valid_shape(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return false;
    if (__builtin_mul_overflow(n, d, &n)) return false;
  }
  return true;
}

absl::Status verify_node(const Graph& g, ValueId id, int64_t& inputs_seen) {
  const Node& n = g.node(id);
  if (static_cast<int>(n.op) >= kNumOps)
    return absl::InvalidArgumentError(absl::StrCat("node %", id, ": invalid op"));
  if (!attrs_match(n.op, n.attrs)) return node_error(id, n.op, "wrong attribute kind");
  const int arity = op_arity(n.op);
  if (arity != kVariadic && static_cast<int>(n.inputs.size()) != arity)
    return node_error(id, n.op,
                      absl::StrCat("expects ", arity, " operands, got ", n.inputs.size()));
  for (ValueId in : n.inputs)
    if (in < 0 || in >= id)
      return node_error(id, n.op, absl::StrCat("operand %", in, " is not defined before its use"));
  if (!valid_shape(n.type.shape))
    return node_error(id, n.op, absl::StrCat("invalid shape in type ", to_string(n.type)));

  if (n.op == Op::input) {
    const int64_t index = std::get<InputAttrs>(n.attrs).index;
    if (index != inputs_seen)
      return node_error(id, n.op,
                        absl::StrCat("index ", index, " out of order, expected ", inputs_seen));
    ++inputs_seen;
    return absl::OkStatus();
  }
  if (n.op == Op::constant) {
    if (!n.type.shape.empty())
      return node_error(id, n.op, absl::StrCat("constants are 0-d, got ", to_string(n.type)));
    return absl::OkStatus();
  }

  absl::InlinedVector<TensorType, 3> types;
  types.reserve(n.inputs.size());
  for (ValueId in : n.inputs) types.push_back(g.node(in).type);
  auto inferred = infer_type(n.op, n.attrs, types);
  if (!inferred.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("node %", id, ": ", inferred.status().message()));
  if (*inferred != n.type)
    return node_error(id, n.op,
                      absl::StrCat("declared type ", to_string(n.type),
                                   " differs from the inferred ", to_string(*inferred)));
  return absl::OkStatus();
}

}  // namespace

absl::Status verify(const Graph& g) {
  int64_t inputs_seen = 0;
  for (ValueId id = 0; id < g.size(); ++id)
    if (auto s = verify_node(g, id, inputs_seen); !s.ok()) return s;
  if (inputs_seen != g.num_inputs())
    return absl::InvalidArgumentError(
        absl::StrCat("graph counts ", g.num_inputs(), " inputs but holds ", inputs_seen));
  for (size_t i = 0; i < g.outputs().size(); ++i) {
    const ValueId out = g.outputs()[i];
    if (out < 0 || out >= g.size())
      return absl::InvalidArgumentError(
          absl::StrCat("output ", i, " refers to %", out, ", which is not a node"));
  }
  return absl::OkStatus();
}

}  // namespace kiln::ir
