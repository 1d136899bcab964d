// kiln::Tensor: the user's handle. Copies share one tensor; assignment rebinds the handle;
// every method is const (in-place ones write through the handle, never rebind it).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include "absl/types/span.h"
#include "kiln/ir/dtype.h"
#include "kiln/ir/scalar.h"
#include "kiln/ir/shape.h"
#include "kiln/runtime/device.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"  // Half, BFloat16: item<T>, data_ptr<T>, tolist<T>

namespace kiln {

namespace frontend {
struct TensorImpl;
}
class TensorIndex;

// Creation options: zeros({2, 3}, {.dtype = float64, .device = cuda, .requires_grad = true}).
// An unset device means cpu, except for the *_like functions, which take the tensor's device
// (as PyTorch's).
struct Options {
  std::optional<DType> dtype;
  std::optional<Device> device;
  bool requires_grad = false;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false
  explicit Tensor(std::shared_ptr<frontend::TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- queries ----
  bool defined() const { return impl_ != nullptr; }
  int64_t dim() const;
  int64_t size(int64_t d) const;
  const Shape& sizes() const;
  const Shape& strides() const;
  int64_t stride(int64_t d) const;
  int64_t storage_offset() const;
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  bool is_floating_point() const;
  // The single element (error unless numel() == 1), converted to T.
  template <class T>
  T item() const;
  // Realizes the tensor; pointer to its first element (CPU only; T must match dtype()).
  template <class T>
  T* data_ptr() const;
  // All elements in row-major order, converted to T.
  template <class T>
  std::vector<T> tolist() const;

  // ---- autograd (frontend/autograd/) ----
  // Marks a floating-point leaf as requiring grad (throws for other dtypes); returns *this.
  const Tensor& requires_grad_(bool requires_grad = true) const;
  bool requires_grad() const;
  bool is_leaf() const;  // no history: created by the user, or computed without grad
  // Accumulates d(this)/d(leaf) * gradient into every leaf's grad(). Without `gradient`, this
  // must have one element (the gradient is 1).
  void backward(const Tensor& gradient = Tensor(), bool create_graph = false) const;
  Tensor grad() const;    // undefined until a backward pass reaches this tensor
  Tensor detach() const;  // the same storage, without history
  Tensor data() const;    // as detach()
  // Rebinds this tensor (every copy of this handle) to `data`'s elements; other aliases of the
  // old elements keep them (Python's `x.data = ...`).
  void set_data(const Tensor& data) const;
  void retain_grad() const;  // a non-leaf keeps its grad() after backward

  // ---- conversion ----
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor cuda() const { return to(kiln::cuda); }
  Tensor cpu() const { return to(kiln::cpu); }
  Tensor contiguous() const;
  Tensor clone() const;

  // ---- math (also free functions) ----
  Tensor add(const Tensor& other) const;
  Tensor add(Scalar other) const;
  Tensor sub(const Tensor& other) const;
  Tensor sub(Scalar other) const;
  Tensor mul(const Tensor& other) const;
  Tensor mul(Scalar other) const;
  Tensor div(const Tensor& other) const;
  Tensor div(Scalar other) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor pow(Scalar exponent) const;
  Tensor maximum(const Tensor& other) const;
  Tensor minimum(const Tensor& other) const;
  Tensor neg() const;
  Tensor abs() const;
  Tensor sign() const;
  Tensor sqrt() const;
  Tensor rsqrt() const;
  Tensor reciprocal() const;
  Tensor exp() const;
  Tensor expm1() const;
  Tensor log() const;
  Tensor log2() const;
  Tensor log10() const;
  Tensor log1p() const;
  Tensor sin() const;
  Tensor cos() const;
  Tensor tan() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor erf() const;
  Tensor floor() const;
  Tensor ceil() const;
  Tensor round() const;
  Tensor trunc() const;
  Tensor square() const;
  Tensor logical_not() const;
  Tensor logical_and(const Tensor& other) const;
  Tensor logical_or(const Tensor& other) const;
  Tensor clamp(std::optional<Scalar> min, std::optional<Scalar> max = std::nullopt) const;
  Tensor matmul(const Tensor& other) const;
  Tensor mm(const Tensor& other) const;
  Tensor eq(const Tensor& other) const;
  Tensor eq(Scalar other) const;
  Tensor ne(const Tensor& other) const;
  Tensor ne(Scalar other) const;
  Tensor lt(const Tensor& other) const;
  Tensor lt(Scalar other) const;
  Tensor le(const Tensor& other) const;
  Tensor le(Scalar other) const;
  Tensor gt(const Tensor& other) const;
  Tensor gt(Scalar other) const;
  Tensor ge(const Tensor& other) const;
  Tensor ge(Scalar other) const;

  // ---- in-place (an op whose result type cannot be cast to dtype() throws) ----
  const Tensor& add_(const Tensor& other) const;
  const Tensor& add_(Scalar other) const;
  const Tensor& sub_(const Tensor& other) const;
  const Tensor& sub_(Scalar other) const;
  const Tensor& mul_(const Tensor& other) const;
  const Tensor& mul_(Scalar other) const;
  const Tensor& div_(const Tensor& other) const;
  const Tensor& div_(Scalar other) const;
  const Tensor& pow_(const Tensor& exponent) const;
  const Tensor& pow_(Scalar exponent) const;
  const Tensor& neg_() const;
  const Tensor& zero_() const;
  const Tensor& fill_(Scalar value) const;
  const Tensor& copy_(const Tensor& src) const;
  const Tensor& operator+=(const Tensor& other) const { return add_(other); }
  const Tensor& operator+=(Scalar other) const { return add_(other); }
  const Tensor& operator-=(const Tensor& other) const { return sub_(other); }
  const Tensor& operator-=(Scalar other) const { return sub_(other); }
  const Tensor& operator*=(const Tensor& other) const { return mul_(other); }
  const Tensor& operator*=(Scalar other) const { return mul_(other); }
  const Tensor& operator/=(const Tensor& other) const { return div_(other); }
  const Tensor& operator/=(Scalar other) const { return div_(other); }

  // ---- reductions ----
  Tensor sum() const;
  Tensor sum(int64_t dim, bool keepdim = false) const;
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  Tensor prod() const;
  Tensor prod(int64_t dim, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(int64_t dim, bool keepdim = false) const;
  Tensor mean(const Shape& dims, bool keepdim = false) const;
  Tensor max() const;
  std::tuple<Tensor, Tensor> max(int64_t dim, bool keepdim = false) const;  // values, indices
  Tensor min() const;
  std::tuple<Tensor, Tensor> min(int64_t dim, bool keepdim = false) const;
  Tensor amax(const Shape& dims, bool keepdim = false) const;
  Tensor amin(const Shape& dims, bool keepdim = false) const;
  Tensor argmax() const;
  Tensor argmax(int64_t dim, bool keepdim = false) const;
  Tensor argmin() const;
  Tensor argmin(int64_t dim, bool keepdim = false) const;
  // Sample statistics with Bessel's correction by default (correction = 1), as torch.std.
  Tensor std() const;
  Tensor std(int64_t dim, bool keepdim = false, int64_t correction = 1) const;
  Tensor var() const;
  Tensor var(int64_t dim, bool keepdim = false, int64_t correction = 1) const;
  Tensor all() const;
  Tensor all(int64_t dim, bool keepdim = false) const;
  Tensor any() const;
  Tensor any(int64_t dim, bool keepdim = false) const;

  // ---- shape (views share storage) ----
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;
  Tensor permute(const Shape& dims) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor expand(const Shape& sizes) const;
  Tensor expand_as(const Tensor& other) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;

  // ---- indexing ----
  Tensor operator[](int64_t index) const;
  // Coordinates of the nonzero elements: int64 [count, dim()].
  Tensor nonzero() const;
  Tensor index(absl::Span<const TensorIndex> indices) const;
  const Tensor& index_put_(absl::Span<const TensorIndex> indices, const Tensor& value) const;
  const Tensor& index_put_(absl::Span<const TensorIndex> indices, Scalar value) const;

  const std::shared_ptr<frontend::TensorImpl>& impl() const { return impl_; }

 private:
  std::shared_ptr<frontend::TensorImpl> impl_;
};

// ---- free functions ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, Scalar b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, Scalar b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, Scalar b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, Scalar b);
Tensor pow(const Tensor& a, const Tensor& exponent);
Tensor pow(const Tensor& a, Scalar exponent);
Tensor pow(Scalar base, const Tensor& exponent);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, Scalar b);
Tensor where(const Tensor& condition, Scalar a, const Tensor& b);
Tensor where(const Tensor& condition, Scalar a, Scalar b);
Tensor neg(const Tensor& t);
Tensor abs(const Tensor& t);
Tensor sqrt(const Tensor& t);
Tensor exp(const Tensor& t);
Tensor log(const Tensor& t);
Tensor log2(const Tensor& t);
Tensor log10(const Tensor& t);
Tensor sin(const Tensor& t);
Tensor cos(const Tensor& t);
Tensor tanh(const Tensor& t);
Tensor sigmoid(const Tensor& t);
Tensor relu(const Tensor& t);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1);
Tensor permute(const Tensor& t, const Shape& dims);
Tensor reshape(const Tensor& t, const Shape& shape);
Tensor squeeze(const Tensor& t);
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
bool equal(const Tensor& a, const Tensor& b);
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);
Tensor isclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

// Computes every pending value of these tensors now (errors surface here at the latest).
void eval(const std::vector<Tensor>& tensors);
// eval(a, b, ...) without copying the handles into a vector (eager code calls it after
// every op).
void eval_each(std::initializer_list<const Tensor*> tensors);
template <class... Ts>
void eval(const Tensor& first, const Ts&... rest) {
  eval_each({&first, &rest...});
}

// ---- operators ----
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, Scalar b);
Tensor operator+(Scalar a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, Scalar b);
Tensor operator-(Scalar a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, Scalar b);
Tensor operator*(Scalar a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, Scalar b);
Tensor operator/(Scalar a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, Scalar b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, Scalar b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, Scalar b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, Scalar b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, Scalar b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, Scalar b);
Tensor operator!(const Tensor& a);  // logical_not
Tensor operator~(const Tensor& a);  // logical_not for bool tensors

std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace kiln
