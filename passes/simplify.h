// Algebraic simplification that never changes a value: every rewrite gives, for every input
// (NaN, inf and -0.0 included), the elements the reference interpreter computes for the node
// it replaces, with the same dtype and shape.
//
// Rules (c is a splat: a constant seen through movement ops, compared as the value stored in
// the dtype; "int" means the integer dtypes without bool):
//   x + c, c + x -> x     c is -0.0 for floats (x + 0.0 turns -0.0 into 0.0), 0 otherwise
//   x - c -> x            c is +0.0 for floats (x - -0.0 turns -0.0 into 0.0), 0 otherwise
//   0 - x -> neg(x)       int only (for floats 0.0 - 0.0 is 0.0, not -0.0)
//   x * 1, 1 * x, x / 1 -> x
//   x * 0 -> 0            int and bool only (floats: NaN * 0, inf * 0 and -1 * 0 differ)
//   x * -1, x / -1 -> neg(x)         int only (for floats NaN's sign would differ)
//   pow(x, 1) -> x, pow(x, 2) -> x * x   int and bool only: glibc's pow(-nan, 1) is +nan, and
//                         pow(x, 2) differs from x * x in the last bit for 1.5M float32 x
//   neg(neg(x)), logical_not(logical_not(x)) for bool x -> x
//   f(f(x)) -> f(x) for abs, relu, sign, floor, ceil, round, trunc; abs(neg(x)) -> abs(x)
//     except for uint8 (neg(1) is 255, whose abs is 255)
//   floor, ceil, round, trunc of integers -> x
//   maximum(x, x), minimum(x, x), where(c, x, x) -> x; where(true, a, b) -> a (false: b)
//   logical_and/or(x, x) for bool x -> x; logical_and(x, true), logical_or(x, false) -> x
//     for bool x; logical_and(x, false), logical_or(x, true) -> that bool splat
//   cast(x) to x's dtype -> x; cast(cast(x, A), B) -> cast(x, B) when every value of x's
//     dtype converts to A exactly (bool to anything, integers to wider integers or floats
//     with enough mantissa, floats to wider floats)
//   reshape(reshape(x)) -> reshape(x); reshape/expand/permute/slice/as_strided that keep
//     every element in place -> x; permute(permute(x)) -> one permute; expand(expand(x)) ->
//     one expand
// A rewritten node is simplified again, so chains collapse in one walk; nodes left unused
// are DCE's to remove. NaN results keep their sign and, for quiet NaNs, their payload, except
// that float16 NaNs come back canonical where the interpreter would have canonicalized them
// (it rounds every float16 result through float).
// Pre: a verified graph. Post: a verified graph, outputs remapped.
//
//   %0 = input() {index=0} : f32[2]              %0 = input() {index=0} : f32[2]
//   %1 = constant() {value=1.0} : f32[]          %1 = constant() {value=1.0} : f32[]
//   %2 = reshape(%1) {shape=[1]} : f32[1]   ->   %2 = reshape(%1) {shape=[1]} : f32[1]
//   %3 = expand(%2) {shape=[2]} : f32[2]         %3 = expand(%2) {shape=[2]} : f32[2]
//   %4 = mul(%0, %3) : f32[2]                    return %0
//   return %4
#pragma once

#include <string_view>

#include "kiln/passes/pass.h"

namespace kiln::passes {

class SimplifyPass : public Pass {
 public:
  std::string_view name() const override { return "simplify"; }
  bool run(ir::Graph& g) override;
};

}  // namespace kiln::passes
