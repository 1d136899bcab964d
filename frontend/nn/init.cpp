#include "kiln/frontend/nn/init.h"

#include <cmath>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/cuda_random.h"
#include "kiln/frontend/grad_api.h"
#include "kiln/frontend/nn/python_repr.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"
#include "kiln/runtime/random.h"

namespace kiln::nn::init {

namespace {

void check_floating(const Tensor& tensor, const char* op) {
  if (!is_floating_point(tensor.dtype()))
    throw Error(absl::StrCat("\"", op, "\" not implemented for '",
                             std::string(kiln::name(tensor.dtype())), "'"));
}

// Copies freshly drawn values into the tensor in place.
Tensor assign(const Tensor& tensor, const Tensor& values) {
  NoGradGuard no_grad;
  tensor.copy_(values);
  return tensor;
}

// Draws numel(tensor) values of the tensor's dtype with fill(generator, data, n) under the
// generator's lock, then copies them into the tensor in place. The values are drawn on the
// host at the call, as every random op in kiln, so the generator advances in program order.
// (Tensors on CUDA draw on the device's generator instead: cuda_random.h.)
template <class Fill>
Tensor fill_from_generator(const Tensor& tensor, const char* op, Fill&& fill) {
  const DType dtype = tensor.dtype();
  const int64_t n = tensor.numel();
  auto draw = [&](auto* typed) {
    using T = std::remove_pointer_t<decltype(typed)>;
    std::vector<T> host(static_cast<size_t>(n));
    {
      auto& generator = runtime::default_cpu_generator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      fill(generator, host.data(), n);
    }
    return frontend::tensor_from_host(host.data(), dtype, tensor.sizes(),
                                      {.device = tensor.device()});
  };
  Tensor values;
  if (dtype == float32)
    values = draw(static_cast<float*>(nullptr));
  else if (dtype == float64)
    values = draw(static_cast<double*>(nullptr));
  else if (dtype == float16)
    values = draw(static_cast<Half*>(nullptr));
  else if (dtype == bfloat16)
    values = draw(static_cast<BFloat16*>(nullptr));
  else
    throw Error(
        absl::StrCat("\"", op, "\" not implemented for '", std::string(kiln::name(dtype)), "'"));
  NoGradGuard no_grad;
  tensor.copy_(values);
  return tensor;
}

int64_t correct_fan(const Tensor& tensor, const std::string& mode) {
  if (mode != "fan_in" && mode != "fan_out")
    throw Error(absl::StrCat("Mode ", mode,
                             " not supported, please use one of ['fan_in', "
                             "'fan_out']"));
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  return mode == "fan_in" ? fan_in : fan_out;
}

}  // namespace

double calculate_gain(const std::string& nonlinearity, std::optional<double> param) {
  if (nonlinearity == "linear" || nonlinearity == "conv1d" || nonlinearity == "conv2d" ||
      nonlinearity == "conv3d" || nonlinearity == "conv_transpose1d" ||
      nonlinearity == "conv_transpose2d" || nonlinearity == "conv_transpose3d" ||
      nonlinearity == "sigmoid")
    return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    const double slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1 + slope * slope));
  }
  if (nonlinearity == "selu") return 3.0 / 4;
  throw Error("Unsupported nonlinearity " + nonlinearity);
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor) {
  if (tensor.dim() < 2)
    throw Error("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
  int64_t receptive_field = 1;
  for (int64_t d = 2; d < tensor.dim(); ++d) receptive_field *= tensor.size(d);
  return {tensor.size(1) * receptive_field, tensor.size(0) * receptive_field};
}

Tensor uniform_(const Tensor& tensor, double low, double high) {
  if (tensor.device().is_cuda()) {
    // PyTorch's uniform_ visits the elements in memory order; kiln draws a contiguous tensor of
    // the same shape and copies it in: the same numbers for the contiguous tensors of nn.
    check_floating(tensor, "uniform_");
    return assign(
        tensor, frontend::cuda_uniform(tensor.sizes(), tensor.dtype(), low, high, tensor.device()));
  }
  return fill_from_generator(tensor, "uniform_", [&](runtime::Generator& g, auto* data, int64_t n) {
    runtime::fill_uniform(g, data, n, low, high);
  });
}

Tensor normal_(const Tensor& tensor, double mean, double std) {
  if (std < 0)
    throw Error(
        absl::StrCat("normal expects std >= 0.0, but found std ", detail::python_float_repr(std)));
  if (tensor.device().is_cuda()) {
    check_floating(tensor, "normal_");
    return assign(
        tensor, frontend::cuda_normal(tensor.sizes(), tensor.dtype(), mean, std, tensor.device()));
  }
  return fill_from_generator(tensor, "normal_", [&](runtime::Generator& g, auto* data, int64_t n) {
    runtime::fill_normal(g, data, n, mean, std);
  });
}

Tensor constant_(const Tensor& tensor, Scalar value) {
  NoGradGuard no_grad;
  tensor.fill_(value);
  return tensor;
}
Tensor zeros_(const Tensor& tensor) { return constant_(tensor, 0); }
Tensor ones_(const Tensor& tensor) { return constant_(tensor, 1); }

Tensor kaiming_uniform_(const Tensor& tensor, double a, const std::string& mode,
                        const std::string& nonlinearity) {
  if (tensor.numel() == 0) return tensor;  // PyTorch warns and draws nothing
  const double gain = calculate_gain(nonlinearity, a);
  // The same operations in the same order as torch.nn.init, so the bound is the same double.
  const double std = gain / std::sqrt(static_cast<double>(correct_fan(tensor, mode)));
  const double bound = std::sqrt(3.0) * std;
  return uniform_(tensor, -bound, bound);
}

Tensor kaiming_normal_(const Tensor& tensor, double a, const std::string& mode,
                       const std::string& nonlinearity) {
  if (tensor.numel() == 0) return tensor;
  const double gain = calculate_gain(nonlinearity, a);
  const double std = gain / std::sqrt(static_cast<double>(correct_fan(tensor, mode)));
  return normal_(tensor, 0.0, std);
}

Tensor xavier_uniform_(const Tensor& tensor, double gain) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  const double a = std::sqrt(3.0) * std;
  return uniform_(tensor, -a, a);
}

Tensor xavier_normal_(const Tensor& tensor, double gain) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  return normal_(tensor, 0.0, std);
}

}  // namespace kiln::nn::init
