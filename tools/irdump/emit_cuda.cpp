// The one place that knows the CUDA backend is missing: when backends/cuda lands, this returns
// its generated CUDA C for each kernel step, like emit_llvm.cpp does for the CPU backend.
#include "absl/status/status.h"
#include "irdump/emit_code.h"

namespace kiln::irdump {

absl::StatusOr<std::string> emit_cuda(const ir::Program& program) {
  return absl::UnimplementedError("--emit=cuda: the CUDA backend is not built yet");
}

}  // namespace kiln::irdump
