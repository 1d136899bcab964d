// Dead code elimination: removes every node that no graph output needs, then renumbers the
// remaining nodes compactly (in their original order) and remaps the outputs.
//
// Input nodes always stay, even when unused: the executor binds arguments to inputs by their
// index, so dropping one would shift every later argument.
// Pre: a verified graph. Post: a verified graph with the same outputs and inputs.
//
//   %0 = input() {index=0} : f32[2]          %0 = input() {index=0} : f32[2]
//   %1 = input() {index=1} : f32[2]    ->    %1 = input() {index=1} : f32[2]
//   %2 = exp(%1) : f32[2]                    %2 = neg(%0) : f32[2]
//   %3 = neg(%0) : f32[2]                    return %2
//   return %3
#pragma once

#include <string_view>

#include "kiln/passes/pass.h"

namespace kiln::passes {

class DcePass : public Pass {
 public:
  std::string_view name() const override { return "dce"; }
  bool run(ir::Graph& g) override;
};

}  // namespace kiln::passes
