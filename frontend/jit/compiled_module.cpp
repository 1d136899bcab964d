// Running a jit::CompiledModule: check the call against the traced signature, bind buffers,
// run the executable. No graph is built at a call.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kiln/frontend/jit/jit.h"
#include "kiln/frontend/jit/module_program.h"
#include "kiln/frontend/realize.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::jit {
namespace detail {

std::shared_ptr<const ModuleProgram> make_program(format::Program program,
                                                  std::vector<Tensor> bound, Device device) {
  auto p = std::make_shared<ModuleProgram>();
  p->input_types = format::input_types(program.graph);
  p->executable = backends::backend_for(device).compile(program.graph);
  p->program = std::move(program);
  p->bound = std::move(bound);
  p->device = device;
  return p;
}

void check_bound(const Tensor& t, const format::InputBinding& binding, const ir::TensorType& type,
                 Device device) {
  const frontend::Storage& storage = *frontend::impl_of(t).storage;
  if (storage.dtype != type.dtype || storage.numel != numel(type.shape))
    throw Error(absl::StrCat("jit: ", format::to_string(binding), " now holds ", storage.numel, " ",
                             sv(name(storage.dtype)), " elements, but the program was ",
                             "traced with ", format::describe(type),
                             ": trace the module again after changing it"));
  if (storage.device != device)
    throw Error(absl::StrCat("jit: ", format::to_string(binding), " is now on ",
                             storage.device.str(), ", but the program runs on ", device.str(),
                             ": trace the module again after moving it"));
}

Tensor whole_storage(const Tensor& t, const format::InputBinding& binding,
                     const ir::TensorType& type, Device device) {
  check_bound(t, binding, type, device);
  auto impl = std::make_shared<frontend::TensorImpl>();
  impl->storage = frontend::impl_of(t).storage;
  impl->sizes = type.shape;
  impl->strides = contiguous_strides(type.shape);
  return Tensor(std::move(impl));
}

}  // namespace detail

namespace {

// "float32[1, 64]" and "float32[1, 64], int64[1]"
std::string describe_all(const std::vector<ir::TensorType>& types) {
  return absl::StrJoin(types, ", ", [](std::string* out, const ir::TensorType& t) {
    out->append(format::describe(t));
  });
}

// The input as a tensor covering its own storage (what the program's argument binds).
Tensor checked_argument(const Tensor& input, size_t i, const ir::TensorType& traced,
                        Device device) {
  if (!input.defined()) throw Error(absl::StrCat("jit: input ", i, " is an undefined tensor"));
  const ir::TensorType got{input.dtype(), input.sizes()};
  if (got != traced) {
    const bool dtype = got.dtype != traced.dtype;
    const bool shape = got.shape != traced.shape;
    throw Error(absl::StrCat("jit: input ", i, " must be ", format::describe(traced), " (the ",
                             dtype && shape ? "dtype and shape"
                             : dtype        ? "dtype"
                                            : "shape",
                             " it was traced with; trace again for others), got ",
                             format::describe(got)));
  }
  if (input.device() != device)
    throw Error(absl::StrCat("jit: input ", i, " is on ", input.device().str(),
                             ", but the program runs on ", device.str()));
  // A view that does not cover its storage would bind the whole storage: copy it.
  const Tensor detached = input.detach();
  return frontend::impl_of(detached).covers_storage() ? detached : detached.clone();
}

}  // namespace

CompiledModule::CompiledModule(std::shared_ptr<const detail::ModuleProgram> program)
    : program_(std::move(program)) {}

std::vector<Tensor> CompiledModule::operator()(const std::vector<Tensor>& inputs) const {
  const detail::ModuleProgram& p = *program_;
  const std::vector<ir::TensorType>& traced = p.program.arguments;
  if (inputs.size() != traced.size())
    throw Error(absl::StrCat("jit: the module takes ", traced.size(), " input(s) (",
                             describe_all(traced), "), got ", inputs.size()));
  std::vector<Tensor> arguments;
  for (size_t i = 0; i < inputs.size(); ++i)
    arguments.push_back(checked_argument(inputs[i], i, traced[i], p.device));

  // Buffers hold every value the program reads once nothing is pending (a parameter updated
  // by an optimizer step may still be pending).
  if (frontend::anything_pending()) frontend::realize_all();
  std::vector<backends::BufferPtr> buffers(p.input_types.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    const format::InputBinding& binding = p.program.inputs[i];
    const Tensor* value = &p.bound[i];
    if (binding.kind == format::InputBinding::Kind::kArgument)
      value = &arguments[static_cast<size_t>(binding.argument)];
    else
      detail::check_bound(*value, binding, p.input_types[i], p.device);
    buffers[i] = frontend::impl_of(*value).storage->value->buffer;
    if (buffers[i] == nullptr)
      throw Error(absl::StrCat("internal error: jit: input ", i, " (", format::to_string(binding),
                               ") is not computed"));
  }

  std::vector<backends::BufferPtr> outputs = p.executable->run(buffers);
  const ir::Graph& graph = p.program.graph;
  std::vector<Tensor> results(outputs.size());
  for (size_t o = 0; o < outputs.size(); ++o) {
    const ir::TensorType& type = graph.node(graph.outputs()[o]).type;
    results[static_cast<size_t>(p.program.outputs[o])] =
        frontend::make_tensor(frontend::make_leaf(std::move(outputs[o]), type, p.device));
  }
  return results;
}

Tensor CompiledModule::forward(const Tensor& input) const {
  const detail::ModuleProgram& p = *program_;
  if (p.program.arguments.size() != 1 || p.program.outputs.size() != 1)
    throw Error(absl::StrCat("jit: forward() takes one tensor and returns one, but the program ",
                             "takes ", p.program.arguments.size(), " and returns ",
                             p.program.outputs.size(), ": call it with a vector of tensors"));
  return (*this)({input})[0];
}

const ir::Graph& CompiledModule::graph() const { return program_->program.graph; }

const std::vector<ir::TensorType>& CompiledModule::input_types() const {
  return program_->program.arguments;
}

Device CompiledModule::device() const { return program_->device; }

}  // namespace kiln::jit
