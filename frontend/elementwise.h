// Elementwise op builders shared by the tensor methods, operators and in-place ops.
#pragma once

#include "kiln/frontend/lazy.h"
#include "kiln/frontend/tensor.h"

namespace kiln::frontend {

// An operand of a binary op: a tensor or a Python-like scalar.
class Operand {
 public:
  Operand(const Tensor& t) : tensor_(&t) {}  // NOLINT(google-explicit-constructor)
  Operand(Scalar s) : scalar_(s) {}          // NOLINT(google-explicit-constructor)
  bool is_tensor() const { return tensor_ != nullptr; }
  const Tensor& tensor() const { return *tensor_; }
  const Scalar& scalar() const { return scalar_; }

 private:
  const Tensor* tensor_ = nullptr;
  Scalar scalar_ = 0;
};

// The lazy value of a binary op: dtype promotion and broadcasting as PyTorch does them.
// `self_shape`/`self_dtype` (in-place) fix the result's shape and storage dtype.
struct BinaryResult {
  LazyPtr value;
  DType dtype;
};
BinaryResult binary_value(ir::Op op, const Operand& a, const Operand& b);
Tensor binary(ir::Op op, const Operand& a, const Operand& b);
// a op= b: validates the cast and broadcast rules, then writes into a.
void binary_inplace(ir::Op op, const Tensor& a, const Operand& b);
Tensor unary(ir::Op op, const Tensor& a);

}  // namespace kiln::frontend
