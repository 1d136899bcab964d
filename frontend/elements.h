// Reading and writing single host elements of any dtype (item, tolist, printing, literals).
#pragma once

#include <cstdint>

#include "kiln/ir/dtype.h"

namespace kiln::frontend {

double load_double(const void* p, DType dtype);
int64_t load_int64(const void* p, DType dtype);  // floating values truncate (saturating)
void store_double(void* p, DType dtype, double v);  // to integers: truncate, then wrap
void store_int64(void* p, DType dtype, int64_t v);

}  // namespace kiln::frontend
