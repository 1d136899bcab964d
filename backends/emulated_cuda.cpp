#include "kiln/backends/emulated_cuda.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kiln/backends/cpu/cpu_backend.h"
#include "kiln/backends/interp/loop_evaluator.h"
#include "kiln/backends/program_runner.h"
#include "kiln/passes/lower_program.h"
#include "kiln/runtime/cuda/emulated_driver.h"

namespace kiln::backends {
namespace {

using runtime::cuda::DeviceAccess;

// The CPU backend's kernel runner, or the loop-IR evaluator when KILN_BACKEND names one of the
// oracles (`interp`, `loops`; the sanitizer builds use it: compiling every kernel under ASan is
// too slow for CI).
std::unique_ptr<KernelRunner> host_runner() {
  const char* env = std::getenv("KILN_BACKEND");
  const std::string want = env != nullptr ? env : "";
  if (want == "interp" || want == "loops") return std::make_unique<interp::LoopEvaluator>();
  return std::make_unique<cpu::CpuKernelRunner>();
}

class EmulatedCudaRunner final : public KernelRunner {
 public:
  explicit EmulatedCudaRunner(int index) : index_(index), host_(host_runner()) {}

  void run(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
           absl::Span<void* const> data) override {
    DeviceAccess access;
    host_->run(kernel, launch, data);
  }

  BufferPtr run_library(const ir::Graph& graph, const ir::ProgramStep& step,
                        absl::Span<const BufferPtr> operands,
                        absl::Span<void*> epilogue_data) override {
    // The CPU routines take host operands and allocate their results in host memory, as the
    // CUDA backend's host path does; an epilogue writes its other outputs on the device.
    std::vector<BufferPtr> host;
    for (const BufferPtr& operand : operands) host.push_back(to_host(operand));
    DeviceAccess access;
    return to_device(host_->run_library(graph, step, host, epilogue_data));
  }

  Device device() const override { return Device(Device::Type::kCUDA, index_); }

  BufferPtr copy_buffer(const BufferPtr& buffer) override { return to_device(buffer); }

  BufferPtr to_device(BufferPtr source) override {
    BufferPtr out = runtime::Buffer::allocate(source->nbytes(), device());
    DeviceAccess access;
    if (source->nbytes() > 0) std::memcpy(out->data(), source->data(), source->nbytes());
    return out;
  }

 private:
  static BufferPtr to_host(const BufferPtr& source) {
    if (!source->device().is_cuda()) return source;
    BufferPtr out = runtime::Buffer::allocate(source->nbytes());
    DeviceAccess access;
    if (source->nbytes() > 0) std::memcpy(out->data(), source->data(), source->nbytes());
    return out;
  }

  int index_;
  std::unique_ptr<KernelRunner> host_;
};

// Device memory stays open for a whole program: changing its protection costs a system call
// and a TLB shootdown, too much to pay around every kernel (the runner's own scopes nest).
class OpenDuringRuns final : public Executable {
 public:
  explicit OpenDuringRuns(std::unique_ptr<Executable> inner) : inner_(std::move(inner)) {}
  std::vector<BufferPtr> run(absl::Span<const BufferPtr> inputs) override {
    DeviceAccess access;
    return inner_->run(inputs);
  }

 private:
  std::unique_ptr<Executable> inner_;
};

class EmulatedCudaBackend final : public Backend {
 public:
  explicit EmulatedCudaBackend(int index) : runner_(index) {}
  std::string_view name() const override { return "emulated-cuda"; }
  std::vector<BufferPtr> run(const ir::Graph& graph, absl::Span<const BufferPtr> inputs) override {
    DeviceAccess access;
    return run_program(graph, passes::lower_program(graph), inputs, runner_);
  }
  std::unique_ptr<Executable> compile(ir::Graph graph) override {
    return std::make_unique<OpenDuringRuns>(compile_program(std::move(graph), runner_));
  }

 private:
  EmulatedCudaRunner runner_;
};

}  // namespace

Backend& emulated_cuda_backend(int index) {
  static std::mutex mutex;
  static auto* backends = new std::map<int, std::unique_ptr<EmulatedCudaBackend>>();
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = (*backends)[index];
  if (!slot) slot = std::make_unique<EmulatedCudaBackend>(index);
  return *slot;
}

}  // namespace kiln::backends
