#include "kiln/backends/backend.h"

#include <cstdlib>
#include <string>

#include "kiln/backends/cpu/cpu_backend.h"
#include "kiln/backends/cuda/cuda_backend.h"
#include "kiln/backends/cuda/host_kernels.h"
#include "kiln/backends/emulated_cuda.h"
#include "kiln/backends/interp/interpreter.h"
#include "kiln/backends/interp/loop_evaluator.h"
#include "kiln/runtime/cuda/emulated_driver.h"
#include "kiln/runtime/error.h"

namespace kiln::backends {
namespace {

class GraphExecutable final : public Executable {
 public:
  GraphExecutable(Backend& backend, ir::Graph graph)
      : backend_(backend), graph_(std::move(graph)) {}
  std::vector<BufferPtr> run(absl::Span<const BufferPtr> inputs) override {
    return backend_.run(graph_, inputs);
  }

 private:
  Backend& backend_;
  ir::Graph graph_;
};

}  // namespace

std::unique_ptr<Executable> Backend::compile(ir::Graph graph) {
  return std::make_unique<GraphExecutable>(*this, std::move(graph));
}

Backend& backend_for(Device device) {
  if (device.is_cuda()) {
    // The emulated device runs graphs on the CPU backend, or with KILN_EMULATE_CUDA_KERNELS=1
    // the CUDA backend's own kernels compiled for the host (cuda/host_kernels.h).
    if (runtime::cuda::emulated() && !cuda::kernels_run_on_host())
      return emulated_cuda_backend(device.index());
    return cuda::cuda_backend(device.index());
  }
  // The LLVM backend by default; the reference interpreter and the loop-IR evaluator stay
  // selectable as oracles.
  static Backend* chosen = []() -> Backend* {
    const char* env = std::getenv("KILN_BACKEND");
    const std::string want = env ? env : "";
    if (want.empty() || want == "cpu") {
      static cpu::CpuBackend compiled;
      return &compiled;
    }
    if (want == "loops") {
      static interp::LoopBackend loops;
      return &loops;
    }
    if (want != "interp")
      throw Error("KILN_BACKEND=" + want +
                  " is not available (expected 'cpu', 'interp' or 'loops')");
    static interp::Interpreter interpreter;
    return &interpreter;
  }();
  return *chosen;
}

}  // namespace kiln::backends
