// The CUDA backend: fusion and lowering to loop IR (passes::lower_program, the CPU path's), each
// kernel emitted as CUDA C (codegen.h), compiled by NVRTC and cached (module_cache.h), and
// launched on the device's default stream. Every buffer it reads or allocates is device
// memory of its device.
//
// Library steps: matmul runs the kernels of matmul.h (its epilogue as a kernel over the result
// right after); cat and as_strided_scatter run as copy kernels (copy_steps.cpp); index and
// index_put as gather/scatter kernels (index_steps.h). The rest (scatter windows that alias,
// steps beyond those kernels' limits) takes the correct but slow path: operands are copied to
// the host, the node runs on the reference interpreter (backends::run_node_on_interpreter) and
// the result is copied back.
#pragma once

#include <cstdint>

#include "kiln/backends/program_runner.h"
#include "kiln/runtime/cuda/cuda_api.h"

namespace kiln::backends::cuda {

struct CudaBackendStats {
  uint64_t kernels_launched = 0;
  uint64_t matmuls = 0;            // matmul steps on the device kernels
  uint64_t mma_matmuls = 0;        // of those, steps on the mma.sync tensor-core kernel
  uint64_t wgmma_matmuls = 0;      // of those, steps on the Hopper wgmma/TMA kernel
  uint64_t host_library_runs = 0;  // library steps run on the host interpreter
  uint64_t copy_steps = 0;         // cat / as_strided_scatter steps run as copy kernels
  uint64_t index_steps = 0;        // index / index_put steps run as gather/scatter kernels
  uint64_t chain_launches = 0;     // row chains run as one kernel (chain_kernel.h)
  uint64_t chained_steps = 0;      // the kernel steps those chains ran
  uint64_t warp_reductions = 0;    // reductions run a warp per point (codegen.h, launch_shape)
};
CudaBackendStats cuda_backend_stats();

class CudaKernelRunner final : public KernelRunner {
 public:
  explicit CudaKernelRunner(int index) : index_(index) {}

  void run(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
           absl::Span<void* const> data) override;
  BufferPtr run_library(const ir::Graph& graph, const ir::ProgramStep& step,
                        absl::Span<const BufferPtr> operands,
                        absl::Span<void*> epilogue_data) override;
  // Row chains (chain_kernel.h), each run as one kernel.
  std::vector<StepChain> plan_chains(const ir::Graph& graph, const ir::Program& program) override;
  void run_chain(const ir::Program& program, const StepChain& chain,
                 absl::Span<const absl::Span<void* const>> data,
                 absl::Span<KernelMemo> memos) override;
  Device device() const override { return Device(Device::Type::kCUDA, index_); }
  BufferPtr copy_buffer(const BufferPtr& buffer) override;
  BufferPtr to_device(BufferPtr host) override;

 private:
  // The device matmul; null when the step does not fit it (dtype, batch).
  BufferPtr run_matmul(const ir::Graph& graph, const ir::ProgramStep& step,
                       absl::Span<const BufferPtr> operands);
  // cat and as_strided_scatter as copy kernels (copy_steps.cpp); null for other steps and for
  // a scatter window whose points may alias (the host path keeps its last-write-wins order).
  BufferPtr run_copy_step(const ir::Graph& graph, const ir::ProgramStep& step,
                          absl::Span<const BufferPtr> operands);
  // index and index_put as kernels (index_steps.cpp); null when the step exceeds their limits.
  BufferPtr run_index_step(const ir::Graph& graph, const ir::ProgramStep& step,
                           absl::Span<const BufferPtr> operands);

  int index_;
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int index) : runner_(index) {}
  std::string_view name() const override { return "cuda"; }
  std::vector<BufferPtr> run(const ir::Graph& graph, absl::Span<const BufferPtr> inputs) override;
  std::unique_ptr<Executable> compile(ir::Graph graph) override;

 private:
  CudaKernelRunner runner_;
};

// The backend of device cuda:index (one per device, never destroyed).
CudaBackend& cuda_backend(int index);

// Launches `f` on device `index`'s default stream with 256-thread blocks; params is
// cuLaunchKernel's kernelParams (one pointer per kernel parameter). Counted in kernels_launched.
void launch_kernel(int index, runtime::cuda::CUfunction f, unsigned blocks_x, unsigned blocks_y,
                   unsigned blocks_z, void** params);

// Buffers between host and device: a device copy of a host buffer and a host copy of a device
// buffer (both complete on return).
BufferPtr upload(const BufferPtr& host, Device device);
BufferPtr download(const BufferPtr& device_buffer);

}  // namespace kiln::backends::cuda
