// The gradient table's families (vjp_elementwise.cpp, vjp_reduce.cpp, vjp_movement.cpp),
// dispatched by vjp.cpp. Each returns one gradient per input under vjp()'s contract.
#pragma once

#include <vector>

#include "kiln/frontend/autograd/vjp.h"

namespace kiln::frontend::autograd::rules {

std::vector<Tensor> elementwise(const VjpContext& ctx);
std::vector<Tensor> reduction(const VjpContext& ctx);
std::vector<Tensor> movement(const VjpContext& ctx);

}  // namespace kiln::frontend::autograd::rules
