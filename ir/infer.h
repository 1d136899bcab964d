// Result type (dtype and shape) of every op from its inputs' types and attributes. This is the
// IR's contract: the verifier, the graph builder and the backends all rely on it.
#pragma once

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kiln/ir/graph.h"

namespace kiln::ir {

// Leaf ops (input, constant) have declared types and are rejected here.
absl::StatusOr<TensorType> infer_type(Op op, const Attrs& attrs,
                                      absl::Span<const TensorType> inputs);

}  // namespace kiln::ir
