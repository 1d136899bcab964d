#include "kiln/backends/program_runner.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "kiln/backends/interp/interpreter.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"

namespace kiln::backends {
namespace {

BufferPtr allocate_for(const ir::TensorType& type) {
  return runtime::Buffer::allocate(static_cast<size_t>(numel(type.shape)) * itemsize(type.dtype));
}

BufferPtr copy_of(const BufferPtr& src) {
  BufferPtr out = runtime::Buffer::allocate(src->nbytes());
  if (src->nbytes() > 0) std::memcpy(out->data(), src->data(), src->nbytes());
  return out;
}

}  // namespace

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
                                   absl::Span<const BufferPtr> inputs, KernelRunner& runner) {
  std::vector<BufferPtr> buffers(static_cast<size_t>(graph.size()));
  for (ir::ValueId id = 0; id < graph.size(); ++id) {
    const ir::Node& node = graph.node(id);
    if (node.op != ir::Op::input) continue;
    const int64_t index = std::get<ir::InputAttrs>(node.attrs).index;
    if (index < 0 || index >= static_cast<int64_t>(inputs.size()))
      throw Error(absl::StrCat("run_program: no buffer bound to input ", index));
    // Kernels read inputs through launch strides without bounds checks, so a short buffer
    // must be refused here (as the interpreter does) rather than read past its end.
    const BufferPtr& buffer = inputs[index];
    const size_t expected = static_cast<size_t>(numel(node.type.shape)) * itemsize(node.type.dtype);
    if (buffer == nullptr || buffer->nbytes() != expected)
      throw Error(
          absl::StrCat("run_program: input ", index, " of type ", ir::to_string(node.type),
                       " needs ", expected, " bytes, got ",
                       buffer == nullptr ? std::string("null") : absl::StrCat(buffer->nbytes())));
    buffers[id] = buffer;
  }
  // Release each intermediate after its last reader, so long programs stay within memory.
  std::vector<bool> is_output(static_cast<size_t>(graph.size()), false);
  for (ir::ValueId out : graph.outputs()) is_output[out] = true;
  std::vector<int64_t> release_after(static_cast<size_t>(graph.size()), -1);
  for (size_t s = 0; s < program.steps.size(); ++s) {
    const ir::ProgramStep& step = program.steps[s];
    if (step.kind == ir::ProgramStep::Kind::kNode) {
      release_after[step.node] = static_cast<int64_t>(s);
      for (ir::ValueId in : graph.node(step.node).inputs)
        release_after[in] = static_cast<int64_t>(s);
    } else {
      for (ir::ValueId v : step.arg_values) release_after[v] = static_cast<int64_t>(s);
    }
  }
  std::vector<std::vector<ir::ValueId>> releases(program.steps.size());
  for (ir::ValueId id = 0; id < graph.size(); ++id)
    if (release_after[id] >= 0 && !is_output[id] && graph.node(id).op != ir::Op::input)
      releases[static_cast<size_t>(release_after[id])].push_back(id);

  for (size_t s = 0; s < program.steps.size(); ++s) {
    const ir::ProgramStep& step = program.steps[s];
    if (step.kind == ir::ProgramStep::Kind::kNode) {
      std::vector<BufferPtr> operands;
      for (ir::ValueId in : graph.node(step.node).inputs) operands.push_back(buffers[in]);
      buffers[step.node] = run_node_on_interpreter(graph, step.node, operands);
    } else {
      std::vector<void*> data;
      for (size_t a = 0; a < step.arg_values.size(); ++a) {
        const ir::ValueId v = step.arg_values[a];
        if (step.kernel.args[a].is_output && !buffers[v])
          buffers[v] = allocate_for(graph.node(v).type);
        if (!buffers[v])
          throw Error(absl::StrCat("internal error: kernel reads %", v, " before it is computed"));
        data.push_back(buffers[v]->data());
      }
      runner.run(step.kernel, step.launch, data);
    }
    for (ir::ValueId id : releases[s]) buffers[id].reset();
  }

  std::vector<BufferPtr> results;
  std::vector<bool> handed_out(static_cast<size_t>(graph.size()), false);
  for (ir::ValueId out : graph.outputs()) {
    const BufferPtr& buffer = buffers[out];
    if (!buffer) throw Error(absl::StrCat("internal error: output %", out, " was not computed"));
    const bool fresh = graph.node(out).op != ir::Op::input && !handed_out[out];
    results.push_back(fresh ? buffer : copy_of(buffer));
    handed_out[out] = true;
  }
  return results;
}

}  // namespace kiln::backends
