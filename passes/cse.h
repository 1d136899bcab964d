// Common subexpression elimination: nodes with the same op, attributes, operands and type
// compute the same value, so every later duplicate is replaced by the first one and removed.
// Constants merge like any other node; inputs never do (each is a distinct argument).
// Commutative ops (add, mul, maximum, eq, logical_and, ...) match with their operands in
// either order. Duplicates found after operands merged are merged too, in the same walk.
// Pre: a verified graph. Post: a verified graph, ids compact, outputs remapped.
//
//   %0 = input() {index=0} : f32[2]          %0 = input() {index=0} : f32[2]
//   %1 = constant() {value=2.0} : f32[]      %1 = constant() {value=2.0} : f32[]
//   %2 = constant() {value=2.0} : f32[]  ->  %2 = expand(%1) {shape=[2]} : f32[2]
//   %3 = expand(%1) {shape=[2]} : f32[2]     %3 = mul(%0, %2) : f32[2]
//   %4 = expand(%2) {shape=[2]} : f32[2]     return %3, %3
//   %5 = mul(%0, %3) : f32[2]
//   %6 = mul(%4, %0) : f32[2]
//   return %5, %6
#pragma once

#include <string_view>

#include "kiln/passes/pass.h"

namespace kiln::passes {

class CsePass : public Pass {
 public:
  std::string_view name() const override { return "cse"; }
  bool run(ir::Graph& g) override;
};

}  // namespace kiln::passes
