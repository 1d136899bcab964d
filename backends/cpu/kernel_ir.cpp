#include "kiln/backends/cpu/kernel_ir.h"

#include "kiln/backends/cpu/codegen.h"
#include "kiln/backends/cpu/jit.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::backends::cpu {

std::string kernel_llvm_ir(const ir::LoopKernel& kernel, std::string_view symbol,
                           KernelIrStage stage) {
  if (stage == KernelIrStage::kUnoptimized) return emit_kernel_ir(kernel, symbol);
  llvm::orc::ThreadSafeModule module = emit_kernel(kernel, symbol);
  // The module's context is its own; the lock documents that nothing else may use it now.
  llvm::orc::ThreadSafeContext::Lock lock = module.getContext().getLock();
  llvm::Module& m = *module.getModuleUnlocked();
  Jit::instance().optimize(m);
  std::string text;
  llvm::raw_string_ostream stream(text);
  m.print(stream, nullptr);
  stream.flush();
  return text;
}

}  // namespace kiln::backends::cpu
