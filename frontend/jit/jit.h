// kiln::jit: a module traced once into one optimized program, which can be saved to a .kiln
// file and loaded and run without the C++ source of the model (docs/jit.md).
//
//   model.eval();
//   jit::CompiledModule traced = jit::trace(model, {example});  // example: float32[1, 64]
//   Tensor y = traced.forward(x);                              // x: float32[1, 64] too
//   traced.save("model.kiln");
//   jit::CompiledModule loaded = jit::load("model.kiln");
//   std::vector<Tensor> ys = loaded({x});
//
// Tracing runs forward once with nothing computed and NoGradGuard on: a traced module is for
// inference (its results have no autograd history; train the module itself, or a compile()d
// step). The program is specialized to the example's dtype and shape: calls with other ones
// throw, naming the traced ones. The module's parameters and buffers are bound by identity, so
// a traced module reads their current values at each call (training after tracing is seen);
// forward must not change them (running statistics in training mode: call eval() first).
// Control flow that depends on values, and host-side C++ state, is frozen at trace time, as
// in torch.jit.trace.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "kiln/frontend/nn/module.h"
#include "kiln/frontend/nn/module_holder.h"
#include "kiln/frontend/tensor.h"
#include "kiln/ir/graph.h"
#include "kiln/runtime/error.h"

namespace kiln::jit {

namespace detail {
struct ModuleProgram;  // module_program.h
}  // namespace detail

class CompiledModule {
 public:
  explicit CompiledModule(std::shared_ptr<const detail::ModuleProgram> program);

  // Runs the program on `inputs` (dtypes and shapes as traced, on device()); one tensor per
  // result, without autograd history.
  std::vector<Tensor> operator()(const std::vector<Tensor>& inputs) const;
  // The traced forward: one tensor in, one out.
  Tensor forward(const Tensor& input) const;

  // The optimized graph that runs (and that save() writes); print it with <<.
  const ir::Graph& graph() const;
  // The dtype and shape of each input, as traced.
  const std::vector<ir::TensorType>& input_types() const;
  Device device() const;

  // Writes a .kiln file: safetensors holding the parameters and buffers under their module
  // names (readable by any safetensors reader) and the program in its metadata. Atomic: on
  // failure an existing file is left intact. Throws kiln::Error naming the path.
  void save(const std::string& path) const;

 private:
  std::shared_ptr<const detail::ModuleProgram> program_;
};

// Traces module.forward on example_inputs (one tensor: forward takes one).
CompiledModule trace(nn::Module& module, const std::vector<Tensor>& example_inputs);

template <class H>
requires nn::is_module_holder_v<H> CompiledModule trace(const H& module,
                                                        const std::vector<Tensor>& example_inputs) {
  return trace(module.get(), example_inputs);
}

template <class M>
requires std::is_base_of_v<nn::Module, M> CompiledModule
trace(const std::shared_ptr<M>& module, const std::vector<Tensor>& example_inputs) {
  if (module == nullptr) throw Error("jit::trace: the module is a null pointer");
  return trace(*module, example_inputs);
}

// Reads a .kiln file written by CompiledModule::save and prepares it to run on `device`.
// Throws kiln::Error naming the file and the fault when it is missing, malformed, of another
// format version, or its program and tensors disagree.
CompiledModule load(const std::string& path, Device device = cpu);

}  // namespace kiln::jit
