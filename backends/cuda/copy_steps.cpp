// Library steps of the CUDA backend that only move elements, run as generated copy kernels
// (codegen.h) instead of on the host: cat, and as_strided_scatter (every write into part of a
// CUDA tensor). A copy kernel is an elementwise LoopKernel `out[...] = load(in[...])` over the
// copied shape, with the source view's strides and the destination's, so views (transposes,
// slices, broadcast constants) are read in place.
#include "kiln/backends/cuda/copy_steps.h"

#include <algorithm>
#include <vector>

#include "kiln/backends/cuda/cuda_backend.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::cuda {
namespace {

// True when distinct points of the window address distinct elements (so a parallel copy into
// it has no write-write race): strides non-negative, and sorted by stride each one steps past
// everything the smaller ones reach.
bool window_is_injective(const Shape& sizes, const Shape& strides) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size)
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 0) return true;  // nothing is written
    if (sizes[d] == 1) continue;
    if (strides[d] <= 0) return false;
    dims.push_back({strides[d], sizes[d]});
  }
  std::sort(dims.begin(), dims.end());
  int64_t reach = 0;  // the largest offset the dims so far reach
  for (const auto& [stride, size] : dims) {
    if (stride <= reach) return false;
    reach += stride * (size - 1);
  }
  return true;
}

}  // namespace

std::optional<std::vector<StridedCopy>> plan_copy_step(const ir::Graph& graph,
                                                       const ir::ProgramStep& step) {
  const ir::Node& node = graph.node(step.node);
  const Shape& shape = node.type.shape;
  const Shape dense = contiguous_strides(shape);
  std::vector<StridedCopy> copies;
  if (node.op == ir::Op::cat) {
    const int64_t dim = std::get<ir::AxisAttrs>(node.attrs).dim;
    int64_t start = 0;
    for (size_t i = 0; i < step.operands.size(); ++i) {
      const Shape& part = graph.node(node.inputs[i]).type.shape;
      copies.push_back({static_cast<int>(i), part, step.operands[i].strides,
                        step.operands[i].offset, dense, start * dense[dim]});
      start += part[dim];
    }
    return copies;
  }
  if (node.op == ir::Op::as_strided_scatter) {
    const auto& window = std::get<ir::StridedAttrs>(node.attrs);
    if (!window_is_injective(window.sizes, window.strides)) return std::nullopt;
    copies.push_back({0, shape, step.operands[0].strides, step.operands[0].offset, dense, 0});
    copies.push_back({1, window.sizes, step.operands[1].strides, step.operands[1].offset,
                      window.strides, window.offset});
    return copies;
  }
  return std::nullopt;
}

ir::LoopKernel copy_kernel(DType dtype, const StridedCopy& copy, ir::KernelLaunch* launch) {
  ir::LoopKernel kernel;
  kernel.rank = static_cast<int32_t>(copy.sizes.size());
  kernel.args = {{dtype, false}, {dtype, true}};
  ir::KernelExpr load;
  load.kind = ir::KernelExpr::Kind::kLoad;
  load.arg = 0;
  load.dtype = dtype;
  kernel.exprs = {load};
  kernel.stores = {{1, 0}};
  launch->sizes = copy.sizes;
  launch->strides = {copy.src_strides, copy.dst_strides};
  launch->offsets = {copy.src_offset, copy.dst_offset};
  ir::canonicalize_launch(kernel, *launch);
  return kernel;
}

BufferPtr CudaKernelRunner::run_copy_step(const ir::Graph& graph, const ir::ProgramStep& step,
                                          absl::Span<const BufferPtr> operands) {
  const std::optional<std::vector<StridedCopy>> copies = plan_copy_step(graph, step);
  if (!copies) return nullptr;
  const ir::Node& node = graph.node(step.node);
  BufferPtr out = runtime::Buffer::allocate(
      static_cast<size_t>(numel(node.type.shape)) * itemsize(node.type.dtype), device());
  for (const StridedCopy& copy : *copies) {
    if (numel(copy.sizes) == 0) continue;
    ir::KernelLaunch launch;
    const ir::LoopKernel kernel = copy_kernel(node.type.dtype, copy, &launch);
    void* data[] = {operands[static_cast<size_t>(copy.operand)]->data(), out->data()};
    run(kernel, launch, data);
  }
  return out;
}

}  // namespace kiln::backends::cuda
