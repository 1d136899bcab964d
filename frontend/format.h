// Printing tensors exactly as Python's print(t) does (torch/_tensor_str.py), except that dtypes
// print without the `torch.` prefix. Independent of the lazy machinery: it formats host values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/ir/dtype.h"
#include "kiln/ir/shape.h"
#include "kiln/runtime/device.h"

namespace kiln {

struct TensorPrintInput {
  DType dtype = float32;
  Shape sizes;
  // Row-major element values: `floats` for floating dtypes, `ints` for integer and bool
  // dtypes (bool as 0/1). Exactly one of them holds numel(sizes) values.
  std::vector<double> floats;
  std::vector<int64_t> ints;
  Device device = cpu;
  bool requires_grad = false;
};

// The full text print(t) shows, without a trailing newline:
// "tensor([[1., 2.],\n        [3., 4.]], dtype=float64)".
std::string format_tensor(const TensorPrintInput& t);

}  // namespace kiln
