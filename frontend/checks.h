// Validation shared by the ops: everything here throws kiln::Error with PyTorch's wording, at
// the user's call.
#pragma once

#include <initializer_list>
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
// A CPU 0-d tensor used with tensors on `device` (PyTorch lets such a tensor mix with CUDA
// tensors in elementwise ops, as a scalar): the tensor moved there; others unchanged.
Tensor cpu_scalar_to(const Tensor& t, Device device);
// The device an op over `tensors` runs on: the first one's that is not a CPU 0-d tensor (those
// act as scalars), else the first one's. Mismatches among the others are left to
// check_same_device after cpu_scalar_to.
Device op_device(std::initializer_list<const Tensor*> tensors);

// Creation options (creation.cpp). The device a tensor made with `options` lives on:
// options.device, else the default device (set_default_device).
Device target_device(const Options& options);
// Throws when the target device is a CUDA device and CUDA is unavailable.
void check_options(const Options& options);
// `t` moved to the target device, with requires_grad set when the options ask for it.
Tensor with_grad_option(Tensor t, const Options& options);
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
