// The LLVM IR of a loop kernel as text, for dumps (kiln-irdump --emit=llvm): either as code
// generation emits it or after the JIT's O3 pipeline for the host CPU, which is the code that
// runs (the same text KILN_LOG=kernels prints for every kernel compiled).
//
// This header includes no LLVM header.
#pragma once

#include <string>
#include <string_view>

#include "kiln/ir/kernel.h"

namespace kiln::backends::cpu {

enum class KernelIrStage { kUnoptimized, kOptimized };

// The module of `kernel`'s function named `symbol`. Throws kiln::Error when the kernel cannot be
// compiled natively (why_not_emittable in codegen.h names the reason) or LLVM cannot target the
// host.
std::string kernel_llvm_ir(const ir::LoopKernel& kernel, std::string_view symbol,
                           KernelIrStage stage);

}  // namespace kiln::backends::cpu
