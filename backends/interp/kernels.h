// Private to the interpreter: one kernel per op family. The dispatcher (interpreter.cpp) owns
// buffers; a kernel reads its operands' dense row-major bytes and writes every element of the
// node's result into `out`, which holds numel(node.type.shape) elements of node.type.dtype.
// Kernels may assume the node's type is the one ir::infer_type gives (the dispatcher checks).
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "kiln/ir/graph.h"

namespace kiln::backends::interp {

struct Operand {
  const ir::TensorType* type;
  const std::byte* data;

  int64_t numel() const { return kiln::numel(type->shape); }
};

using Operands = absl::Span<const Operand>;

// elementwise.cpp
void eval_constant(const ir::Node& node, std::byte* out);
void eval_cast(const ir::Node& node, Operands in, std::byte* out);
void eval_unary(const ir::Node& node, Operands in, std::byte* out);
// binary.cpp
void eval_binary(const ir::Node& node, Operands in, std::byte* out);
void eval_where(const ir::Node& node, Operands in, std::byte* out);
// reduce.cpp
void eval_reduce(const ir::Node& node, Operands in, std::byte* out);
// movement.cpp
void eval_permute(const ir::Node& node, Operands in, std::byte* out);
void eval_expand(const ir::Node& node, Operands in, std::byte* out);
void eval_slice(const ir::Node& node, Operands in, std::byte* out);
void eval_as_strided(const ir::Node& node, Operands in, std::byte* out);
void eval_as_strided_scatter(const ir::Node& node, Operands in, std::byte* out);
void eval_cat(const ir::Node& node, Operands in, std::byte* out);
// indexing.cpp
void eval_index(const ir::Node& node, Operands in, std::byte* out);
void eval_index_put(const ir::Node& node, Operands in, std::byte* out);
// matmul.cpp
void eval_matmul(const ir::Node& node, Operands in, std::byte* out);

// Visits the elements of a strided window in row-major order: visit(i, offset) gets the
// element's row-major number i among numel(sizes) and its flat offset
// `start + sum(index_d * strides[d])`. Iterative (an odometer over the dims), so rank and size
// never touch the call stack; visits nothing when any size is 0.
template <class Visit>
void for_each_strided(const Shape& sizes, const Shape& strides, int64_t start, Visit&& visit) {
  const int64_t count = kiln::numel(sizes);
  if (count == 0) return;
  const size_t rank = sizes.size();
  Shape index(rank, 0);
  int64_t offset = start;
  for (int64_t i = 0; i < count; ++i) {
    visit(i, offset);
    for (size_t d = rank; d-- > 0;) {
      offset += strides[d];
      if (++index[d] < sizes[d]) break;
      offset -= strides[d] * sizes[d];
      index[d] = 0;
    }
  }
}

}  // namespace kiln::backends::interp
