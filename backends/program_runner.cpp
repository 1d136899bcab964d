#include "kiln/backends/program_runner.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "kiln/backends/interp/interpreter.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/passes/lower_program.h"
#include "kiln/passes/plan_memory.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/strided.h"

namespace kiln::backends {
namespace {

BufferPtr allocate_for(const ir::TensorType& type, Device device = Device(Device::Type::kCPU)) {
  return runtime::Buffer::allocate(static_cast<size_t>(numel(type.shape)) * itemsize(type.dtype),
                                   device);
}

// A one-element buffer holding a constant node's value (library operands read constants
// through all-zero strides).
BufferPtr constant_buffer(const ir::Node& constant) {
  ir::Graph single;
  ir::Node scalar = constant;
  scalar.type.shape = {};
  single.set_outputs({single.add_node(std::move(scalar))});
  static interp::Interpreter interpreter;
  return interpreter.run(single, {})[0];
}

// Buffers of one run: one per graph value, and the memory plan's free slots.
struct RunBuffers {
  const ir::MemoryPlan& plan;
  Device device;  // where step results are allocated (the runner's device)
  // Inline for the few values of one eager step's graph, which runs once per op.
  absl::InlinedVector<BufferPtr, 8> values;
  // Per slot: a dead buffer of the slot's size, or null.
  absl::InlinedVector<BufferPtr, 4> free_slots;

  // A fresh buffer for value v: its slot's dead buffer when there is one.
  BufferPtr take(const ir::Graph& graph, ir::ValueId v) {
    const int32_t slot = plan.slot[static_cast<size_t>(v)];
    if (slot >= 0 && free_slots[static_cast<size_t>(slot)] != nullptr)
      return std::move(free_slots[static_cast<size_t>(slot)]);
    return allocate_for(graph.node(v).type, device);
  }
  void release(ir::ValueId v) {
    BufferPtr& buffer = values[static_cast<size_t>(v)];
    const int32_t slot = plan.slot[static_cast<size_t>(v)];
    // Only a buffer nobody else holds may be reused.
    if (slot >= 0 && buffer != nullptr && buffer.use_count() == 1)
      free_slots[static_cast<size_t>(slot)] = std::move(buffer);
    buffer.reset();
  }
};

// What a run binds, worked out from the graph alone: an executable does it once, not at every
// run (for one eager op's graph it costs as much as the kernel).
struct RunBindings {
  struct Input {
    ir::ValueId value;
    int64_t index;  // into the run's input buffers
    size_t bytes;   // the size the buffer must have
  };
  struct Output {
    ir::ValueId value;
    // Handed out as a copy: a graph input (the caller's buffer), or an output listed before.
    bool copy;
  };
  absl::InlinedVector<Input, 4> inputs;
  absl::InlinedVector<Output, 4> outputs;
};

RunBindings bindings_of(const ir::Graph& graph) {
  RunBindings b;
  for (ir::ValueId id = 0; id < graph.size(); ++id) {
    const ir::Node& node = graph.node(id);
    if (node.op != ir::Op::input) continue;
    b.inputs.push_back({id, std::get<ir::InputAttrs>(node.attrs).index,
                        static_cast<size_t>(numel(node.type.shape)) * itemsize(node.type.dtype)});
  }
  const std::vector<ir::ValueId>& outputs = graph.outputs();
  std::vector<bool> handed_out(static_cast<size_t>(graph.size()), false);
  for (const ir::ValueId out : outputs) {
    if (out < 0 || out >= graph.size())
      throw Error(absl::StrCat("internal error: output %", out, " is not a graph value"));
    const bool repeated = handed_out[static_cast<size_t>(out)];
    handed_out[static_cast<size_t>(out)] = true;
    b.outputs.push_back({out, graph.node(out).op == ir::Op::input || repeated});
  }
  return b;
}

// The buffers of a kernel step's arguments, its outputs allocated; null for arguments bound
// to `pending` (a library result that the library call allocates).
using KernelData = absl::InlinedVector<void*, 8>;
KernelData kernel_data(const ir::Graph& graph, const ir::ProgramStep& step, RunBuffers& run,
                       ir::ValueId pending) {
  auto& buffers = run.values;
  KernelData data;
  for (size_t a = 0; a < step.arg_values.size(); ++a) {
    const ir::ValueId v = step.arg_values[a];
    if (v == pending) {
      data.push_back(nullptr);
      continue;
    }
    if (step.kernel.args[a].is_output && !buffers[v]) buffers[v] = run.take(graph, v);
    if (!buffers[v])
      throw Error(absl::StrCat("internal error: kernel reads %", v, " before it is computed"));
    data.push_back(buffers[v]->data());
  }
  return data;
}

// Runs the program; `chains` (only with memos: an executable's) are step ranges that the
// runner runs together.
std::vector<BufferPtr> run_bound(const ir::Graph& graph, const ir::Program& program,
                                 const RunBindings& bindings, absl::Span<const BufferPtr> inputs,
                                 KernelRunner& runner, absl::Span<KernelMemo> memos,
                                 absl::Span<const StepChain> chains = {}) {
  // Programs lowered by passes::lower_program carry their plan; tests lower by hand.
  std::optional<ir::MemoryPlan> computed;
  if (program.memory.release_after.size() != program.steps.size())
    computed = passes::plan_memory(graph, program);
  RunBuffers run{computed ? *computed : program.memory, runner.device(), {}, {}};
  run.values.resize(static_cast<size_t>(graph.size()));
  run.free_slots.resize(static_cast<size_t>(run.plan.num_slots));
  auto& buffers = run.values;
  for (const RunBindings::Input& in : bindings.inputs) {
    if (in.index < 0 || in.index >= static_cast<int64_t>(inputs.size()))
      throw Error(absl::StrCat("run_program: no buffer bound to input ", in.index));
    // Kernels read inputs through launch strides without bounds checks, so a short buffer
    // must be refused here (as the interpreter does) rather than read past its end.
    const BufferPtr& buffer = inputs[static_cast<size_t>(in.index)];
    if (buffer == nullptr || buffer->nbytes() != in.bytes)
      throw Error(absl::StrCat(
          "run_program: input ", in.index, " of type ", ir::to_string(graph.node(in.value).type),
          " needs ", in.bytes, " bytes, got ",
          buffer == nullptr ? std::string("null") : absl::StrCat(buffer->nbytes())));
    buffers[in.value] = buffer;
  }

  size_t next_chain = 0;
  for (size_t s = 0; s < program.steps.size(); ++s) {
    const ir::ProgramStep& step = program.steps[s];
    if (next_chain < chains.size() && chains[next_chain].first == s) {
      // Every buffer of the chain is bound before any of its steps runs, and none is released
      // until all have run: the runner may interleave the steps.
      const StepChain& chain = chains[next_chain++];
      absl::InlinedVector<KernelData, 4> data;
      absl::InlinedVector<absl::Span<void* const>, 4> spans;
      for (size_t c = chain.first; c <= chain.last; ++c)
        data.push_back(kernel_data(graph, program.steps[c], run, -1));
      for (const KernelData& d : data) spans.push_back(d);
      runner.run_chain(program, chain, spans, memos.subspan(chain.first, data.size()));
      for (size_t c = chain.first; c <= chain.last; ++c)
        for (ir::ValueId id : run.plan.release_after[c]) run.release(id);
      s = chain.last;
      continue;
    }
    if (step.kind == ir::ProgramStep::Kind::kNode) {
      std::vector<BufferPtr> operands;
      for (const ir::OperandView& view : step.operands) {
        const ir::Node& base = graph.node(view.value);
        operands.push_back(base.op == ir::Op::constant ? runner.to_device(constant_buffer(base))
                                                       : buffers[view.value]);
        if (!operands.back())
          throw Error(absl::StrCat("internal error: %", step.node, " reads %", view.value,
                                   " before it is computed"));
      }
      KernelData epilogue_data;
      if (!step.epilogue.empty()) {
        const ir::ProgramStep& epilogue = step.epilogue[0];
        epilogue_data = kernel_data(graph, epilogue, run, step.node);
      }
      buffers[step.node] = runner.run_library(graph, step, operands, absl::MakeSpan(epilogue_data));
    } else {
      const KernelData data = kernel_data(graph, step, run, -1);
      if (memos.empty()) {
        runner.run(step.kernel, step.launch, data);
      } else {
        runner.run_memoized(step.kernel, step.launch, data, memos[s]);
      }
    }
    for (ir::ValueId id : run.plan.release_after[s]) run.release(id);
  }

  std::vector<BufferPtr> results;
  results.reserve(bindings.outputs.size());
  for (const RunBindings::Output& out : bindings.outputs) {
    const BufferPtr& buffer = buffers[out.value];
    if (!buffer)
      throw Error(absl::StrCat("internal error: output %", out.value, " was not computed"));
    results.push_back(out.copy ? runner.copy_buffer(buffer) : buffer);
  }
  return results;
}

// The program is lowered at construction; each run only binds buffers and launches.
class ProgramExecutable final : public Executable {
 public:
  ProgramExecutable(ir::Graph graph, KernelRunner& runner)
      : graph_(std::move(graph)),
        program_(passes::lower_program(graph_)),
        bindings_(bindings_of(graph_)),
        runner_(runner),
        memos_(std::make_unique<KernelMemo[]>(program_.steps.size())),
        chains_(runner_.plan_chains(graph_, program_)) {}
  std::vector<BufferPtr> run(absl::Span<const BufferPtr> inputs) override {
    return run_bound(graph_, program_, bindings_, inputs, runner_,
                     absl::MakeSpan(memos_.get(), program_.steps.size()), chains_);
  }

 private:
  ir::Graph graph_;
  ir::Program program_;
  RunBindings bindings_;
  KernelRunner& runner_;
  std::unique_ptr<KernelMemo[]> memos_;  // one per step
  std::vector<StepChain> chains_;
};

}  // namespace

std::unique_ptr<Executable> compile_program(ir::Graph graph, KernelRunner& runner) {
  return std::make_unique<ProgramExecutable>(std::move(graph), runner);
}

BufferPtr dense_operand(const ir::OperandView& view, const BufferPtr& buffer,
                        const ir::TensorType& type) {
  const size_t size = itemsize(type.dtype);
  const int64_t count = numel(type.shape);
  if (view.offset == 0 && view.strides == contiguous_strides(type.shape) &&
      buffer->nbytes() == static_cast<size_t>(count) * size)
    return buffer;
  BufferPtr out = allocate_for(type);
  auto* to = static_cast<std::byte*>(out->data());
  const auto* from = static_cast<const std::byte*>(buffer->data());
  runtime::for_each_strided(type.shape, view.strides, view.offset, [&](int64_t element) {
    std::memcpy(to, from + element * static_cast<int64_t>(size), size);
    to += size;
  });
  return out;
}

BufferPtr KernelRunner::copy_buffer(const BufferPtr& src) {
  BufferPtr out = runtime::Buffer::allocate(src->nbytes());
  if (src->nbytes() > 0) std::memcpy(out->data(), src->data(), src->nbytes());
  return out;
}

BufferPtr KernelRunner::run_library(const ir::Graph& graph, const ir::ProgramStep& step,
                                    absl::Span<const BufferPtr> operands,
                                    absl::Span<void*> epilogue_data) {
  const ir::Node& node = graph.node(step.node);
  std::vector<BufferPtr> dense;
  for (size_t i = 0; i < step.operands.size(); ++i)
    dense.push_back(dense_operand(step.operands[i], operands[i], graph.node(node.inputs[i]).type));
  BufferPtr result = run_node_on_interpreter(graph, step.node, dense);
  run_epilogue(step, result, epilogue_data);
  return result;
}

void KernelRunner::run_epilogue(const ir::ProgramStep& step, const BufferPtr& result,
                                absl::Span<void*> epilogue_data) {
  if (step.epilogue.empty()) return;
  const ir::ProgramStep& epilogue = step.epilogue[0];
  for (size_t a = 0; a < epilogue_data.size(); ++a)
    if (epilogue.arg_values[a] == step.node) epilogue_data[a] = result->data();
  ir::LoopKernel kernel = epilogue.kernel;
  ir::KernelLaunch launch = epilogue.launch;
  ir::canonicalize_launch(kernel, launch);
  run(kernel, launch, epilogue_data);
}

BufferPtr run_node_on_interpreter(const ir::Graph& graph, ir::ValueId id,
                                  absl::Span<const BufferPtr> operands) {
  const ir::Node& node = graph.node(id);
  ir::Graph single;
  std::vector<BufferPtr> bound;
  ir::Node copy = node;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const ir::Node& operand = graph.node(node.inputs[i]);
    if (operand.op == ir::Op::constant) {
      copy.inputs[i] = single.add_node(operand);
    } else {
      copy.inputs[i] = single.add_input(operand.type);
      bound.push_back(operands[i]);
    }
  }
  single.set_outputs({single.add_node(std::move(copy))});
  static interp::Interpreter interpreter;
  return interpreter.run(single, bound)[0];
}

std::vector<BufferPtr> run_program(const ir::Graph& graph, const ir::Program& program,
                                   absl::Span<const BufferPtr> inputs, KernelRunner& runner,
                                   absl::Span<KernelMemo> memos) {
  return run_bound(graph, program, bindings_of(graph), inputs, runner, memos);
}

}  // namespace kiln::backends
