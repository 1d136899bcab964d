#include "absl/strings/str_cat.h"
#include "irdump/emit_code.h"
#include "kiln/backends/cpu/codegen.h"
#include "kiln/backends/cpu/kernel_ir.h"
#include "kiln/ir/program_text.h"

namespace kiln::irdump {
namespace {

void append_kernel(std::string* out, const ir::LoopKernel& kernel, const std::string& title,
                   const std::string& symbol, bool optimized) {
  absl::StrAppend(out, "; ", title, "\n");
  const std::string why = backends::cpu::why_not_emittable(kernel);
  if (!why.empty()) {
    absl::StrAppend(out, "; not compiled: runs on the loop-IR evaluator (", why, ")\n\n");
    return;
  }
  absl::StrAppend(
      out,
      backends::cpu::kernel_llvm_ir(kernel, symbol,
                                    optimized ? backends::cpu::KernelIrStage::kOptimized
                                              : backends::cpu::KernelIrStage::kUnoptimized),
      "\n");
}

}  // namespace

std::string emit_llvm(const ir::Program& program, bool optimized) {
  std::string out;
  for (size_t i = 0; i < program.steps.size(); ++i) {
    const ir::ProgramStep& step = program.steps[i];
    if (step.kind == ir::ProgramStep::Kind::kKernel) {
      append_kernel(&out, step.kernel,
                    absl::StrCat("step ", i, ": ", ir::kernel_step_summary(step)),
                    absl::StrCat("kernel_step", i), optimized);
      continue;
    }
    for (size_t e = 0; e < step.epilogue.size(); ++e)
      append_kernel(&out, step.epilogue[e].kernel,
                    absl::StrCat("step ", i, ": epilogue ", e, " of the library step: ",
                                 ir::kernel_step_summary(step.epilogue[e])),
                    absl::StrCat("kernel_step", i, "_epilogue", e), optimized);
  }
  if (out.empty())
    out = program.steps.empty() ? "; no kernels: the program has no steps\n"
                                : "; no kernels: every step is a library routine\n";
  return out;
}

}  // namespace kiln::irdump
