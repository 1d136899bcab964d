// Random tensors on CUDA devices: contiguous tensors filled on the device from its Philox
// generator (backends/cuda/random_kernels.h), with PyTorch's CUDA numbers after manual_seed.
// Bounds are checked as on the CPU (runtime::uniform_bounds, runtime::random_from_to_range), with
// PyTorch's messages. Each call draws at once, so the generator advances in program order.
#pragma once

#include <cstdint>

#include "kiln/frontend/tensor.h"

namespace kiln::frontend {

// uniform_(from, to) / torch.rand; floating dtypes.
Tensor cuda_uniform(const Shape& shape, DType dtype, double from, double to, Device device);
// normal_(mean, std) / torch.randn; floating dtypes.
Tensor cuda_normal(const Shape& shape, DType dtype, double mean, double std, Device device);
// random_(low, high) / torch.randint; any dtype but bool.
Tensor cuda_random_from_to(const Shape& shape, DType dtype, int64_t low, int64_t high,
                           Device device);
// bernoulli_(p): ones with probability p, else zeros; floating dtypes.
Tensor cuda_bernoulli(const Shape& shape, DType dtype, double p, Device device);

}  // namespace kiln::frontend
