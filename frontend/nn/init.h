// nn::init: in-place initialisation of parameters (torch.nn.init), drawing from the global
// CPU generator exactly as PyTorch does, so that after manual_seed(s) a layer gets PyTorch's
// values. Each runs without recording history and returns its argument.
#pragma once

#include <optional>
#include <string>

#include "kiln/frontend/tensor.h"

namespace kiln::nn::init {

// The recommended gain for a nonlinearity: "linear", "conv1d".., "sigmoid" -> 1, "tanh" -> 5/3,
// "relu" -> sqrt(2), "leaky_relu" -> sqrt(2 / (1 + slope^2)) (slope default 0.01),
// "selu" -> 3/4. Throws for other names.
double calculate_gain(const std::string& nonlinearity, std::optional<double> param = std::nullopt);

// (fan_in, fan_out) of a weight of at least 2 dims: size(1) and size(0) times the receptive
// field (the product of the sizes after the first two).
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor);

// U(low, high), bit for bit PyTorch's Tensor.uniform_ (values drawn in row-major order).
Tensor uniform_(const Tensor& tensor, double low = 0.0, double high = 1.0);
// N(mean, std^2), as Tensor.normal_ on a contiguous tensor.
Tensor normal_(const Tensor& tensor, double mean = 0.0, double std = 1.0);
Tensor constant_(const Tensor& tensor, Scalar value);
Tensor zeros_(const Tensor& tensor);
Tensor ones_(const Tensor& tensor);
// He initialisation: U(-bound, bound), bound = gain * sqrt(3 / fan), with fan the fan_in
// (mode "fan_in") or fan_out (mode "fan_out") and gain = calculate_gain(nonlinearity, a).
Tensor kaiming_uniform_(const Tensor& tensor, double a = 0.0, const std::string& mode = "fan_in",
                        const std::string& nonlinearity = "leaky_relu");
Tensor kaiming_normal_(const Tensor& tensor, double a = 0.0, const std::string& mode = "fan_in",
                       const std::string& nonlinearity = "leaky_relu");
// Glorot: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)); normal with std = gain *
// sqrt(2 / (fan_in + fan_out)).
Tensor xavier_uniform_(const Tensor& tensor, double gain = 1.0);
Tensor xavier_normal_(const Tensor& tensor, double gain = 1.0);

}  // namespace kiln::nn::init
