#include "kiln/frontend/compile/trace.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "kiln/frontend/autograd/grad_mode.h"
#include "kiln/frontend/autograd/meta.h"
#include "kiln/frontend/compile/trace_state.h"
#include "kiln/frontend/pending_graph.h"
#include "kiln/frontend/realize.h"
#include "kiln/passes/pipeline.h"
#include "kiln/runtime/error.h"

namespace kiln::frontend {
namespace {

// Notes which storages the function created and which computed buffers it read, and runs the
// stages of the values the function moves between devices.
class Recorder final : public TraceObserver {
 public:
  struct Read {
    std::weak_ptr<Storage> storage;
    std::weak_ptr<TensorImpl> covering;  // a tensor over the whole storage, if one was read
  };

  explicit Recorder(std::vector<const LazyNode*> arg_contents)
      : arg_contents_(std::move(arg_contents)) {}

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

  // The value is computed now, as the stage the program will run first, since the copy must
  // exist before anything reads it; the copy is a computed leaf that later graphs bind to the
  // stage's output. A value that is a buffer already (an argument, say) is a stage that
  // computes nothing. Values of the stage's graph that later graphs use too are computed
  // again there: every graph reads only buffers that the call does not change.
  LazyPtr on_transfer(const LazyPtr& value, Device device) override {
    TracedStage stage;
    stage.device = value->device;
    const LazyNode* base = value.get();
    while (!base->realized() && base->op == ir::Op::reshape) base = base->inputs[0].get();
    backends::BufferPtr computed;
    if (base->realized()) {
      stage.graph.set_outputs({stage.graph.add_input(base->type)});
      stage.inputs.push_back(bind(base, base->buffer));
      computed = base->buffer;
    } else {
      BuiltGraph built =
          build_graph({value}, {.keep_saved_values = false, .realized_outputs = true});
      for (size_t i = 0; i < built.input_nodes.size(); ++i)
        stage.inputs.push_back(bind(built.input_nodes[i], built.inputs[i]));
      ir::Graph optimized = built.graph;
      passes::run_realization_pipeline(
          optimized, absl::StrCat("compile: the value to(", device.str(), ") moves"));
      computed = backends::backend_for(stage.device)
                     .compile(std::move(optimized))
                     ->run(built.inputs)
                     .at(0);
      stage.graph = std::move(built.graph);
    }
    const size_t nbytes = static_cast<size_t>(value->numel() * itemsize(value->type.dtype));
    LazyPtr copy =
        make_leaf(runtime::copy_to_device(*computed, 0, nbytes, device), value->type, device);
    moved_.emplace(copy.get(), static_cast<int32_t>(stages_.size()));
    copies_.push_back(copy);
    stages_.push_back(std::move(stage));
    return copy;
  }

  bool created(const Storage* s) const { return created_.contains(s); }

  // Where a graph input's buffer comes from at every call.
  InputBinding bind(const LazyNode* node, const backends::BufferPtr& buffer) const {
    InputBinding binding;
    if (auto it = moved_.find(node); it != moved_.end()) {
      binding.kind = InputBinding::Kind::kStageOutput;
      binding.stage = it->second;
      binding.output = 0;
      return binding;
    }
    for (size_t a = 0; a < arg_contents_.size(); ++a) {
      if (arg_contents_[a] != node) continue;
      binding.kind = InputBinding::Kind::kArgument;
      binding.argument = static_cast<int32_t>(a);
      return binding;
    }
    if (auto it = reads_.find(node); it != reads_.end()) {
      binding.kind = InputBinding::Kind::kCaptured;
      binding.storage = it->second.storage;
      binding.tensor = it->second.covering;
      return binding;
    }
    // Made from host values during the call (arange, tensor(...)): the same at every call. The
    // program keeps a copy: the traced call's own tensors hold this buffer, and their caller
    // may write into it (data_ptr).
    binding.kind = InputBinding::Kind::kConstant;
    binding.buffer = runtime::copy_to_device(*buffer, 0, buffer->nbytes(), buffer->device());
    return binding;
  }

  std::vector<TracedStage>& stages() { return stages_; }

 private:
  std::vector<const LazyNode*> arg_contents_;
  absl::flat_hash_map<const LazyNode*, Read> reads_;
  // Raw pointers, only compared: a storage created and freed during the trace may share an
  // address with a later one, which is then also "created", as it should be.
  absl::flat_hash_set<const Storage*> created_;
  // The copies to(device) made, and the stage each is the output of; held, so that no other
  // node takes one's address during the trace.
  absl::flat_hash_map<const LazyNode*, int32_t> moved_;
  std::vector<LazyPtr> copies_;
  std::vector<TracedStage> stages_;
};

// The graph computing `targets` (one output each) and the bindings of its inputs.
TracedStage build_stage(absl::Span<const LazyPtr> targets, Device device,
                        const Recorder& recorder) {
  BuiltGraph built = build_graph(targets, {.keep_saved_values = false, .realized_outputs = true});
  if (built.graph.outputs().size() != targets.size())
    throw Error(absl::StrCat("internal error: compile: ", targets.size(), " traced values gave ",
                             built.graph.outputs().size(), " graph outputs"));
  TracedStage stage;
  stage.device = device;
  for (size_t i = 0; i < built.input_nodes.size(); ++i)
    stage.inputs.push_back(recorder.bind(built.input_nodes[i], built.inputs[i]));
  stage.graph = std::move(built.graph);
  return stage;
}

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

  Recorder recorder(std::move(arg_contents));
  std::vector<std::shared_ptr<Storage>> pending;
  {
    TraceScope scope(&recorder);
    *returned = fn();
    pending = pending_storages();
  }

  TracedProgram program;
  // The values the call stores, one per output binding.
  std::vector<LazyPtr> stored;
  auto add_output = [&](const std::shared_ptr<Storage>& storage, OutputBinding binding) {
    stored.push_back(storage->value);
    program.outputs.push_back(std::move(binding));
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
        add_output(ti.storage, {OutputBinding::Kind::kResult, it->second, {}});
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
    if (const int32_t a = arg_of_storage(s.get()); a >= 0) {
      add_output(s, {OutputBinding::Kind::kArgumentWrite, a, {}});
      continue;
    }
    if (recorder.created(s.get())) ++program.created_state;
    add_output(s, {OutputBinding::Kind::kStateWrite, -1, s});
  }
  program.returns_history = program.returns_history && autograd::grad_enabled();

  // Every graph runs on one device: the main graph on that of the first stored value, the
  // values stored on each other device in a stage of their own.
  program.device = stored.empty() ? cpu : stored[0]->device;
  std::vector<LazyPtr> main_targets;
  std::vector<Device> other_devices;
  for (const LazyPtr& value : stored) {
    if (value->device == program.device) {
      main_targets.push_back(value);
    } else if (std::find(other_devices.begin(), other_devices.end(), value->device) ==
               other_devices.end()) {
      other_devices.push_back(value->device);
    }
  }
  std::vector<TracedStage>& stages = recorder.stages();
  for (Device device : other_devices) {
    std::vector<LazyPtr> targets;
    for (size_t o = 0; o < stored.size(); ++o) {
      if (stored[o]->device != device) continue;
      program.outputs[o].stage = static_cast<int32_t>(stages.size());
      program.outputs[o].stage_output = static_cast<int32_t>(targets.size());
      targets.push_back(stored[o]);
    }
    stages.push_back(build_stage(targets, device, recorder));
  }
  TracedStage main = build_stage(main_targets, program.device, recorder);
  program.graph = std::move(main.graph);
  program.inputs = std::move(main.inputs);
  program.stages = std::move(stages);
  return program;
}

}  // namespace kiln::frontend
