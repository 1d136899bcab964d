// The interpreter's driver: checks the graph and the inputs, runs each node's kernel in order,
// frees every intermediate buffer right after its last use, and hands back fresh output
// buffers. The kernels themselves live in one file per op family (kernels.h).
#include "kiln/backends/interp/interpreter.h"

#include <cstdint>
#include <limits>
#include <string>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "kiln/backends/interp/element.h"
#include "kiln/backends/interp/kernels.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/infer.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::interp {
namespace {

using ir::Op;

size_t nbytes_of(const ir::TensorType& type) {
  return static_cast<size_t>(numel(type.shape)) * itemsize(type.dtype);
}

// False for a negative size or a byte count beyond int64 (declared types may come from parsed
// text, and numel() itself must not overflow).
bool fits_in_memory(const ir::TensorType& type) {
  uint64_t bytes = itemsize(type.dtype);
  for (int64_t d : type.shape)
    if (d < 0 || __builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes)) return false;
  return bytes <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

std::string node_label(const ir::Graph& graph, ir::ValueId id) {
  return absl::StrCat("%", id, " (", sv(ir::op_name(graph.node(id).op)), ")");
}

// The interpreter is the oracle, so it refuses graphs it cannot trust rather than reading out
// of bounds: operands must precede their users and every declared type must be the inferred
// one, which is what lets the kernels rely on shapes without re-checking them.
void check_graph(const ir::Graph& graph, size_t num_inputs) {
  if (graph.num_inputs() != static_cast<int64_t>(num_inputs))
    throw Error(
        absl::StrCat("interp: the graph takes ", graph.num_inputs(), " inputs, got ", num_inputs));
  std::vector<ir::TensorType> operand_types;
  for (ir::ValueId id = 0; id < graph.size(); ++id) {
    const ir::Node& node = graph.node(id);
    if (!ir::attrs_match(node.op, node.attrs))
      throw Error(absl::StrCat("interp: ", node_label(graph, id), " has the wrong attributes"));
    if (!fits_in_memory(node.type))
      throw Error(absl::StrCat("interp: ", node_label(graph, id), " has the impossible type ",
                               ir::to_string(node.type)));
    if (node.op == Op::input) {
      const int64_t index = std::get<ir::InputAttrs>(node.attrs).index;
      if (index < 0 || index >= graph.num_inputs())
        throw Error(absl::StrCat("interp: ", node_label(graph, id), " binds input ", index, " of ",
                                 graph.num_inputs()));
      continue;
    }
    if (node.op == Op::constant) continue;
    operand_types.clear();
    for (ir::ValueId v : node.inputs) {
      if (v < 0 || v >= id)
        throw Error(absl::StrCat("interp: ", node_label(graph, id), " reads %", v,
                                 ", which is not defined before it"));
      operand_types.push_back(graph.node(v).type);
    }
    auto inferred = ir::infer_type(node.op, node.attrs, operand_types);
    if (!inferred.ok())
      throw Error(
          absl::StrCat("interp: ", node_label(graph, id), ": ", inferred.status().message()));
    if (*inferred != node.type)
      throw Error(absl::StrCat("interp: ", node_label(graph, id), " is declared ",
                               ir::to_string(node.type), " but computes ",
                               ir::to_string(*inferred)));
  }
  for (ir::ValueId v : graph.outputs())
    if (v < 0 || v >= graph.size())
      throw Error(absl::StrCat("interp: output %", v, " is not a node of the graph"));
}

BufferPtr bind_input(const ir::Graph& graph, ir::ValueId id, absl::Span<const BufferPtr> inputs) {
  const ir::Node& node = graph.node(id);
  const int64_t index = std::get<ir::InputAttrs>(node.attrs).index;
  const BufferPtr& buffer = inputs[static_cast<size_t>(index)];
  if (buffer == nullptr) throw Error(absl::StrCat("interp: input ", index, " is null"));
  if (!buffer->device().is_cpu())
    throw Error(absl::StrCat("interp: input ", index, " is on ", buffer->device().str()));
  const size_t expected = nbytes_of(node.type);
  if (buffer->nbytes() != expected)
    throw Error(absl::StrCat("interp: input ", index, " of type ", ir::to_string(node.type),
                             " needs ", expected, " bytes, got ", buffer->nbytes()));
  return buffer;
}

BufferPtr copy_of(const runtime::Buffer& buffer) {
  BufferPtr copy = runtime::Buffer::allocate(buffer.nbytes());
  copy_bytes(copy->as<std::byte>(), buffer.as<const std::byte>(), buffer.nbytes());
  return copy;
}

// Computes one non-leaf node into a fresh buffer.
BufferPtr evaluate(const ir::Node& node, Operands in) {
  BufferPtr result = runtime::Buffer::allocate(nbytes_of(node.type));
  std::byte* out = result->as<std::byte>();
  switch (node.op) {
    case Op::input:
    case Op::reshape:
      throw Error("interp: input and reshape bind buffers; they have no kernel");
    case Op::constant:
      eval_constant(node, out);
      break;
    case Op::neg:
    case Op::abs:
    case Op::sign:
    case Op::relu:
    case Op::sqrt:
    case Op::rsqrt:
    case Op::reciprocal:
    case Op::exp:
    case Op::expm1:
    case Op::log:
    case Op::log2:
    case Op::log10:
    case Op::log1p:
    case Op::sin:
    case Op::cos:
    case Op::tan:
    case Op::tanh:
    case Op::sigmoid:
    case Op::erf:
    case Op::floor:
    case Op::ceil:
    case Op::round:
    case Op::trunc:
    case Op::logical_not:
      eval_unary(node, in, out);
      break;
    case Op::cast:
      eval_cast(node, in, out);
      break;
    case Op::add:
    case Op::sub:
    case Op::mul:
    case Op::div:
    case Op::pow:
    case Op::maximum:
    case Op::minimum:
    case Op::eq:
    case Op::ne:
    case Op::lt:
    case Op::le:
    case Op::gt:
    case Op::ge:
    case Op::logical_and:
    case Op::logical_or:
      eval_binary(node, in, out);
      break;
    case Op::where:
      eval_where(node, in, out);
      break;
    case Op::sum:
    case Op::prod:
    case Op::amax:
    case Op::amin:
    case Op::argmax:
    case Op::argmin:
      eval_reduce(node, in, out);
      break;
    case Op::permute:
      eval_permute(node, in, out);
      break;
    case Op::expand:
      eval_expand(node, in, out);
      break;
    case Op::slice:
      eval_slice(node, in, out);
      break;
    case Op::as_strided:
      eval_as_strided(node, in, out);
      break;
    case Op::cat:
      eval_cat(node, in, out);
      break;
    case Op::as_strided_scatter:
      eval_as_strided_scatter(node, in, out);
      break;
    case Op::index:
      eval_index(node, in, out);
      break;
    case Op::index_put:
      eval_index_put(node, in, out);
      break;
    case Op::matmul:
      eval_matmul(node, in, out);
      break;
  }
  return result;
}

}  // namespace

std::vector<BufferPtr> Interpreter::run(const ir::Graph& graph,
                                        absl::Span<const BufferPtr> inputs) {
  check_graph(graph, inputs.size());
  const ir::ValueId num_nodes = graph.size();

  // last_use[v]: the last node reading v; outputs live to the end, unread values die at once.
  std::vector<ir::ValueId> last_use(static_cast<size_t>(num_nodes), -1);
  for (ir::ValueId id = 0; id < num_nodes; ++id)
    for (ir::ValueId v : graph.node(id).inputs) last_use[static_cast<size_t>(v)] = id;
  for (ir::ValueId v : graph.outputs()) last_use[static_cast<size_t>(v)] = num_nodes;

  std::vector<BufferPtr> values(static_cast<size_t>(num_nodes));
  std::vector<Operand> operands;
  for (ir::ValueId id = 0; id < num_nodes; ++id) {
    const ir::Node& node = graph.node(id);
    BufferPtr& value = values[static_cast<size_t>(id)];
    if (node.op == Op::input) {
      value = bind_input(graph, id, inputs);
    } else if (node.op == Op::reshape) {
      // reshape keeps the row-major element order, so its result is the operand's bytes;
      // sharing them is safe because no kernel ever writes into an operand.
      value = values[static_cast<size_t>(node.inputs[0])];
    } else {
      operands.clear();
      for (ir::ValueId v : node.inputs)
        operands.push_back({&graph.node(v).type, values[static_cast<size_t>(v)]->as<std::byte>()});
      value = evaluate(node, operands);
    }
    for (ir::ValueId v : node.inputs)
      if (last_use[static_cast<size_t>(v)] == id) values[static_cast<size_t>(v)].reset();
    if (last_use[static_cast<size_t>(id)] == -1) value.reset();
  }

  // Each result must be a buffer the caller owns alone: copy inputs (and reshapes of inputs)
  // and any buffer already handed out for an earlier output.
  std::unordered_set<const runtime::Buffer*> taken;
  for (const BufferPtr& buffer : inputs) taken.insert(buffer.get());
  std::vector<BufferPtr> results;
  results.reserve(graph.outputs().size());
  for (ir::ValueId v : graph.outputs()) {
    BufferPtr buffer = values[static_cast<size_t>(v)];
    if (!taken.insert(buffer.get()).second) buffer = copy_of(*buffer);
    taken.insert(buffer.get());
    results.push_back(std::move(buffer));
  }
  return results;
}

}  // namespace kiln::backends::interp
