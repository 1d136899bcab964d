// Shapes and strides: small vectors of int64_t, with the helpers every layer needs.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "absl/container/inlined_vector.h"

namespace kiln {

using Shape = absl::InlinedVector<int64_t, 6>;

// Product of the sizes (1 for a 0-d shape).
int64_t numel(const Shape& shape);
// Row-major strides, in elements, for a dense tensor of this shape.
Shape contiguous_strides(const Shape& shape);
// True when (sizes, strides) describe a dense row-major layout (size-1 dims may have any stride).
bool is_contiguous(const Shape& sizes, const Shape& strides);
// "[2, 3]"
std::string shape_to_string(const Shape& shape);
std::ostream& operator<<(std::ostream& os, const Shape& shape);

}  // namespace kiln
