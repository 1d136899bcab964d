// --emit=cuda: the CUDA C that the CUDA backend generates for each kernel step (and each
// library step's epilogue), like emit_llvm.cpp does for the CPU backend. The shared prelude
// (type aliases, float16/bfloat16 conversions, wrapping integer helpers) is printed once.
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "irdump/emit_code.h"
#include "kiln/backends/cuda/codegen.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/program_text.h"

namespace kiln::irdump {
namespace {

void append_kernel(std::string* out, const ir::LoopKernel& kernel, const std::string& title,
                   const std::string& symbol) {
  absl::StrAppend(out, "// ", title, "\n");
  const std::string why = backends::cuda::why_not_emittable(kernel);
  if (!why.empty()) {
    absl::StrAppend(out, "// not emitted: ", why, "\n\n");
    return;
  }
  const std::string source = backends::cuda::emit_cuda_kernel(kernel, symbol);
  absl::StrAppend(out, source.substr(backends::cuda::cuda_prelude().size()), "\n");
}

}  // namespace

absl::StatusOr<std::string> emit_cuda(const ir::Program& program) {
  std::string kernels;
  for (size_t i = 0; i < program.steps.size(); ++i) {
    const ir::ProgramStep& step = program.steps[i];
    if (step.kind == ir::ProgramStep::Kind::kKernel) {
      append_kernel(&kernels, step.kernel,
                    absl::StrCat("step ", i, ": ", ir::kernel_step_summary(step)),
                    absl::StrCat("kernel_step", i));
      continue;
    }
    for (size_t e = 0; e < step.epilogue.size(); ++e) {
      // The backend runs an epilogue over its canonicalized launch.
      ir::LoopKernel kernel = step.epilogue[e].kernel;
      ir::KernelLaunch launch = step.epilogue[e].launch;
      ir::canonicalize_launch(kernel, launch);
      append_kernel(&kernels, kernel,
                    absl::StrCat("step ", i, ": epilogue ", e, " of the library step: ",
                                 ir::kernel_step_summary(step.epilogue[e])),
                    absl::StrCat("kernel_step", i, "_epilogue", e));
    }
  }
  if (kernels.empty())
    return std::string(program.steps.empty() ? "// no kernels: the program has no steps\n"
                                             : "// no kernels: every step is a library routine\n");
  return absl::StrCat("// prelude shared by every kernel\n", sv(backends::cuda::cuda_prelude()),
                      "\n", kernels);
}

}  // namespace kiln::irdump
