#include "kiln/frontend/nn/dropout.h"

#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/compile/trace_state.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/cuda_random.h"
#include "kiln/frontend/nn/python_repr.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/random.h"

namespace kiln::nn {

namespace {
void check_probability(double p) {
  if (p < 0 || p > 1)
    throw Error(absl::StrCat("dropout probability has to be between 0 and 1, but got ",
                             detail::python_float_repr(p)));
}
}  // namespace

namespace functional {
Tensor dropout(const Tensor& input, double p, bool training) {
  check_probability(p);
  if (p == 0 || !training || input.numel() == 0) return input;
  if (p == 1) return input * zeros({}, {.dtype = input.dtype(), .device = input.device()});
  // at::native::_dropout: noise = empty_like(input).bernoulli_(1 - p); noise.div_(1 - p);
  // input * noise. bernoulli_ draws uniform doubles (random64, 53 bits) in element order and
  // keeps u < 1 - p; fill_uniform<double> on [0, 1) is that same draw.
  // The mask is drawn here, on the host: a traced program would replay one mask forever.
  frontend::fail_if_tracing("dropout in training mode: random numbers are drawn at the call");
  if (input.device().is_cuda()) {
    // On CUDA the mask comes from the device's Philox generator as
    // empty_like(input).bernoulli_(1 - p) draws it there (one uniform float per element, kept
    // when below 1 - p). PyTorch's own CUDA dropout is the fused kernel (native_dropout), whose
    // grid depends on the occupancy nvcc gave it: its masks and generator offsets are not
    // reproduced, only its distribution and scaling.
    const DType mask_dtype = is_floating_point(input.dtype()) ? input.dtype() : float32;
    const Tensor mask = frontend::cuda_bernoulli(input.sizes(), mask_dtype, 1 - p, input.device());
    const Tensor noise = mask.to(input.dtype()) / (1 - p);
    return input * noise;
  }
  const int64_t n = input.numel();
  std::vector<double> u(static_cast<size_t>(n));
  {
    auto& generator = runtime::default_cpu_generator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    runtime::fill_uniform(generator, u.data(), n, 0.0, 1.0);
  }
  std::vector<uint8_t> keep(static_cast<size_t>(n));
  for (size_t i = 0; i < u.size(); ++i) keep[i] = u[i] < 1 - p ? 1 : 0;
  const Tensor mask =
      frontend::tensor_from_host(keep.data(), boolean, input.sizes(), {.device = input.device()});
  const Tensor noise = mask.to(input.dtype()) / (1 - p);
  return input * noise;
}
}  // namespace functional

DropoutImpl::DropoutImpl(double p) : p_(p) { check_probability(p); }

Tensor DropoutImpl::forward(const Tensor& input) {
  return functional::dropout(input, p_, is_training());
}

std::string DropoutImpl::extra_repr() const {
  return absl::StrCat("p=", detail::python_float_repr(p_), ", inplace=False");
}

}  // namespace kiln::nn
