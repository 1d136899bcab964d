// Executing a lowered Program: buffers for the materialized values, kernels through a
// backend's KernelRunner, library steps (matmul, gather/scatter, cat) through the reference
// interpreter until a backend provides its own routines.
#pragma once

#include <atomic>
#include <memory>

#include "kiln/backends/backend.h"
#include "kiln/ir/kernel.h"

namespace kiln::backends {

// What a runner works out for one launch (a kernel and its launch, which a program never
// changes), subclassed by each runner.
struct PreparedLaunch {
  virtual ~PreparedLaunch() = default;
};

// Kept by a caller that repeats one launch again and again (an executable, one per step): the
// runner's table look-up hashes the whole kernel, and the launch's arguments (sizes, strides,
// runtime constants, chunking) take as long to work out as a small kernel takes to run. The
// runner prepares them at the first launch and publishes them here (several threads may run
// one executable; the first to publish wins, the others drop theirs).
class KernelMemo {
 public:
  KernelMemo() = default;
  KernelMemo(const KernelMemo&) = delete;
  KernelMemo& operator=(const KernelMemo&) = delete;
  ~KernelMemo() { delete prepared_.load(std::memory_order_acquire); }

  PreparedLaunch* get() const { return prepared_.load(std::memory_order_acquire); }
  // Publishes `fresh` unless another thread did first; returns the one published.
  PreparedLaunch* publish(std::unique_ptr<PreparedLaunch> fresh) {
    PreparedLaunch* expected = nullptr;
    if (prepared_.compare_exchange_strong(expected, fresh.get(), std::memory_order_acq_rel))
      return fresh.release();
    return expected;
  }

 private:
  std::atomic<PreparedLaunch*> prepared_{nullptr};
};

// Consecutive kernel steps [first, last] that a runner runs together (run_chain), planned
// once per program (plan_chains); `plan` is the runner's own description of how.
struct StepChain {
  size_t first = 0;
  size_t last = 0;
  std::shared_ptr<const void> plan;
};

class KernelRunner {
 public:
  virtual ~KernelRunner() = default;
  // data[a] is argument a's buffer (element 0; offsets and strides come with the launch).
  virtual void run(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                   absl::Span<void* const> data) = 0;
  // run(), where `memo` belongs to this kernel and runner: the runner may fill it at the first
  // launch and skip its look-up at the next ones. The default ignores it.
  virtual void run_memoized(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
                            absl::Span<void* const> data, KernelMemo& memo) {
    (void)memo;
    run(kernel, launch, data);
  }

  // Chains of steps of `program` (lowered from `graph`) to run with run_chain, in step order and
  // disjoint; the default runs every step on its own.
  virtual std::vector<StepChain> plan_chains(const ir::Graph& graph, const ir::Program& program) {
    (void)graph;
    (void)program;
    return {};
  }
  // Runs the steps of `chain`: data[i] is step chain.first + i's buffers (outputs allocated; no
  // buffer is released or reused before the whole chain has run), memos[i] its memo.
  virtual void run_chain(const ir::Program& program, const StepChain& chain,
                         absl::Span<const absl::Span<void* const>> data,
                         absl::Span<KernelMemo> memos) {
    for (size_t i = 0; i < data.size(); ++i) {
      const ir::ProgramStep& step = program.steps[chain.first + i];
      run_memoized(step.kernel, step.launch, data[i], memos[i]);
    }
  }

  // Runs library step `step` (ProgramStep::Kind::kNode) and returns its node's result in a
  // fresh dense buffer. operands[i] is the buffer of step.operands[i].value (a one-element
  // buffer holding the value for a constant). When the step has an epilogue,
  // epilogue_data[a] is the buffer of its argument a, null where the argument is the node's
  // result (which this call allocates), and this call also computes the epilogue. The default
  // gathers strided operands into dense buffers, runs the node on the reference interpreter,
  // then the epilogue kernel through run(); backends override it with their own routines.
  virtual BufferPtr run_library(const ir::Graph& graph, const ir::ProgramStep& step,
                                absl::Span<const BufferPtr> operands,
                                absl::Span<void*> epilogue_data);

  // The device whose memory the runner's kernels address (cpu unless overridden): run_program
  // allocates step results there.
  virtual Device device() const { return Device(Device::Type::kCPU); }
  // A fresh copy of `buffer` (on device()); the default copies host memory.
  virtual BufferPtr copy_buffer(const BufferPtr& buffer);
  // `host`, a host buffer computed on the CPU (a constant's value), on device(); the default
  // returns it unchanged.
  virtual BufferPtr to_device(BufferPtr host) { return host; }

 protected:
  // The epilogue kernel of library step `step` (if any) over its freshly computed `result`,
  // through run(): what every run_library does after its routine.
  void run_epilogue(const ir::ProgramStep& step, const BufferPtr& result,
                    absl::Span<void*> epilogue_data);
};

// Runs `program` (lowered from `graph`) and returns the graph outputs as fresh buffers, under
// the same contract as Backend::run. `memos`: empty, or one per program step (kept by a
// caller that runs the program again).
std::vector<BufferPtr> run_program(const ir::Graph& graph, const ir::Program& program,
                                   absl::Span<const BufferPtr> inputs, KernelRunner& runner,
                                   absl::Span<KernelMemo> memos = {});

// The dense copy of a library operand: `view` over `buffer` (the view's value's buffer) for an
// operand of type `type`; `buffer` itself when the view is already dense over all of it.
BufferPtr dense_operand(const ir::OperandView& view, const BufferPtr& buffer,
                        const ir::TensorType& type);

// A graph lowered once (passes::lower_program) and run on `runner` at every call; the runner
// must outlive it.
std::unique_ptr<Executable> compile_program(ir::Graph graph, KernelRunner& runner);

// Runs one graph node on the reference interpreter over materialized operand buffers.
BufferPtr run_node_on_interpreter(const ir::Graph& graph, ir::ValueId node,
                                  absl::Span<const BufferPtr> operands);

}  // namespace kiln::backends
