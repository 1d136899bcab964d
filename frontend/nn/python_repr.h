// Python's repr of a float (0.5, 1e-08, 0.0), for module printing and optimizer errors, which
// show hyperparameters as PyTorch does.
#pragma once

#include <string>

namespace kiln::nn::detail {

// The shortest digits that round-trip, fixed-point when the exponent is in [-4, 16), else
// scientific with a two-digit-minimum exponent ("1e-05", "1e+16"); "inf", "nan".
std::string python_float_repr(double value);

}  // namespace kiln::nn::detail
