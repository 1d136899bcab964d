#include "kiln/ir/graph.h"

#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/infer.h"

namespace kiln::ir {

absl::StatusOr<ValueId> Graph::add(Op op, absl::Span<const ValueId> inputs, Attrs attrs) {
  absl::InlinedVector<TensorType, 3> types;
  for (ValueId v : inputs) {
    if (v < 0 || v >= size())
      return absl::InvalidArgumentError(absl::StrCat(sv(op_name(op)), ": operand %", v, " undefined"));
    types.push_back(node(v).type);
  }
  auto type = infer_type(op, attrs, types);
  if (!type.ok()) return type.status();
  Node n{op, *std::move(type), {inputs.begin(), inputs.end()}, std::move(attrs)};
  return add_node(std::move(n));
}

ValueId Graph::add_input(TensorType type) {
  return add_node(Node{Op::input, std::move(type), {}, InputAttrs{num_inputs_}});
}

ValueId Graph::add_constant(Scalar value, DType dtype) {
  return add_node(Node{Op::constant, TensorType{dtype, {}}, {}, ConstantAttrs{value}});
}

ValueId Graph::add_node(Node node) {
  if (node.op == Op::input) ++num_inputs_;
  nodes_.push_back(std::move(node));
  return size() - 1;
}

}  // namespace kiln::ir
