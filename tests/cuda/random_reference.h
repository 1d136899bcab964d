// The device random tests' oracle: the host restatement of the kernels
// (backends/cuda/random_host.h) and how far a device normal may be from it.
#pragma once

#include <algorithm>
#include <cmath>

#include "kiln/backends/cuda/random_host.h"

namespace kiln::testing {

using backends::cuda::RandomDraw;
using backends::cuda::RandomFill;
using backends::cuda::RandomKind;
using namespace backends::cuda::random_host;  // NOLINT(build/namespaces): the oracle's vocabulary

// How far a device normal may be from the host emulation: __sincosf's absolute error (about
// 2^-21.4 on [-pi, pi], a little more up to 2 pi) times the radius (below 6.7), logf/sqrtf ulps,
// and one ulp of the storage type after rounding.
inline double normal_tolerance(DType dtype, double value) {
  const double magnitude = std::max(1.0, std::abs(value));
  if (dtype == float64) return 1e-13 * magnitude;
  double tol = 2e-5 * magnitude;
  if (dtype == float16) tol += std::abs(value) * 0x1p-10 + 0x1p-24;
  if (dtype == bfloat16) tol += std::abs(value) * 0x1p-7;
  return tol;
}

}  // namespace kiln::testing
