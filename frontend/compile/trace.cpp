#include "kiln/frontend/compile/trace.h"

#include <algorithm>
#include <exception>

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
#include "kiln/runtime/transfer.h"

namespace kiln::frontend {
namespace {

class Recorder;
// The graph computing `targets` (one output each) and the bindings of its inputs; `buffers`
// receives the inputs' buffers as they are now.
TracedStage build_stage(absl::Span<const LazyPtr> targets, Device device, const Recorder& recorder,
                        std::vector<backends::BufferPtr>* buffers = nullptr);

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

  // The copy is a computed leaf on `device` whose bytes arrive when the function has returned
  // (finish_moves): nothing is computed while tracing, and only then is it known which values
  // of the moved value's graph later graphs read too.
  LazyPtr on_transfer(const LazyPtr& value, Device device) override {
    LazyPtr source = value;
    while (!source->realized() && source->op == ir::Op::reshape) source = source->inputs[0];
    const size_t nbytes = static_cast<size_t>(value->numel() * itemsize(value->type.dtype));
    LazyPtr copy = make_leaf(runtime::Buffer::allocate(nbytes, device), value->type, device);
    moves_.push_back({std::move(source), copy});
    return copy;
  }

  // Builds and runs the stage of each move, in order, and fills the copies. A stage's outputs
  // are the moved value and every value of its graph that a later graph reads (a later move's
  // or a stored value's graph on the same device: a training step's forward values, which its
  // backward pass reads after the loss was moved to the host). They are then computed values,
  // as a realization leaves them, so later graphs read the stage's outputs instead of computing
  // them again. `stored`: the values the call stores.
  void finish_moves(absl::Span<const LazyPtr> stored) {
    for (size_t s = 0; s < moves_.size(); ++s) {
      const Move& move = moves_[s];
      std::vector<LazyPtr> targets = {move.source};
      if (!move.source->realized()) add_values_read_later(s, stored, targets);
      std::vector<backends::BufferPtr> inputs;
      TracedStage stage = build_stage(targets, move.source->device, *this, &inputs);
      std::vector<backends::BufferPtr> computed;
      if (move.source->realized()) {  // an argument, say: the stage moves it, computes nothing
        computed.push_back(move.source->buffer);
      } else {
        ir::Graph optimized = stage.graph;
        passes::run_realization_pipeline(optimized, "compile: a graph whose value moves");
        computed = backends::backend_for(stage.device).compile(std::move(optimized))->run(inputs);
      }
      for (size_t k = 0; k < targets.size(); ++k) {
        LazyNode* node = targets[k].get();
        if (!node->realized()) {
          node->buffer = computed[k];
          node->op = ir::Op::input;
          node->attrs = ir::InputAttrs{};
          node->inputs.clear();
          node->external = false;
        }
        outputs_.emplace(node, std::make_pair(static_cast<int32_t>(s), static_cast<int32_t>(k)));
      }
      const runtime::Buffer& to = *move.copy->buffer;
      runtime::copy_bytes(to.data(), to.device(), computed[0]->data(), computed[0]->device(),
                          to.nbytes());
      outputs_.emplace(move.copy.get(), std::make_pair(static_cast<int32_t>(s), 0));
      stages_.push_back(std::move(stage));
    }
  }

  bool created(const Storage* s) const { return created_.contains(s); }

  // Where a graph input's buffer comes from at every call.
  InputBinding bind(const LazyNode* node, const backends::BufferPtr& buffer) const {
    InputBinding binding;
    if (auto it = outputs_.find(node); it != outputs_.end()) {
      binding.kind = InputBinding::Kind::kStageOutput;
      binding.stage = it->second.first;
      binding.output = it->second.second;
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
  struct Move {
    LazyPtr source;  // the moved value (below its reshapes) on its own device
    LazyPtr copy;    // the leaf on the other device
  };
  // The values that graphs of the moves after move `s` and of the stored values read from
  // move s's graph (the pending values the walk from each of them meets first), added to
  // `targets` once each.
  void add_values_read_later(size_t s, absl::Span<const LazyPtr> stored,
                             std::vector<LazyPtr>& targets) const {
    absl::flat_hash_set<const LazyNode*> in_stage;
    std::vector<const LazyNode*> stack = {moves_[s].source.get()};
    while (!stack.empty()) {
      const LazyNode* node = stack.back();
      stack.pop_back();
      if (node->realized() || !in_stage.insert(node).second) continue;
      for (const LazyPtr& in : node->inputs) stack.push_back(in.get());
    }
    absl::flat_hash_set<const LazyNode*> seen;
    std::vector<const LazyPtr*> walk;
    for (size_t t = s + 1; t < moves_.size(); ++t) walk.push_back(&moves_[t].source);
    for (const LazyPtr& value : stored) walk.push_back(&value);
    while (!walk.empty()) {
      const LazyPtr& node = *walk.back();
      walk.pop_back();
      if (node->realized() || !seen.insert(node.get()).second) continue;
      if (in_stage.contains(node.get())) {
        if (node != moves_[s].source) targets.push_back(node);
        continue;
      }
      for (const LazyPtr& in : node->inputs) walk.push_back(&in);
    }
  }
  std::vector<Move> moves_;
  // The outputs of the stages run so far: the values they computed and the copies.
  absl::flat_hash_map<const LazyNode*, std::pair<int32_t, int32_t>> outputs_;
  std::vector<TracedStage> stages_;
};

TracedStage build_stage(absl::Span<const LazyPtr> targets, Device device, const Recorder& recorder,
                        std::vector<backends::BufferPtr>* buffers) {
  BuiltGraph built = build_graph(targets, {.keep_saved_values = false, .realized_outputs = true});
  if (built.graph.outputs().size() != targets.size())
    throw Error(absl::StrCat("internal error: compile: ", targets.size(), " traced values gave ",
                             built.graph.outputs().size(), " graph outputs"));
  TracedStage stage;
  stage.device = device;
  for (size_t i = 0; i < built.input_nodes.size(); ++i)
    stage.inputs.push_back(recorder.bind(built.input_nodes[i], built.inputs[i]));
  if (buffers != nullptr) buffers->assign(built.inputs.begin(), built.inputs.end());
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
  std::exception_ptr failure;
  {
    TraceScope scope(&recorder);
    try {
      *returned = fn();
      pending = pending_storages();
    } catch (...) {
      failure = std::current_exception();
    }
  }
  if (failure) {
    // Copies the function moved may live on in tensors it kept: they get their values.
    try {
      recorder.finish_moves({});
    } catch (...) {
    }
    std::rethrow_exception(failure);
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
  recorder.finish_moves(stored);
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
