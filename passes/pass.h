// The pass interface. A pass rewrites a graph in place and says whether it changed anything;
// it must leave a graph that verifies (the pass manager checks after every pass). Adding a pass
// is one class deriving from Pass plus one registration line in pass_manager.cpp.
#pragma once

#include <string_view>

#include "kiln/ir/graph.h"

namespace kiln::passes {

class Pass {
 public:
  virtual ~Pass() = default;
  // The name used in pipelines and dumps ("cse", "fuse-elementwise").
  virtual std::string_view name() const = 0;
  // Rewrites `g`; returns true when the graph changed.
  virtual bool run(ir::Graph& g) = 0;
};

}  // namespace kiln::passes
