// Creation functions. Each takes an optional trailing DType or an Options aggregate.
#pragma once

#include <initializer_list>
#include <type_traits>
#include <vector>

#include "kiln/frontend/tensor.h"

namespace kiln {

namespace frontend {
// Copies `n` host elements of `src_dtype` at `data` into a new tensor of `shape`, converting
// to `options.dtype` when given. The element storage is copied; `data` may go away after.
Tensor tensor_from_host(const void* data, DType src_dtype, const Shape& shape,
                        const Options& options);

template <class T>
constexpr DType dtype_of_element() {
  if constexpr (std::is_same_v<T, bool>) return boolean;
  else if constexpr (std::is_same_v<T, float>) return float32;
  else if constexpr (std::is_same_v<T, double>) return float64;
  else if constexpr (std::is_same_v<T, int8_t>) return int8;
  else if constexpr (std::is_same_v<T, int16_t>) return int16;
  else if constexpr (std::is_same_v<T, int32_t>) return int32;
  else if constexpr (std::is_same_v<T, int64_t>) return int64;
  else if constexpr (std::is_same_v<T, uint8_t>) return uint8;
  else if constexpr (std::is_integral_v<T> && sizeof(T) == 8) return int64;
  else if constexpr (std::is_integral_v<T> && sizeof(T) == 4) return int32;
  else static_assert(sizeof(T) == 0, "unsupported element type");
}

// Literals follow Python: integers are int64, floating values float32, bools bool.
template <class T>
constexpr DType dtype_of_literal() {
  if constexpr (std::is_same_v<T, bool>) return boolean;
  else if constexpr (std::is_floating_point_v<T>) return float32;
  else return int64;
}

// Flattens nested initializer lists into `out`, recording the shape at each depth; throws on
// ragged lists ("expected sequence of length 3 at dim 1 (got 2)").
template <class T>
void flatten_list(const T& value, int depth, Shape& shape, std::vector<double>& floats,
                  std::vector<int64_t>& ints, bool& shape_known);
template <class T>
void flatten_list(std::initializer_list<T> list, int depth, Shape& shape,
                  std::vector<double>& floats, std::vector<int64_t>& ints, bool& shape_known);

Tensor tensor_from_literals(const Shape& shape, const std::vector<double>& floats,
                            const std::vector<int64_t>& ints, DType literal_dtype,
                            const Options& options);
void check_list_length(const Shape& shape, int depth, size_t got);

template <class T>
void flatten_list(const T& value, int, Shape&, std::vector<double>& floats,
                  std::vector<int64_t>& ints, bool&) {
  if constexpr (std::is_floating_point_v<T>) floats.push_back(static_cast<double>(value));
  else ints.push_back(static_cast<int64_t>(value));
}

template <class T>
void flatten_list(std::initializer_list<T> list, int depth, Shape& shape,
                  std::vector<double>& floats, std::vector<int64_t>& ints, bool& shape_known) {
  if (!shape_known) {
    if (static_cast<int>(shape.size()) == depth) shape.push_back(static_cast<int64_t>(list.size()));
  } else {
    check_list_length(shape, depth, list.size());
  }
  for (const T& element : list) {
    flatten_list(element, depth + 1, shape, floats, ints, shape_known);
    shape_known = true;
  }
  if (list.size() == 0) shape_known = true;
}

template <class T>
Tensor tensor_from_nested(std::initializer_list<T> list, DType literal_dtype,
                          const Options& options) {
  Shape shape;
  std::vector<double> floats;
  std::vector<int64_t> ints;
  bool shape_known = false;
  flatten_list(list, 0, shape, floats, ints, shape_known);
  return tensor_from_literals(shape, floats, ints, literal_dtype, options);
}
}  // namespace frontend

// ---- from values ----
Tensor tensor(Scalar value, Options options = {});
Tensor tensor(Scalar value, DType dtype);

template <class T>
Tensor tensor(std::initializer_list<T> values, Options options = {}) {
  return frontend::tensor_from_nested(values, frontend::dtype_of_literal<T>(), options);
}
template <class T>
Tensor tensor(std::initializer_list<T> values, DType dtype) {
  return tensor(values, Options{.dtype = dtype});
}
template <class T>
Tensor tensor(std::initializer_list<std::initializer_list<T>> values, Options options = {}) {
  return frontend::tensor_from_nested(values, frontend::dtype_of_literal<T>(), options);
}
template <class T>
Tensor tensor(std::initializer_list<std::initializer_list<T>> values, DType dtype) {
  return tensor(values, Options{.dtype = dtype});
}
template <class T>
Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<T>>> values,
              Options options = {}) {
  return frontend::tensor_from_nested(values, frontend::dtype_of_literal<T>(), options);
}
template <class T>
Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<T>>> values,
              DType dtype) {
  return tensor(values, Options{.dtype = dtype});
}
template <class T>
Tensor tensor(
    std::initializer_list<std::initializer_list<std::initializer_list<std::initializer_list<T>>>>
        values,
    Options options = {}) {
  return frontend::tensor_from_nested(values, frontend::dtype_of_literal<T>(), options);
}
template <class T>
Tensor tensor(
    std::initializer_list<std::initializer_list<std::initializer_list<std::initializer_list<T>>>>
        values,
    DType dtype) {
  return tensor(values, Options{.dtype = dtype});
}

// Copies the vector, keeping its element type (as torch.tensor(numpy_array) does).
template <class T>
Tensor tensor(const std::vector<T>& values, Options options = {}) {
  constexpr DType source = frontend::dtype_of_element<T>();
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> bytes(values.begin(), values.end());
    return frontend::tensor_from_host(bytes.data(), source,
                                      {static_cast<int64_t>(values.size())}, options);
  } else {
    return frontend::tensor_from_host(values.data(), source,
                                      {static_cast<int64_t>(values.size())}, options);
  }
}
template <class T>
Tensor tensor(const std::vector<T>& values, DType dtype) {
  return tensor(values, Options{.dtype = dtype});
}

// Wraps caller memory without copying: writes are visible both ways. The memory must outlive
// every tensor that views it.
Tensor from_blob(void* data, const Shape& shape, DType dtype);
Tensor from_blob(void* data, const Shape& shape, const Shape& strides, DType dtype);

// ---- filled ----
Tensor empty(const Shape& shape, Options options = {});
Tensor empty(const Shape& shape, DType dtype);
Tensor zeros(const Shape& shape, Options options = {});
Tensor zeros(const Shape& shape, DType dtype);
Tensor ones(const Shape& shape, Options options = {});
Tensor ones(const Shape& shape, DType dtype);
Tensor full(const Shape& shape, Scalar value, Options options = {});
Tensor full(const Shape& shape, Scalar value, DType dtype);
Tensor empty_like(const Tensor& t, Options options = {});
Tensor empty_like(const Tensor& t, DType dtype);
Tensor zeros_like(const Tensor& t, Options options = {});
Tensor zeros_like(const Tensor& t, DType dtype);
Tensor ones_like(const Tensor& t, Options options = {});
Tensor ones_like(const Tensor& t, DType dtype);
Tensor full_like(const Tensor& t, Scalar value, Options options = {});
Tensor full_like(const Tensor& t, Scalar value, DType dtype);
Tensor eye(int64_t n, Options options = {});
Tensor eye(int64_t n, DType dtype);

// ---- ranges ----
Tensor arange(Scalar end, Options options = {});
Tensor arange(Scalar end, DType dtype);
Tensor arange(Scalar start, Scalar end, Options options = {});
Tensor arange(Scalar start, Scalar end, DType dtype);
Tensor arange(Scalar start, Scalar end, Scalar step, Options options = {});
Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype);
Tensor linspace(Scalar start, Scalar end, int64_t steps, Options options = {});
Tensor linspace(Scalar start, Scalar end, int64_t steps, DType dtype);

// ---- random (the CPU generator reproduces PyTorch's stream; with .device = cuda:N the
// device's Philox generator reproduces PyTorch's CUDA stream, see frontend/cuda_random.h) ----
Tensor rand(const Shape& shape, Options options = {});
Tensor rand(const Shape& shape, DType dtype);
Tensor randn(const Shape& shape, Options options = {});
Tensor randn(const Shape& shape, DType dtype);
Tensor randint(int64_t low, int64_t high, const Shape& shape, Options options = {});
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype);
Tensor randint(int64_t high, const Shape& shape, Options options = {});
Tensor randint(int64_t high, const Shape& shape, DType dtype);
// A random permutation of 0..n-1 (int64 unless options say otherwise), torch.randperm's CPU
// numbers (drawn on the CPU generator also for .device = cuda, then copied).
Tensor randperm(int64_t n, Options options = {});
// On t's device unless options say otherwise.
Tensor rand_like(const Tensor& t, Options options = {});
Tensor randn_like(const Tensor& t, Options options = {});
// Seeds the CPU generator and every CUDA device's generator (offset back to 0).
void manual_seed(uint64_t seed);
uint64_t initial_seed();

}  // namespace kiln
