// Index expressions for Tensor::index and index_put_: integers, Slice, None (new axis),
// Ellipsis, integer tensors (advanced indexing) and boolean masks, as in PyTorch/NumPy.
#pragma once

#include <optional>
#include <variant>

#include "kiln/frontend/tensor.h"

namespace kiln {

struct NoneType {
  constexpr NoneType() = default;
};
inline constexpr NoneType None{};
struct EllipsisType {
  constexpr EllipsisType() = default;
};
inline constexpr EllipsisType Ellipsis{};

// One end or the step of a slice: an integer or None.
class SliceBound {
 public:
  SliceBound(NoneType) {}  // NOLINT(google-explicit-constructor)
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  SliceBound(T v) : value_(static_cast<int64_t>(v)) {}  // NOLINT(google-explicit-constructor)
  const std::optional<int64_t>& value() const { return value_; }

 private:
  std::optional<int64_t> value_;
};

class Slice {
 public:
  Slice(SliceBound start = None, SliceBound stop = None, SliceBound step = None)
      : start_(start.value()), stop_(stop.value()), step_(step.value()) {}
  const std::optional<int64_t>& start() const { return start_; }
  const std::optional<int64_t>& stop() const { return stop_; }
  const std::optional<int64_t>& step() const { return step_; }

 private:
  std::optional<int64_t> start_, stop_, step_;
};

class TensorIndex {
 public:
  TensorIndex(NoneType) : value_(NoneType{}) {}          // NOLINT(google-explicit-constructor)
  TensorIndex(EllipsisType) : value_(EllipsisType{}) {}  // NOLINT(google-explicit-constructor)
  TensorIndex(Slice s) : value_(s) {}                    // NOLINT(google-explicit-constructor)
  TensorIndex(Tensor t) : value_(std::move(t)) {}        // NOLINT(google-explicit-constructor)
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  TensorIndex(T i) : value_(static_cast<int64_t>(i)) {}  // NOLINT(google-explicit-constructor)

  bool is_integer() const { return std::holds_alternative<int64_t>(value_); }
  bool is_slice() const { return std::holds_alternative<Slice>(value_); }
  bool is_none() const { return std::holds_alternative<NoneType>(value_); }
  bool is_ellipsis() const { return std::holds_alternative<EllipsisType>(value_); }
  bool is_tensor() const { return std::holds_alternative<Tensor>(value_); }
  int64_t integer() const { return std::get<int64_t>(value_); }
  const Slice& slice() const { return std::get<Slice>(value_); }
  const Tensor& tensor() const { return std::get<Tensor>(value_); }

 private:
  std::variant<int64_t, Slice, NoneType, EllipsisType, Tensor> value_;
};

}  // namespace kiln
