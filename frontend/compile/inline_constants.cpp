#include "kiln/frontend/compile/inline_constants.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "kiln/runtime/cuda/copy.h"
#include "kiln/runtime/half.h"

namespace kiln::frontend {
namespace {

template <class T>
T element(const std::byte* data) {
  T v;
  std::memcpy(&v, data, sizeof v);
  return v;
}

// The buffer's single value when every element has the same bytes. A device buffer is read
// through a host copy (once, when the program is built).
std::optional<Scalar> splat_value(const runtime::Buffer& buffer, DType dtype) {
  const size_t size = itemsize(dtype);
  if (buffer.nbytes() < size) return std::nullopt;
  std::vector<std::byte> host;
  const auto* data = static_cast<const std::byte*>(buffer.data());
  if (buffer.device().is_cuda()) {
    host.resize(buffer.nbytes());
    runtime::cuda::copy_device_to_host(host.data(), buffer.data(), buffer.nbytes(),
                                       buffer.device().index());
    data = host.data();
  }
  for (size_t at = size; at < buffer.nbytes(); at += size)
    if (std::memcmp(data, data + at, size) != 0) return std::nullopt;
  switch (dtype.kind()) {
    case DType::Kind::kFloat32:
      return Scalar(static_cast<double>(element<float>(data)));
    case DType::Kind::kFloat64:
      return Scalar(element<double>(data));
    case DType::Kind::kFloat16:
      return Scalar(static_cast<double>(static_cast<float>(element<Half>(data))));
    case DType::Kind::kBFloat16:
      return Scalar(static_cast<double>(static_cast<float>(element<BFloat16>(data))));
    case DType::Kind::kInt8:
      return Scalar(static_cast<int64_t>(element<int8_t>(data)));
    case DType::Kind::kInt16:
      return Scalar(static_cast<int64_t>(element<int16_t>(data)));
    case DType::Kind::kInt32:
      return Scalar(static_cast<int64_t>(element<int32_t>(data)));
    case DType::Kind::kInt64:
      return Scalar(element<int64_t>(data));
    case DType::Kind::kUInt8:
      return Scalar(static_cast<int64_t>(element<uint8_t>(data)));
    case DType::Kind::kBool:
      return Scalar(element<uint8_t>(data) != 0);
  }
  return std::nullopt;
}

}  // namespace

int inline_splat_constants(ir::Graph& graph_in_out, std::vector<InputBinding>& inputs_in_out) {
  const ir::Graph& old = graph_in_out;
  std::vector<std::optional<Scalar>> splats(inputs_in_out.size());
  int count = 0;
  for (ir::ValueId id = 0; id < old.size(); ++id) {
    const ir::Node& node = old.node(id);
    if (node.op != ir::Op::input) continue;
    const size_t index = static_cast<size_t>(std::get<ir::InputAttrs>(node.attrs).index);
    const InputBinding& in = inputs_in_out[index];
    // NaNs are left alone: a constant holds a value, not a payload.
    if (in.kind != InputBinding::Kind::kConstant || in.buffer == nullptr) continue;
    splats[index] = splat_value(*in.buffer, node.type.dtype);
    if (splats[index] && splats[index]->is_floating_point() &&
        std::isnan(splats[index]->to_double()))
      splats[index].reset();
    if (splats[index]) ++count;
  }
  if (count == 0) return 0;

  ir::Graph graph;
  std::vector<InputBinding> inputs;
  std::vector<ir::ValueId> ids(static_cast<size_t>(old.size()));
  for (ir::ValueId id = 0; id < old.size(); ++id) {
    const ir::Node& node = old.node(id);
    ir::ValueId& mapped = ids[static_cast<size_t>(id)];
    if (node.op != ir::Op::input) {
      ir::Node copy = node;
      for (ir::ValueId& in : copy.inputs) in = ids[static_cast<size_t>(in)];
      mapped = graph.add_node(std::move(copy));
      continue;
    }
    const size_t index = static_cast<size_t>(std::get<ir::InputAttrs>(node.attrs).index);
    if (!splats[index]) {
      mapped = graph.add_input(node.type);
      inputs.push_back(std::move(inputs_in_out[index]));
      continue;
    }
    // The frontend's splat form: a 0-d constant, reshaped to ones, expanded.
    mapped = graph.add_constant(*splats[index], node.type.dtype);
    if (!node.type.shape.empty()) {
      mapped = graph.add_node({ir::Op::reshape,
                               {node.type.dtype, Shape(node.type.shape.size(), 1)},
                               {mapped},
                               ir::ShapeAttrs{Shape(node.type.shape.size(), 1)}});
      mapped =
          graph.add_node({ir::Op::expand, node.type, {mapped}, ir::ShapeAttrs{node.type.shape}});
    }
  }
  std::vector<ir::ValueId> outputs;
  for (ir::ValueId out : old.outputs()) outputs.push_back(ids[static_cast<size_t>(out)]);
  graph.set_outputs(std::move(outputs));
  graph_in_out = std::move(graph);
  inputs_in_out = std::move(inputs);
  return count;
}

}  // namespace kiln::frontend
