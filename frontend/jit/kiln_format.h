// The .kiln file format (docs/jit.md): a safetensors file whose tensors are a saved program's
// weights and whose "__metadata__" describes the program:
//   "kiln.format"     "1"
//   "kiln.ir"         the optimized graph as IR text (ir::to_string)
//   "kiln.arguments"  JSON array, per tensor argument of a call: {"dtype": "F32", "shape": [1, 64]}
//   "kiln.inputs"     JSON array, per graph input (by index): "argument:0", "parameter:fc1.weight",
//                     "buffer:bn.running_mean" or "constant:constant.0" (the last three name
//                     the safetensors tensor holding the value)
//   "kiln.outputs"    JSON array, per graph output: "result:0", ... (the call's results)
//   "kiln.module"     the traced module as printed (information only)
// Other keys are ignored. This layer speaks metadata and tensor types only (no Tensor), so that
// the fuzzer builds it with the loaders alone (tests/fuzz).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "kiln/frontend/io/safetensors.h"
#include "kiln/ir/graph.h"

namespace kiln::jit::format {

inline constexpr std::string_view kVersion = "1";

struct InputBinding {
  enum class Kind : uint8_t { kArgument, kParameter, kBuffer, kConstant };
  Kind kind = Kind::kConstant;
  int32_t argument = -1;  // kArgument: the call's tensor argument
  std::string tensor;     // otherwise: the safetensors tensor that holds the value
};

// "argument:0", "parameter:fc1.weight", ...
std::string to_string(const InputBinding& binding);

struct Program {
  ir::Graph graph;
  std::vector<ir::TensorType> arguments;  // what a call passes, as traced
  std::vector<InputBinding> inputs;       // one per graph input, by index
  std::vector<int32_t> outputs;           // per graph output: the result it is
  std::string module;                     // the module's printed form, or empty
};

// The metadata that describes `program` (tensors are written by the caller).
io::safetensors::Metadata encode(const Program& program);

struct StoredTensor {
  std::string name;
  ir::TensorType type;
};

// Decodes the metadata of a .kiln file whose tensors are `tensors`, and checks it: the format
// version, that the IR parses and verifies, that every binding names an argument or a stored
// tensor of the graph input's type, and that outputs number the results 0..n-1. Throws
// kiln::Error("jit::load: <file>: <what is wrong>").
Program decode(const io::safetensors::Metadata& metadata, absl::Span<const StoredTensor> tensors,
               std::string_view file);

// The type of each graph input, by index (the graph must verify).
std::vector<ir::TensorType> input_types(const ir::Graph& graph);

// "float32[1, 64]", as errors name tensors.
std::string describe(const ir::TensorType& type);

}  // namespace kiln::jit::format
