// Random creation on the CPU generator (PyTorch's mt19937 stream) and, for `.device = cuda`, on
// the device's Philox generator (cuda_random.h). Numbers are drawn at the call, so the
// generators advance in program order exactly as in PyTorch.
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/checks.h"
#include "kiln/frontend/compile/trace_state.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/cuda_random.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/runtime/half.h"
#include "kiln/runtime/philox.h"
#include "kiln/runtime/random.h"

namespace kiln {
namespace frontend {
void check_shape(const Shape& shape, const char* op);
}  // namespace frontend

namespace {

// Calls fn(typed pointer) on a fresh buffer of dtype, then wraps it as a tensor.
template <class Fn>
Tensor generated(DType dtype, const Shape& shape, const Options& options, const char* op, Fn&& fn) {
  frontend::check_options(options);
  frontend::check_shape(shape, op);
  frontend::fail_if_tracing(absl::StrCat(op, ": random numbers are drawn at the call"));
  const int64_t n = numel(shape);
  auto buffer = runtime::Buffer::allocate(static_cast<size_t>(n) * itemsize(dtype));
  void* p = buffer->data();
  switch (dtype.kind()) {
    case DType::Kind::kFloat32:
      fn(static_cast<float*>(p), n);
      break;
    case DType::Kind::kFloat64:
      fn(static_cast<double*>(p), n);
      break;
    case DType::Kind::kFloat16:
      fn(static_cast<Half*>(p), n);
      break;
    case DType::Kind::kBFloat16:
      fn(static_cast<BFloat16*>(p), n);
      break;
    case DType::Kind::kInt8:
      fn(static_cast<int8_t*>(p), n);
      break;
    case DType::Kind::kInt16:
      fn(static_cast<int16_t*>(p), n);
      break;
    case DType::Kind::kInt32:
      fn(static_cast<int32_t*>(p), n);
      break;
    case DType::Kind::kInt64:
      fn(static_cast<int64_t*>(p), n);
      break;
    case DType::Kind::kUInt8:
      fn(static_cast<uint8_t*>(p), n);
      break;
    case DType::Kind::kBool:
      fn(static_cast<bool*>(p), n);
      break;
  }
  return frontend::with_grad_option(frontend::make_tensor(frontend::make_leaf(
                                        std::move(buffer), ir::TensorType{dtype, shape}, cpu)),
                                    options);
}

// Where the tensor is made: options.device, else the default device.
bool on_cuda(const Options& options) { return frontend::target_device(options).is_cuda(); }

// The checks of generated() for a tensor drawn on the device instead.
void check_device_draw(const Shape& shape, const Options& options, const char* op) {
  frontend::check_options(options);
  frontend::check_shape(shape, op);
  frontend::fail_if_tracing(absl::StrCat(op, ": random numbers are drawn at the call"));
}

DType floating_dtype(const Options& options, const char* op) {
  const DType dtype = options.dtype.value_or(float32);
  if (!is_floating_point(dtype))
    throw Error(
        absl::StrCat("\"", op, "\" not implemented for '", frontend::torch_type_name(dtype), "'"));
  return dtype;
}

}  // namespace

Tensor rand(const Shape& shape, Options options) {
  const DType dtype = floating_dtype(options, "check_uniform_bounds");
  if (on_cuda(options)) {
    check_device_draw(shape, options, "rand");
    return frontend::with_grad_option(
        frontend::cuda_uniform(shape, dtype, 0.0, 1.0, frontend::target_device(options)), options);
  }
  return generated(dtype, shape, options, "rand", [](auto* data, int64_t n) {
    using T = std::remove_pointer_t<decltype(data)>;
    if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, Half> ||
                  std::is_same_v<T, BFloat16>) {
      auto& gen = runtime::default_cpu_generator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      runtime::fill_uniform(gen, data, n, 0.0, 1.0);
    }
  });
}
Tensor rand(const Shape& shape, DType dtype) { return rand(shape, Options{.dtype = dtype}); }

Tensor randn(const Shape& shape, Options options) {
  if (on_cuda(options)) {
    const DType dtype = floating_dtype(options, "normal_kernel_cuda");
    check_device_draw(shape, options, "randn");
    return frontend::with_grad_option(
        frontend::cuda_normal(shape, dtype, 0.0, 1.0, frontend::target_device(options)), options);
  }
  const DType dtype = floating_dtype(options, "normal_kernel_cpu");
  return generated(dtype, shape, options, "randn", [](auto* data, int64_t n) {
    using T = std::remove_pointer_t<decltype(data)>;
    if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, Half> ||
                  std::is_same_v<T, BFloat16>) {
      auto& gen = runtime::default_cpu_generator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      runtime::fill_normal(gen, data, n, 0.0, 1.0);
    }
  });
}
Tensor randn(const Shape& shape, DType dtype) { return randn(shape, Options{.dtype = dtype}); }

Tensor randint(int64_t low, int64_t high, const Shape& shape, Options options) {
  const DType dtype = options.dtype.value_or(int64);
  if (dtype == boolean) {
    // torch draws as for the integers and stores value != 0; the range must fit in {0, 1}.
    if (low < high && (low < 0 || low > 1)) throw Error("from is out of bounds for bool");
    if (low < high && high - 1 > 1) throw Error("to - 1 is out of bounds for bool");
    Options wide = options;
    wide.dtype = int64;
    return randint(low, high, shape, wide).to(boolean);
  }
  if (on_cuda(options)) {
    check_device_draw(shape, options, "randint");
    return frontend::with_grad_option(
        frontend::cuda_random_from_to(shape, dtype, low, high, frontend::target_device(options)),
        options);
  }
  return generated(dtype, shape, options, "randint", [&](auto* data, int64_t n) {
    using T = std::remove_pointer_t<decltype(data)>;
    if constexpr (std::is_same_v<T, bool>) {
      throw Error("randint: not implemented for 'Bool'");
    } else {
      auto& gen = runtime::default_cpu_generator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      runtime::fill_random_from_to(gen, data, n, low, high);
    }
  });
}
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype) {
  return randint(low, high, shape, Options{.dtype = dtype});
}
Tensor randint(int64_t high, const Shape& shape, Options options) {
  return randint(0, high, shape, options);
}
Tensor randint(int64_t high, const Shape& shape, DType dtype) {
  return randint(0, high, shape, Options{.dtype = dtype});
}

Tensor randperm(int64_t n, Options options) {
  if (n < 0) throw Error(absl::StrCat("randperm: n must be non-negative, got ", n));
  frontend::fail_if_tracing("randperm: random numbers are drawn at the call");
  const DType dtype = options.dtype.value_or(int64);
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  {
    // ATen's randperm_cpu: Fisher-Yates from the front with one 32-bit draw per swap.
    auto& gen = runtime::default_cpu_generator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    for (int64_t i = 0; i + 1 < n; ++i) {
      const int64_t z = static_cast<int64_t>(gen.random() % static_cast<uint64_t>(n - i));
      std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(z + i)]);
    }
  }
  frontend::check_options(options);
  // The order is built on the host whatever the default device (randperm on CUDA draws on
  // the host: docs/cuda.md), then moved where it belongs.
  return frontend::with_grad_option(tensor(order, {.device = cpu}).to(dtype), options);
}

Tensor rand_like(const Tensor& t, Options options) {
  if (!options.dtype) options.dtype = t.dtype();
  if (!options.device) options.device = t.device();
  return rand(t.sizes(), options);
}
Tensor randn_like(const Tensor& t, Options options) {
  if (!options.dtype) options.dtype = t.dtype();
  if (!options.device) options.device = t.device();
  return randn(t.sizes(), options);
}

void manual_seed(uint64_t seed) {
  {
    auto& gen = runtime::default_cpu_generator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.manual_seed(seed);
  }
  // torch.manual_seed also seeds every CUDA device (torch.cuda.manual_seed_all).
  runtime::seed_cuda_generators(seed);
}

uint64_t initial_seed() { return runtime::default_cpu_generator().initial_seed(); }

}  // namespace kiln
