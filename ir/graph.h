// The SSA graph: nodes in topological order (a node's inputs always have smaller ids), a list
// of outputs, and graph inputs numbered 0..num_inputs-1 by their InputAttrs.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/ir/attrs.h"
#include "kiln/ir/ops.h"

namespace kiln::ir {

struct TensorType {
  DType dtype = float32;
  Shape shape;
  friend bool operator==(const TensorType&, const TensorType&) = default;
};
// "f32[2, 3]"
std::string to_string(const TensorType& t);

using ValueId = int32_t;

struct Node {
  Op op = Op::input;
  TensorType type;
  absl::InlinedVector<ValueId, 3> inputs;
  Attrs attrs;
};

class Graph {
 public:
  // Appends a node whose result type is inferred from its inputs (infer.h); errors name the op.
  absl::StatusOr<ValueId> add(Op op, absl::Span<const ValueId> inputs, Attrs attrs);
  // Appends the next graph input (its InputAttrs index is the number of inputs so far).
  ValueId add_input(TensorType type);
  ValueId add_constant(Scalar value, DType dtype);
  // Appends a node as given, type included (the parser and passes; the verifier checks it).
  ValueId add_node(Node node);
  // Room for `count` nodes, for a builder that knows about how many it will add.
  void reserve(size_t count) { nodes_.reserve(count); }

  const Node& node(ValueId id) const { return nodes_[static_cast<size_t>(id)]; }
  Node& mutable_node(ValueId id) { return nodes_[static_cast<size_t>(id)]; }
  const std::vector<Node>& nodes() const { return nodes_; }
  int32_t size() const { return static_cast<int32_t>(nodes_.size()); }
  int64_t num_inputs() const { return num_inputs_; }

  const std::vector<ValueId>& outputs() const { return outputs_; }
  void set_outputs(std::vector<ValueId> outputs) { outputs_ = std::move(outputs); }

 private:
  std::vector<Node> nodes_;
  std::vector<ValueId> outputs_;
  int64_t num_inputs_ = 0;
};

// The textual form, one node per line; parse_graph(to_string(g)) gives g back.
//   %0 = input() {index=0} : f32[2, 3]
//   %1 = constant() {value=2} : f32[]
//   %2 = expand(%1) {shape=[2, 3]} : f32[2, 3]
//   %3 = mul(%0, %2) : f32[2, 3]
//   return %3
std::string to_string(const Graph& g);
std::ostream& operator<<(std::ostream& os, const Graph& g);
absl::StatusOr<Graph> parse_graph(std::string_view text);

// Checks topological order, arities, attribute kinds, input numbering, output ids, and that
// every node's declared type equals the inferred one.
absl::Status verify(const Graph& g);

}  // namespace kiln::ir
