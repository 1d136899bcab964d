// Tracing: running a function once on the call's own tensors with nothing computed, and
// turning what it recorded into a graph plus the bindings that let later calls replay it.
//
// Every frontend op already records lazily, so a trace is an ordinary call with two changes
// (trace_state.h): values may not be read on the host, and in-place writes into computed
// buffers stay lazy. Afterwards the pending state says everything the call did:
//   - graph inputs are buffers: the arguments' storages, storages of tensors the function
//     read (parameters, optimizer state: "captured"), and buffers it made from host values
//     ("constants", e.g. arange);
//   - graph outputs are new contents of storages: of tensors the function created and
//     returned ("results"), of arguments it wrote, and of other storages it wrote ("state":
//     parameters updated by an optimizer, gradients, momentum buffers).
// The call's own result is the traced call itself: its pending values are those of an eager
// call, realized later as usual.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "kiln/backends/backend.h"
#include "kiln/frontend/tensor_impl.h"

namespace kiln::frontend {

struct InputBinding {
  enum class Kind : uint8_t { kArgument, kCaptured, kConstant, kStageOutput };
  Kind kind = Kind::kConstant;
  int32_t argument = -1;             // kArgument: the call's tensor argument (its storage)
  std::weak_ptr<Storage> storage;    // kCaptured
  std::weak_ptr<TensorImpl> tensor;  // kCaptured: a tensor covering the storage, if one was seen
  backends::BufferPtr buffer;        // kConstant
  // kStageOutput: output `output` of the earlier stage `stage` (TracedProgram::stages), copied
  // to the reading graph's device when it lives on another one (a to(device) in the function).
  int32_t stage = -1;
  int32_t output = -1;
};

struct OutputBinding {
  enum class Kind : uint8_t { kResult, kArgumentWrite, kStateWrite };
  Kind kind = Kind::kResult;
  int32_t index = -1;              // kResult: the result storage; kArgumentWrite: the argument
  std::weak_ptr<Storage> storage;  // kStateWrite
  // Where the value comes from: -1, the main graph (its outputs in the order of the bindings
  // that name it); otherwise output `stage_output` of that stage.
  int32_t stage = -1;
  int32_t stage_output = -1;
};

// A graph that a program runs before its main graph, on its own device. A function that moves
// values between devices (to(device)) is one graph per side of each move, as every graph runs
// on one device: a stage computes what a move reads, together with the values of its graph
// that later graphs read (so nothing is computed twice); a stage whose one output is its input
// moves a buffer the program reads (an argument, say) and computes nothing. Results and writes
// on devices other than the main graph's are a stage per device, after the moves. Later stages
// and the main graph read a stage's outputs (InputBinding::kStageOutput).
struct TracedStage {
  ir::Graph graph;                   // as recorded, before any pass
  std::vector<InputBinding> inputs;  // one per graph input
  Device device = cpu;
};

// A tensor the function returned: a view over a result storage, over an argument's storage,
// or a tensor that existed before the call.
struct ReturnedTensor {
  enum class Kind : uint8_t { kResult, kArgument, kExisting };
  Kind kind = Kind::kResult;
  int32_t index = -1;                  // kResult: result storage; kArgument: the argument
  std::weak_ptr<TensorImpl> existing;  // kExisting
  Shape sizes;
  Shape strides;
  int64_t offset = 0;
};

struct TracedProgram {
  std::vector<TracedStage> stages;     // run first, in order; none unless values change device
  ir::Graph graph;                     // the main graph, as recorded, before any pass
  std::vector<InputBinding> inputs;    // one per main graph input
  std::vector<OutputBinding> outputs;  // one per stored value (main graph outputs, in order)
  std::vector<ReturnedTensor> returned;
  int32_t num_results = 0;
  // Storages the call created that outlive it without being returned (gradients created by a
  // first backward pass, optimizer state): later calls update them instead of creating them.
  int32_t created_state = 0;
  // Some returned tensor has autograd history that the caller may use.
  bool returns_history = false;
  // Where the main graph runs: the device of the first value the call stores (its first
  // result); cpu when it stores nothing.
  Device device = cpu;
};

using TracedFunction = std::function<std::vector<Tensor>()>;

// Traces `fn`, whose tensor arguments are `args`. `returned` receives fn's own results (this
// call's values, still lazy). Throws whatever fn throws, and kiln::Error when fn reads a
// value on the host.
TracedProgram trace(const TracedFunction& fn, const std::vector<Tensor>& args,
                    std::vector<Tensor>* returned);

}  // namespace kiln::frontend
