// Validation shared by the ops: everything here throws kiln::Error with PyTorch's wording, at
// the user's call.
#pragma once

#include <string>
#include <vector>

#include "kiln/frontend/tensor.h"

namespace kiln::frontend {

// Wraps a possibly negative dim into [0, rank); a 0-d tensor accepts -1 and 0.
int64_t wrap_dim(int64_t dim, int64_t rank);
// The broadcast shape of a and b (numpy rules).
Shape broadcast_shapes(const Shape& a, const Shape& b);
// PyTorch's scalar type names for messages: Float, Double, Long, Bool, ...
std::string torch_type_name(DType dtype);
// torch.result_type for tensor/tensor, tensor/scalar operands.
DType result_type(const Tensor& a, const Tensor& b);
DType result_type(const Tensor& a, Scalar b);
// Throws when an in-place op's result type cannot be stored in `self` (float into int...).
void check_inplace_cast(DType result, DType self);
// Throws for devices that differ.
void check_same_device(const Tensor& a, const Tensor& b);
// Throws for in-place writes into a view where several elements share memory (expand).
void check_no_internal_overlap(const Tensor& t);
// PyTorch's memory-overlap rules between an output being written and an input it reads
// (at::get_overlap_status): views of one storage covering the same bytes with the same
// strides overlap fully; covering intersecting ranges, partially; a non-dense view is too
// hard to tell and passes. Element-wise in-place ops and copy_ refuse partial overlap;
// index_put_ refuses any overlap of self with its values.
void check_no_partial_overlap(const Tensor& out, const Tensor& in);
void check_no_overlap(const Tensor& out, const Tensor& in);

}  // namespace kiln::frontend
