// CompiledModule::save and jit::load: a .kiln file is safetensors (kiln::save's writer and
// reader) whose metadata describes the program (kiln_format.h).
#include "absl/strings/str_cat.h"
#include "kiln/frontend/io/byte_source.h"
#include "kiln/frontend/io/serialize_internal.h"
#include "kiln/frontend/jit/jit.h"
#include "kiln/frontend/jit/module_program.h"
#include "kiln/frontend/realize.h"

namespace kiln::jit {

void CompiledModule::save(const std::string& path) const {
  const detail::ModuleProgram& p = *program_;
  // The values now: a pending parameter update is part of what is saved.
  if (frontend::anything_pending()) frontend::realize_all();
  StateDict tensors;
  for (size_t i = 0; i < p.bound.size(); ++i) {
    const format::InputBinding& binding = p.program.inputs[i];
    if (binding.kind == format::InputBinding::Kind::kArgument) continue;
    if (tensors.contains(binding.tensor)) continue;
    tensors.insert(binding.tensor,
                   detail::whole_storage(p.bound[i], binding, p.input_types[i], p.device));
  }
  io::SaveOptions options;
  options.metadata = format::encode(p.program);
  io::save(tensors, path, options);
}

CompiledModule load(const std::string& path, Device device) {
  const io::FileSource source(path);
  io::safetensors::Metadata metadata;
  StateDict tensors = io::load_safetensors(source, device, &metadata);
  std::vector<format::StoredTensor> stored;
  for (const auto& [name, t] : tensors) stored.push_back({name, {t.dtype(), t.sizes()}});
  format::Program program = format::decode(metadata, stored, path);
  std::vector<Tensor> bound;
  for (const format::InputBinding& binding : program.inputs)
    bound.push_back(binding.kind == format::InputBinding::Kind::kArgument
                        ? Tensor()
                        : tensors.at(binding.tensor));
  return CompiledModule(detail::make_program(std::move(program), std::move(bound), device));
}

}  // namespace kiln::jit
