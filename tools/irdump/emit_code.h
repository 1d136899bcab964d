// kiln-irdump --emit=llvm|llvm-unoptimized|cuda: the code a backend generates for every kernel
// of a lowered program, matmul epilogues included. (The blocked matmul's own micro-kernels are
// library code, shared by every matmul, and not printed.)
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "kiln/ir/kernel.h"

namespace kiln::irdump {

// The LLVM module of every kernel step, headed by a "; step N: ..." comment, optimized for the
// host CPU as the JIT compiles it or as code generation emits it. A kernel the CPU backend does
// not compile natively (it runs on the loop-IR evaluator) gets a comment with the reason.
std::string emit_llvm(const ir::Program& program, bool optimized);

// The CUDA C of every kernel. An error until the CUDA backend lands.
absl::StatusOr<std::string> emit_cuda(const ir::Program& program);

}  // namespace kiln::irdump
