#include "kiln/frontend/cuda_random.h"

#include "absl/strings/str_cat.h"
#include "kiln/backends/cuda/random_kernels.h"
#include "kiln/frontend/lazy.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/runtime/buffer.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"
#include "kiln/runtime/random.h"

namespace kiln::frontend {
namespace {

using backends::cuda::RandomFill;
using backends::cuda::RandomKind;

// fn(T{}) for the element type T of a floating dtype.
template <class Fn>
auto with_floating(DType dtype, Fn&& fn) {
  switch (dtype.kind()) {
    case DType::Kind::kFloat32:
      return fn(float{});
    case DType::Kind::kFloat64:
      return fn(double{});
    case DType::Kind::kFloat16:
      return fn(Half{});
    case DType::Kind::kBFloat16:
      return fn(BFloat16{});
    default:
      break;
  }
  throw Error(absl::StrCat("random numbers on CUDA: expected a floating dtype, got ",
                           std::string(name(dtype))));
}

template <class Fn>
auto with_any(DType dtype, Fn&& fn) {
  switch (dtype.kind()) {
    case DType::Kind::kInt8:
      return fn(int8_t{});
    case DType::Kind::kInt16:
      return fn(int16_t{});
    case DType::Kind::kInt32:
      return fn(int32_t{});
    case DType::Kind::kInt64:
      return fn(int64_t{});
    case DType::Kind::kUInt8:
      return fn(uint8_t{});
    case DType::Kind::kBool:
      throw Error("randint: not implemented for 'Bool'");
    default:
      return with_floating(dtype, std::forward<Fn>(fn));
  }
}

Tensor filled(const Shape& shape, DType dtype, const RandomFill& fill, Device device) {
  const int64_t n = numel(shape);
  auto buffer = runtime::Buffer::allocate(static_cast<size_t>(n) * itemsize(dtype), device);
  backends::cuda::fill_random(device.index(), buffer->data(), n, fill);
  return make_tensor(make_leaf(std::move(buffer), ir::TensorType{dtype, shape}, device));
}

}  // namespace

Tensor cuda_uniform(const Shape& shape, DType dtype, double from, double to, Device device) {
  const runtime::UniformBounds bounds =
      with_floating(dtype, [&](auto t) { return runtime::uniform_bounds<decltype(t)>(from, to); });
  return filled(shape, dtype,
                RandomFill{.kind = RandomKind::kUniform,
                           .dtype = dtype,
                           .a = bounds.from,
                           .b = bounds.to,
                           .c = bounds.width},
                device);
}

Tensor cuda_normal(const Shape& shape, DType dtype, double mean, double std, Device device) {
  with_floating(dtype, [](auto) { return 0; });
  if (!(std >= 0.0)) throw Error(absl::StrCat("normal expects std >= 0.0, but found std ", std));
  return filled(shape, dtype,
                RandomFill{.kind = RandomKind::kNormal, .dtype = dtype, .a = mean, .b = std},
                device);
}

Tensor cuda_random_from_to(const Shape& shape, DType dtype, int64_t low, int64_t high,
                           Device device) {
  const runtime::IntegerRange range = with_any(
      dtype, [&](auto t) { return runtime::random_from_to_range<decltype(t)>(low, high); });
  return filled(shape, dtype,
                RandomFill{.kind = RandomKind::kRandomFromTo,
                           .dtype = dtype,
                           .low = range.low,
                           .range = range.range},
                device);
}

Tensor cuda_bernoulli(const Shape& shape, DType dtype, double p, Device device) {
  with_floating(dtype, [](auto) { return 0; });
  if (!(p >= 0 && p <= 1))
    throw Error(absl::StrCat("bernoulli_ expects p to be in [0, 1], but got p=", p));
  return filled(shape, dtype, RandomFill{.kind = RandomKind::kBernoulli, .dtype = dtype, .a = p},
                device);
}

}  // namespace kiln::frontend
