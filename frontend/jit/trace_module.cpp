// jit::trace: one run of a module's forward under frontend::trace (nothing computed), turned
// into a program whose inputs are the call's argument, the module's parameters and buffers
// (bound by identity, named as named_parameters() names them), and constants.
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "kiln/frontend/compile/trace.h"
#include "kiln/frontend/grad_api.h"
#include "kiln/frontend/jit/jit.h"
#include "kiln/frontend/jit/module_program.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/passes/pipeline.h"

namespace kiln::jit {
namespace {

using format::InputBinding;

// The module's parameters and buffers by storage: what a captured graph input is.
struct ModuleTensors {
  struct Named {
    InputBinding::Kind kind;
    std::string name;
    Tensor tensor;
  };
  absl::flat_hash_map<const frontend::Storage*, Named> by_storage;
  absl::flat_hash_set<std::string> names;

  explicit ModuleTensors(const nn::Module& module) {
    // The first name wins for tied weights (one storage, two names), as state_dict lists it.
    for (auto& [name, t] : module.named_parameters()) add(InputBinding::Kind::kParameter, name, t);
    for (auto& [name, t] : module.named_buffers()) add(InputBinding::Kind::kBuffer, name, t);
  }
  void add(InputBinding::Kind kind, const std::string& name, const Tensor& t) {
    names.insert(name);
    by_storage.try_emplace(frontend::impl_of(t).storage.get(), Named{kind, name, t});
  }
  const Named* find(const frontend::Storage* s) const {
    auto it = by_storage.find(s);
    return it == by_storage.end() ? nullptr : &it->second;
  }
  // "constant.N", avoiding the module's own names.
  std::string constant_name(int& next) const {
    std::string name;
    do name = absl::StrCat("constant.", next++);
    while (names.contains(name));
    return name;
  }
};

// A result the program can return as it computes it: a fresh storage (pending, since
// everything was computed when the trace began) that the tensor covers in its own shape.
// Anything else (the input itself, a parameter, a view) is returned as a copy.
bool is_fresh_dense_result(const Tensor& t) {
  const frontend::TensorImpl& ti = frontend::impl_of(t);
  return ti.covers_storage() && !ti.storage->value->realized() &&
         ti.storage->value->type.shape == ti.sizes;
}

// Why the traced forward cannot be a saved program, when it wrote state.
void check_no_writes(const frontend::TracedProgram& traced, const ModuleTensors& tensors,
                     const std::string& module_name) {
  for (const frontend::OutputBinding& out : traced.outputs) {
    switch (out.kind) {
      case frontend::OutputBinding::Kind::kResult:
        break;
      case frontend::OutputBinding::Kind::kArgumentWrite:
        throw Error(absl::StrCat("jit::trace: ", module_name,
                                 ".forward writes into its input in place; a traced module ",
                                 "may not change its inputs"));
      case frontend::OutputBinding::Kind::kStateWrite: {
        const auto storage = out.storage.lock();
        const ModuleTensors::Named* named = storage ? tensors.find(storage.get()) : nullptr;
        throw Error(absl::StrCat(
            "jit::trace: ", module_name, ".forward changes ",
            named ? absl::StrCat("'", named->name, "'") : std::string("a tensor it captured"),
            " in place (running statistics in training mode?); a traced module is for ",
            "inference and may not change state: call eval() before tracing"));
      }
    }
  }
}

}  // namespace

CompiledModule trace(nn::Module& module, const std::vector<Tensor>& example_inputs) {
  const std::string module_name = module.name();
  if (example_inputs.size() != 1)
    throw Error(absl::StrCat("jit::trace: ", module_name, ".forward takes one tensor, got ",
                             example_inputs.size(), " example inputs"));
  if (!example_inputs[0].defined())
    throw Error("jit::trace: example input 0 is an undefined tensor");
  NoGradGuard no_grad;
  // A dense copy of its own, so that the program's argument is a whole storage.
  const Tensor argument = example_inputs[0].detach().clone();
  const Device device = argument.device();
  std::vector<Tensor> returned;
  frontend::TracedProgram traced;
  try {
    traced = frontend::trace(
        [&]() -> std::vector<Tensor> {
          Tensor y = module.forward(argument);
          if (!y.defined()) throw Error("forward returned an undefined tensor");
          return {is_fresh_dense_result(y) ? y : y.clone()};
        },
        {argument}, &returned);
  } catch (const Error& e) {
    // The tracer speaks of compile(); name what was traced instead.
    std::string_view message = e.what();
    if (message.starts_with("compile: ")) message.remove_prefix(9);
    throw Error(absl::StrCat("jit::trace: ", module_name, ".forward: ", sv(message)));
  }
  returned.clear();  // the trace's own values: never needed, so never computed

  // A .kiln file holds one graph on one device (load() places it).
  if (!traced.stages.empty())
    throw Error(absl::StrCat("jit::trace: ", module_name,
                             ".forward moves tensors between devices (to(device)); a traced "
                             "module runs on one device: move the module and its input instead"));
  const ModuleTensors tensors(module);
  check_no_writes(traced, tensors, module_name);
  if (traced.returned.size() != 1 ||
      traced.returned[0].kind != frontend::ReturnedTensor::Kind::kResult ||
      traced.outputs.size() != 1)
    throw Error("internal error: jit::trace: the traced forward's result is not one new tensor");

  format::Program program;
  program.arguments.push_back({argument.dtype(), argument.sizes()});
  program.outputs.push_back(0);
  program.module = module.repr();
  std::vector<Tensor> bound;
  const std::vector<ir::TensorType> types = format::input_types(traced.graph);
  int next_constant = 0;
  for (size_t i = 0; i < traced.inputs.size(); ++i) {
    const frontend::InputBinding& in = traced.inputs[i];
    InputBinding binding;
    Tensor value;
    switch (in.kind) {
      case frontend::InputBinding::Kind::kArgument:
        binding.kind = InputBinding::Kind::kArgument;
        binding.argument = in.argument;
        break;
      case frontend::InputBinding::Kind::kCaptured: {
        const std::shared_ptr<frontend::Storage> storage = in.storage.lock();
        if (storage == nullptr)
          throw Error("internal error: jit::trace: a tensor forward read was freed");
        if (const ModuleTensors::Named* named = tensors.find(storage.get())) {
          // The parameter's own handle: set_data (module.to) rebinds its storage, and a call
          // must then see the change (and refuse a new dtype) rather than the old storage.
          binding.kind = named->kind;
          binding.tensor = named->name;
          value = named->tensor;
        } else {
          // A tensor forward reads that the module does not own: read live at each call, and
          // saved with the value it has then.
          binding.kind = InputBinding::Kind::kConstant;
          binding.tensor = tensors.constant_name(next_constant);
          if (auto covering = in.tensor.lock()) {
            value = Tensor(covering);
          } else {
            // Only a view of it was read, and the tensor it came from is gone.
            auto impl = std::make_shared<frontend::TensorImpl>();
            impl->storage = storage;
            impl->sizes = types[i].shape;
            impl->strides = contiguous_strides(types[i].shape);
            value = Tensor(std::move(impl));
          }
        }
        break;
      }
      case frontend::InputBinding::Kind::kStageOutput:
        throw Error("internal error: jit::trace: a stage output in a one-graph program");
      case frontend::InputBinding::Kind::kConstant:
        // Made from host values during the call (arange, tensor(...)).
        binding.kind = InputBinding::Kind::kConstant;
        binding.tensor = tensors.constant_name(next_constant);
        value = frontend::make_tensor(frontend::make_leaf(in.buffer, types[i], device));
        break;
    }
    program.inputs.push_back(std::move(binding));
    bound.push_back(std::move(value));
  }
  program.graph = traced.graph;
  passes::run_realization_pipeline(program.graph);
  return CompiledModule(detail::make_program(std::move(program), std::move(bound), device));
}

}  // namespace kiln::jit
