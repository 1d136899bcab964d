// kiln-irdump --dot: the graph in Graphviz's dot language. Each node is labelled with its IR
// line (op, operands, attributes, type); materialized values (buffers) are filled, graph
// outputs have a double border. With the lowered program, the nodes each step computes are
// grouped into a cluster ("step 0: kernel elementwise"): the step's results and the fused
// values they inline. A value recomputed by several kernels is drawn in the first one's
// cluster; constants stay outside clusters (every kernel inlines them).
#pragma once

#include <string>

#include "kiln/ir/graph.h"
#include "kiln/ir/kernel.h"

namespace kiln::irdump {

// `program`: the program lowered from `graph`, or null for no clusters.
std::string to_dot(const ir::Graph& graph, const ir::Program* program);

}  // namespace kiln::irdump
