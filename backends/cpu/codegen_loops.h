// Internal to the CPU code generator (codegen*.cpp): the loop nests around the scalar code. It
// names LLVM types, so no header that other code sees may include it.
#pragma once

#include <string_view>

#include "kiln/ir/kernel.h"

namespace llvm {
class Module;
}  // namespace llvm

namespace kiln::backends::cpu::codegen {

enum class Variant {
  kKernel,   // KernelFunction: the points [begin, end) of the parallel space
  kPartial,  // PartialFunction: one kept point, the reduced flat range [begin, end)
};

// Adds the exported function `symbol` (and its internal body) for `kernel` to `module`. The
// kernel must be emittable (why_not_emittable), and a reduction for kPartial.
void emit_loops(const ir::LoopKernel& kernel, llvm::Module& module, std::string_view symbol,
                Variant variant);

}  // namespace kiln::backends::cpu::codegen
