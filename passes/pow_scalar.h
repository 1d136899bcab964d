// pow with a scalar exponent, computed the way PyTorch computes it. PyTorch's CPU and CUDA
// kernels for `x.pow(c)` do not call pow for the common exponents: 1 is a copy of x (NaN's sign
// kept, where glibc's pow(-nan, 1) is +nan), 2 is x * x, 3 is x * x * x, -1 is 1 / x, -2 is
// 1 / (x * x), 0.5 is sqrt(x) and -0.5 is rsqrt(x). x * x * x rounds twice,
// so it differs from a correctly rounded pow in the last bit for about a quarter of float32
// inputs (measured with torch 1.13); matching PyTorch to the printed digit needs the same
// arithmetic, and it is faster than a pow call besides. The gradient's `exp * x.pow(exp - 1)`
// becomes a splat exponent after constant folding and gets the same treatment, as in PyTorch
// (x.pow(2)'s gradient reads x.pow(1)).
//
// Rewrites pow(x, c) where c is a splat (a constant seen through movement ops) equal to one of
// those values, for float32, float64 and bfloat16; for float16 only the copy: torch 1.13
// computes its other powers in float and rounds once, which the generic pow already does. A tensor
// exponent that happens to be a splat (torch.full) is rewritten too; PyTorch would call pow there,
// which differs for 3 and -2 only, in the last bit. Pre: a verified graph. Post: a verified graph,
// outputs remapped; replaced pow nodes and their exponents are left for DCE.
//
//   %0 = input() {index=0} : f32[2]              %0 = input() {index=0} : f32[2]
//   %1 = constant() {value=3.0} : f32[]          ...
//   %2 = reshape(%1) {shape=[1]} : f32[1]   ->   %4 = mul(%0, %0) : f32[2]
//   %3 = expand(%2) {shape=[2]} : f32[2]         %5 = mul(%4, %0) : f32[2]
//   %4 = pow(%0, %3) : f32[2]                    return %5
//   return %4
#pragma once

#include <string_view>

#include "kiln/passes/pass.h"

namespace kiln::passes {

class PowScalarPass : public Pass {
 public:
  std::string_view name() const override { return "pow-scalar"; }
  bool run(ir::Graph& g) override;
};

}  // namespace kiln::passes
