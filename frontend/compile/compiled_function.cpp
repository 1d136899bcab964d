#include "kiln/frontend/compile/compiled_function.h"

#include "kiln/frontend/compile/inline_constants.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kiln/frontend/autograd/grad_mode.h"
#include "kiln/frontend/autograd/meta.h"
#include "kiln/frontend/realize.h"
#include "kiln/passes/pipeline.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/log.h"
#include "kiln/runtime/transfer.h"

namespace kiln::frontend {
namespace {

// Programs kept per compiled function (signatures x sizes); the oldest goes first.
constexpr size_t kMaxEntries = 64;

CallKey key_of(const std::vector<Tensor>& args, const std::string& host_key) {
  CallKey key;
  for (size_t i = 0; i < args.size(); ++i) {
    const TensorImpl& ti = impl_of(args[i]);
    int64_t alias = -1;
    for (size_t j = 0; j < i && alias < 0; ++j)
      if (impl_of(args[j]).storage == ti.storage) alias = static_cast<int64_t>(j);
    key.signature.push_back(absl::StrCat(
        "argument ", i, ": ", std::string(name(ti.dtype())), ", rank ", ti.sizes.size(), ", ",
        ti.device().str(), args[i].requires_grad() ? ", requires_grad" : "",
        alias >= 0 ? absl::StrCat(", the storage of argument ", alias) : ""));
    // A view that does not cover its storage reads the storage through its strides, which
    // the trace records.
    key.sizes.push_back(ti.covers_storage()
                            ? absl::StrCat("argument ", i, " sizes ", shape_to_string(ti.sizes))
                            : absl::StrCat("argument ", i, " sizes ", shape_to_string(ti.sizes),
                                           " strides ", shape_to_string(ti.strides), " offset ",
                                           ti.offset, " in ", ti.storage->numel, " elements"));
  }
  key.signature.push_back(autograd::grad_enabled() ? "grad mode on" : "grad mode off");
  key.signature.push_back(absl::StrCat("non-tensor arguments (", host_key, ")"));
  return key;
}

// The first part that differs, as "old -> new".
std::string changed_part(const std::vector<std::string>& before,
                         const std::vector<std::string>& now) {
  for (size_t i = 0; i < std::min(before.size(), now.size()); ++i)
    if (before[i] != now[i]) return absl::StrCat(before[i], " -> ", now[i]);
  return absl::StrCat(before.size(), " arguments -> ", now.size());
}

// Gives a storage the buffer a program computed as its new contents.
void store_contents(const std::shared_ptr<Storage>& storage, backends::BufferPtr buffer) {
  const LazyPtr old = storage->value;
  ++storage->version;
  if (old->realized() && old->external) {
    // Memory code outside kiln reads (from_blob, data_ptr) keeps its address.
    ++old->version;  // autograd's values saved from it are stale now
    std::memcpy(old->buffer->data(), buffer->data(), buffer->nbytes());
    return;
  }
  set_storage_value(storage, make_leaf(std::move(buffer), old->type, storage->device));
}

// The storage's new contents `value`, recorded lazily (the autograd path).
void store_value(const std::shared_ptr<Storage>& storage, LazyPtr value) {
  ++storage->version;
  set_storage_value(storage, std::move(value));
}

Tensor view_of(const Tensor& base, const ReturnedTensor& r) {
  const TensorImpl& ti = impl_of(base);
  if (ti.sizes == r.sizes && ti.strides == r.strides && ti.offset == r.offset) return base;
  return make_view(base, r.sizes, r.strides, r.offset);
}

std::vector<Tensor> returned_tensors(const TracedProgram& program, const std::vector<Tensor>& args,
                                     const std::vector<Tensor>& results,
                                     const std::vector<std::shared_ptr<TensorImpl>>& existing) {
  std::vector<Tensor> out;
  size_t next_existing = 0;
  for (const ReturnedTensor& r : program.returned) {
    switch (r.kind) {
      case ReturnedTensor::Kind::kResult:
        out.push_back(view_of(results[static_cast<size_t>(r.index)], r));
        break;
      case ReturnedTensor::Kind::kArgument:
        out.push_back(view_of(args[static_cast<size_t>(r.index)], r));
        break;
      case ReturnedTensor::Kind::kExisting:
        out.emplace_back(existing[next_existing++]);
        break;
    }
  }
  return out;
}

}  // namespace

struct CompiledCore::Entry {
  CallKey key;
  TracedProgram program;
  // One per stage: its executable, or null for a stage that moves a buffer the program reads
  // and computes nothing (its one output is its input).
  std::vector<std::unique_ptr<backends::Executable>> stage_executables;
  std::unique_ptr<backends::Executable> executable;
  // The trace created state (gradients, optimizer buffers) that later calls must update
  // rather than create: the next call traces again.
  bool provisional = false;
};

CompiledCore::CompiledCore(std::string name) : name_(std::move(name)) {}
CompiledCore::~CompiledCore() = default;

const ir::Graph& CompiledCore::graph() const {
  if (latest_ == nullptr) throw Error("compile: graph(): the function has not been called yet");
  return latest_->program.graph;
}

std::vector<Tensor> CompiledCore::call(const std::vector<Tensor>& args, const std::string& host_key,
                                       const TracedFunction& fn) {
  for (size_t i = 0; i < args.size(); ++i)
    if (!args[i].defined())
      throw Error(absl::StrCat("compile: argument ", i, " is an undefined tensor"));
  CallKey key = key_of(args, host_key);

  // Find the program for this call, and say why there is none.
  Entry* entry = nullptr;
  std::string why;
  for (auto& e : entries_) {
    if (e->key.signature != key.signature) continue;
    if (e->key.sizes != key.sizes) {
      if (why.empty())
        why = absl::StrCat(changed_part(e->key.sizes, key.sizes),
                           " (kernels are reused from the kernel cache)");
      continue;
    }
    entry = e.get();
    break;
  }
  if (entry == nullptr && why.empty())
    why = entries_.empty()
              ? "first call"
              : absl::StrCat(changed_part(entries_.back()->key.signature, key.signature));
  std::optional<std::vector<Tensor>> replayed;
  if (entry != nullptr && entry->provisional) {
    why = absl::StrCat("the previous call created ", entry->program.created_state,
                       " tensors that outlive it (gradients, optimizer state); tracing again "
                       "so that later calls update them");
  } else if (entry != nullptr) {
    replayed = replay(*entry, args, &why);
  }
  if (replayed) return *std::move(replayed);
  return retrace(std::move(key), entry, why, args, fn);
}

std::optional<std::vector<Tensor>> CompiledCore::replay(Entry& entry,
                                                        const std::vector<Tensor>& args,
                                                        std::string* why) {
  const TracedProgram& program = entry.program;
  if (program.returns_history) return rerecord(entry, args, why);
  // Buffers hold every value the program reads once nothing is pending.
  if (anything_pending()) realize_all();
  std::vector<std::shared_ptr<TensorImpl>> existing;
  for (const ReturnedTensor& r : program.returned) {
    if (r.kind != ReturnedTensor::Kind::kExisting) continue;
    existing.push_back(r.existing.lock());
    if (existing.back() == nullptr) {
      *why = "a tensor that the traced function returned was freed";
      return std::nullopt;
    }
  }
  std::vector<std::vector<backends::BufferPtr>> stage_outputs(program.stages.size());
  // The buffers of a graph's inputs on `device`; false when one is gone.
  auto bind = [&](const std::vector<InputBinding>& bindings, Device device,
                  std::vector<backends::BufferPtr>& inputs) {
    inputs.resize(bindings.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      const InputBinding& in = bindings[i];
      switch (in.kind) {
        case InputBinding::Kind::kArgument:
          inputs[i] = impl_of(args[static_cast<size_t>(in.argument)]).storage->value->buffer;
          break;
        case InputBinding::Kind::kCaptured: {
          const std::shared_ptr<Storage> storage = in.storage.lock();
          if (storage == nullptr) {
            *why = "a tensor that the traced function read was freed";
            return false;
          }
          inputs[i] = storage->value->buffer;
          break;
        }
        case InputBinding::Kind::kConstant:
          inputs[i] = in.buffer;
          break;
        case InputBinding::Kind::kStageOutput: {
          const backends::BufferPtr& buffer =
              stage_outputs[static_cast<size_t>(in.stage)][static_cast<size_t>(in.output)];
          inputs[i] = buffer->device() == device
                          ? buffer
                          : runtime::copy_to_device(*buffer, 0, buffer->nbytes(), device);
          break;
        }
      }
    }
    return true;
  };
  std::vector<backends::BufferPtr> inputs;
  for (size_t s = 0; s < program.stages.size(); ++s) {
    const TracedStage& stage = program.stages[s];
    if (!bind(stage.inputs, stage.device, inputs)) return std::nullopt;
    const std::unique_ptr<backends::Executable>& executable = entry.stage_executables[s];
    stage_outputs[s] = executable != nullptr ? executable->run(inputs) : std::move(inputs);
  }
  if (!bind(program.inputs, program.device, inputs)) return std::nullopt;
  std::vector<backends::BufferPtr> outputs = entry.executable->run(inputs);
  ++stats_.replays;

  std::vector<Tensor> results(static_cast<size_t>(program.num_results));
  size_t next_main = 0;
  for (const OutputBinding& out : program.outputs) {
    const bool in_main = out.stage < 0;
    const ir::Graph& graph =
        in_main ? program.graph : program.stages[static_cast<size_t>(out.stage)].graph;
    const size_t o = in_main ? next_main++ : static_cast<size_t>(out.stage_output);
    backends::BufferPtr buffer =
        in_main ? std::move(outputs[o]) : stage_outputs[static_cast<size_t>(out.stage)][o];
    switch (out.kind) {
      case OutputBinding::Kind::kResult: {
        const Device device =
            in_main ? program.device : program.stages[static_cast<size_t>(out.stage)].device;
        results[static_cast<size_t>(out.index)] =
            make_tensor(make_leaf(std::move(buffer), graph.node(graph.outputs()[o]).type, device));
        break;
      }
      case OutputBinding::Kind::kArgumentWrite:
        store_contents(impl_of(args[static_cast<size_t>(out.index)]).storage, std::move(buffer));
        break;
      case OutputBinding::Kind::kStateWrite:
        // A storage nobody holds any more has no one to see its new contents.
        if (auto storage = out.storage.lock()) store_contents(storage, std::move(buffer));
        break;
    }
  }
  return returned_tensors(program, args, results, existing);
}

std::optional<std::vector<Tensor>> CompiledCore::rerecord(Entry& entry,
                                                          const std::vector<Tensor>& args,
                                                          std::string* why) {
  const TracedProgram& program = entry.program;
  std::vector<std::vector<LazyPtr>> stage_values(program.stages.size());
  // The copies of stage outputs, moved as Tensor::to moves them so that gradients move back.
  // A read notes its tensor's gradient edge only while the tensor lives, and the nodes read
  // from it are captured when the results and writes are made, at the end.
  std::vector<Tensor> moved;
  // Records `graph` over the new inputs; false when an input is gone.
  auto record = [&](const ir::Graph& graph, const std::vector<InputBinding>& bindings,
                    Device device, std::vector<LazyPtr>& outputs) {
    std::vector<LazyPtr> values(static_cast<size_t>(graph.size()));
    for (ir::ValueId id = 0; id < graph.size(); ++id) {
      const ir::Node& node = graph.node(id);
      LazyPtr& value = values[static_cast<size_t>(id)];
      if (node.op == ir::Op::constant) {
        value =
            make_constant(std::get<ir::ConstantAttrs>(node.attrs).value, node.type.dtype, device);
        continue;
      }
      if (node.op != ir::Op::input) {
        std::vector<LazyPtr> operands;
        for (ir::ValueId in : node.inputs) operands.push_back(values[static_cast<size_t>(in)]);
        value = make_node(node.op, operands, node.attrs);
        continue;
      }
      const InputBinding& in =
          bindings[static_cast<size_t>(std::get<ir::InputAttrs>(node.attrs).index)];
      switch (in.kind) {
        case InputBinding::Kind::kArgument: {
          // Read through a tensor over the argument's whole storage (the argument, or the
          // tensor it is a view of), so that its gradient edge is recorded.
          const std::shared_ptr<TensorImpl>& a = args[static_cast<size_t>(in.argument)].impl();
          if (a->covers_storage()) {
            value = reshape(read(Tensor(a)), node.type.shape);
          } else if (a->view_root != nullptr && a->view_root->covers_storage()) {
            value = reshape(read(Tensor(a->view_root)), node.type.shape);
          } else {
            value = a->storage->value;
          }
          break;
        }
        case InputBinding::Kind::kCaptured: {
          if (auto t = in.tensor.lock()) {
            value = reshape(read(Tensor(t)), node.type.shape);
          } else if (auto storage = in.storage.lock()) {
            value = storage->value;
          } else {
            *why = "a tensor that the traced function read was freed";
            return false;
          }
          break;
        }
        case InputBinding::Kind::kConstant:
          value = make_leaf(in.buffer, node.type, device);
          break;
        case InputBinding::Kind::kStageOutput: {
          value = stage_values[static_cast<size_t>(in.stage)][static_cast<size_t>(in.output)];
          if (value->device != device) {
            moved.push_back(make_tensor(value).to(device));
            value = read(moved.back());
          }
          value = reshape(std::move(value), node.type.shape);
          break;
        }
      }
    }
    outputs.clear();
    for (ir::ValueId out : graph.outputs()) outputs.push_back(values[static_cast<size_t>(out)]);
    return true;
  };
  for (size_t s = 0; s < program.stages.size(); ++s) {
    const TracedStage& stage = program.stages[s];
    if (!record(stage.graph, stage.inputs, stage.device, stage_values[s])) return std::nullopt;
  }
  std::vector<LazyPtr> main_values;
  if (!record(program.graph, program.inputs, program.device, main_values)) return std::nullopt;
  std::vector<std::shared_ptr<TensorImpl>> existing;
  for (const ReturnedTensor& r : program.returned)
    if (r.kind == ReturnedTensor::Kind::kExisting) existing.push_back(r.existing.lock());
  ++stats_.replays;
  ++stats_.rerecords;
  std::vector<Tensor> results(static_cast<size_t>(program.num_results));
  size_t next_main = 0;
  for (const OutputBinding& out : program.outputs) {
    LazyPtr value =
        out.stage < 0
            ? main_values[next_main++]
            : stage_values[static_cast<size_t>(out.stage)][static_cast<size_t>(out.stage_output)];
    switch (out.kind) {
      case OutputBinding::Kind::kResult:
        results[static_cast<size_t>(out.index)] = make_tensor(std::move(value));
        break;
      case OutputBinding::Kind::kArgumentWrite:
        store_value(impl_of(args[static_cast<size_t>(out.index)]).storage, std::move(value));
        break;
      case OutputBinding::Kind::kStateWrite:
        if (auto storage = out.storage.lock()) store_value(storage, std::move(value));
        break;
    }
  }
  return returned_tensors(program, args, results, existing);
}

std::vector<Tensor> CompiledCore::retrace(CallKey key, Entry* previous, const std::string& why,
                                          const std::vector<Tensor>& args,
                                          const TracedFunction& fn) {
  if (runtime::log_enabled("recompiles"))
    runtime::log_line("recompiles", absl::StrCat("compile(", name_, "): tracing: ", why));
  std::vector<Tensor> returned;
  auto entry = std::make_unique<Entry>();
  entry->key = std::move(key);
  entry->program = trace(fn, args, &returned);
  inline_splat_constants(entry->program.graph, entry->program.inputs);
  for (size_t s = 0; s < entry->program.stages.size(); ++s) {
    TracedStage& stage = entry->program.stages[s];
    inline_splat_constants(stage.graph, stage.inputs);
    // A stage that only moves a buffer computes nothing; one whose output is stored (a constant
    // returned on a second device) still runs, so that each call stores a buffer of its own.
    const bool stored =
        std::any_of(entry->program.outputs.begin(), entry->program.outputs.end(),
                    [&](const OutputBinding& out) { return out.stage == static_cast<int32_t>(s); });
    if (!stored && stage.graph.size() == 1 && stage.graph.outputs().size() == 1) {
      entry->stage_executables.push_back(nullptr);
      continue;
    }
    ir::Graph optimized = stage.graph;
    passes::run_realization_pipeline(optimized,
                                     absl::StrCat("compile(", name_, "): stage ", s, " graph"));
    entry->stage_executables.push_back(
        backends::backend_for(stage.device).compile(std::move(optimized)));
  }
  // A second trace of the same call keeps whatever state it created: its program updates
  // the storages this trace created (a function that frees and recreates its gradients at
  // every call, zero_grad(set_to_none) inside it, still replays correctly).
  entry->provisional = entry->program.created_state > 0 && previous == nullptr;
  ++stats_.traces;

  ir::Graph optimized = entry->program.graph;
  passes::run_realization_pipeline(optimized, absl::StrCat("compile(", name_, "): traced graph"));
  entry->executable = backends::backend_for(entry->program.device).compile(std::move(optimized));

  if (previous != nullptr)
    std::erase_if(entries_, [&](const auto& e) { return e.get() == previous; });
  if (entries_.size() >= kMaxEntries) entries_.erase(entries_.begin());
  latest_ = entry.get();
  entries_.push_back(std::move(entry));
  return returned;
}

}  // namespace kiln::frontend
