#include "kiln/frontend/compile/trace.h"

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "kiln/frontend/autograd/grad_mode.h"
#include "kiln/frontend/autograd/meta.h"
#include "kiln/frontend/compile/trace_state.h"
#include "kiln/frontend/pending_graph.h"
#include "kiln/frontend/realize.h"
#include "kiln/runtime/error.h"

namespace kiln::frontend {
namespace {

// Notes which storages the function created and which computed buffers it read.
class Recorder final : public TraceObserver {
 public:
  struct Read {
    std::weak_ptr<Storage> storage;
    std::weak_ptr<TensorImpl> covering;  // a tensor over the whole storage, if one was read
  };

  void on_read_realized(const std::shared_ptr<TensorImpl>& t) override {
    // A buffer the call itself made from host values (arange, tensor) is a constant.
    if (created(t->storage.get())) return;
    const LazyNode* content = t->storage->value.get();
    Read& read = reads_[content];
    read.storage = t->storage;
    if (!read.covering.expired()) return;
    if (t->covers_storage()) {
      read.covering = t;
    } else if (t->view_root != nullptr && t->view_root->covers_storage()) {
      read.covering = t->view_root;
    }
  }
  void on_storage_created(const std::shared_ptr<Storage>& storage) override {
    created_.insert(storage.get());
  }

  bool created(const Storage* s) const { return created_.contains(s); }
  const Read* read_of(const LazyNode* node) const {
    auto it = reads_.find(node);
    return it == reads_.end() ? nullptr : &it->second;
  }

 private:
  absl::flat_hash_map<const LazyNode*, Read> reads_;
  // Raw pointers, only compared: a storage created and freed during the trace may share an
  // address with a later one, which is then also "created", as it should be.
  absl::flat_hash_set<const Storage*> created_;
};

bool has_usable_history(const Tensor& t) {
  const auto& meta = t.impl()->autograd;
  if (meta == nullptr || !meta->requires_grad) return false;
  // A GradFn that a backward pass inside the function already ran has released its fragment.
  return meta->grad_fn != nullptr && meta->grad_fn->output >= 0;
}

}  // namespace

TracedProgram trace(const TracedFunction& fn, const std::vector<Tensor>& args,
                    std::vector<Tensor>* returned) {
  // Everything the function can see starts computed: its graph is then exactly the call.
  realize_all();
  std::vector<const Storage*> arg_storages;
  std::vector<const LazyNode*> arg_contents;
  for (const Tensor& a : args) {
    arg_storages.push_back(impl_of(a).storage.get());
    arg_contents.push_back(impl_of(a).storage->value.get());
  }
  auto arg_of_storage = [&](const Storage* s) -> int32_t {
    for (size_t i = 0; i < arg_storages.size(); ++i)
      if (arg_storages[i] == s) return static_cast<int32_t>(i);
    return -1;
  };

  Recorder recorder;
  std::vector<std::shared_ptr<Storage>> pending;
  {
    TraceScope scope(&recorder);
    *returned = fn();
    pending = pending_storages();
  }

  TracedProgram program;
  std::vector<LazyPtr> targets;
  // One device per program: every storage the call writes must live there.
  std::optional<Device> device;
  auto add_target = [&](const std::shared_ptr<Storage>& storage) {
    if (device && *device != storage->device)
      throw Error(absl::StrCat("compile: the traced function computes on two devices (",
                               device->str(), " and ", storage->device.str(),
                               "); compile one function per device"));
    device = storage->device;
    targets.push_back(storage->value);
  };
  // Result storages: created by the call and returned.
  absl::flat_hash_map<const Storage*, int32_t> result_index;
  for (const Tensor& t : *returned) {
    if (!t.defined()) throw Error("compile: the traced function returned an undefined tensor");
    const TensorImpl& ti = impl_of(t);
    ReturnedTensor r;
    r.sizes = ti.sizes;
    r.strides = ti.strides;
    r.offset = ti.offset;
    const Storage* s = ti.storage.get();
    if (const int32_t a = arg_of_storage(s); a >= 0) {
      r.kind = ReturnedTensor::Kind::kArgument;
      r.index = a;
    } else if (recorder.created(s)) {
      r.kind = ReturnedTensor::Kind::kResult;
      auto [it, fresh] = result_index.emplace(s, program.num_results);
      if (fresh) {
        ++program.num_results;
        add_target(ti.storage);
        program.outputs.push_back({OutputBinding::Kind::kResult, it->second, {}});
      }
      r.index = it->second;
      program.returns_history = program.returns_history || has_usable_history(t);
    } else {
      r.kind = ReturnedTensor::Kind::kExisting;
      r.existing = t.impl();
    }
    program.returned.push_back(std::move(r));
  }
  // Every other storage the call left pending was written by it.
  for (const std::shared_ptr<Storage>& s : pending) {
    if (result_index.contains(s.get())) continue;
    add_target(s);
    if (const int32_t a = arg_of_storage(s.get()); a >= 0) {
      program.outputs.push_back({OutputBinding::Kind::kArgumentWrite, a, {}});
      continue;
    }
    if (recorder.created(s.get())) ++program.created_state;
    program.outputs.push_back({OutputBinding::Kind::kStateWrite, -1, s});
  }
  program.returns_history = program.returns_history && autograd::grad_enabled();

  BuiltGraph built = build_graph(targets, {.keep_saved_values = false, .realized_outputs = true});
  if (built.graph.outputs().size() != targets.size())
    throw Error(absl::StrCat("internal error: compile: ", targets.size(), " traced values gave ",
                             built.graph.outputs().size(), " graph outputs"));
  for (size_t i = 0; i < built.input_nodes.size(); ++i) {
    const LazyNode* node = built.input_nodes[i];
    InputBinding binding;
    int32_t arg = -1;
    for (size_t a = 0; a < arg_contents.size() && arg < 0; ++a)
      if (arg_contents[a] == node) arg = static_cast<int32_t>(a);
    if (arg >= 0) {
      binding.kind = InputBinding::Kind::kArgument;
      binding.argument = arg;
    } else if (const Recorder::Read* read = recorder.read_of(node)) {
      binding.kind = InputBinding::Kind::kCaptured;
      binding.storage = read->storage;
      binding.tensor = read->covering;
    } else {
      // Made from host values during the call (arange, tensor(...)): the same at every call.
      binding.kind = InputBinding::Kind::kConstant;
      binding.buffer = built.inputs[i];
    }
    program.inputs.push_back(std::move(binding));
  }
  program.graph = std::move(built.graph);
  program.device = device.value_or(cpu);
  return program;
}

}  // namespace kiln::frontend
