// What a jit::CompiledModule runs: the program as the .kiln format describes it, the tensors
// bound to its graph inputs, and the backend's executable. Traced and loaded modules differ
// only in where the bound tensors come from (the module's own parameters, or the file).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kiln/backends/backend.h"
#include "kiln/frontend/jit/kiln_format.h"
#include "kiln/frontend/tensor.h"

namespace kiln::jit::detail {

struct ModuleProgram {
  format::Program program;  // its graph is the optimized one
  // Per graph input: undefined for arguments; otherwise a tensor whose storage holds the value
  // (a module's parameter itself, so that its current value is read at each call).
  std::vector<Tensor> bound;
  std::vector<ir::TensorType> input_types;  // per graph input
  Device device = cpu;
  std::unique_ptr<backends::Executable> executable;
};

// Compiles `program.graph` for `device` and puts the parts together.
std::shared_ptr<const ModuleProgram> make_program(format::Program program,
                                                  std::vector<Tensor> bound, Device device);

// Throws unless the storage of `t` still holds `type`'s elements on `device` (module.to(float64)
// or module.to(device) after tracing rebinds the parameters to new storage).
void check_bound(const Tensor& t, const format::InputBinding& binding, const ir::TensorType& type,
                 Device device);

// The whole storage of `t` as a dense tensor of `type` (the graph input it is bound to,
// checked), sharing the storage: what save() writes.
Tensor whole_storage(const Tensor& t, const format::InputBinding& binding,
                     const ir::TensorType& type, Device device);

}  // namespace kiln::jit::detail
