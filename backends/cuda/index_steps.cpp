// index and index_put steps on the device (index_steps.h): the plan from the step's operand
// views, and the launches of index_kernels.cpp's kernels.
#include "kiln/backends/cuda/index_steps.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/backends/cuda/copy_steps.h"
#include "kiln/backends/cuda/cuda_backend.h"
#include "kiln/backends/cuda/module_cache.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/cuda/copy.h"
#include "kiln/runtime/cuda/driver.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::cuda {
namespace {

namespace rc = runtime::cuda;

// Copies dims [from, from + count) of `values` into `to` (an array of kIndexMaxDims).
void put_dims(const Shape& values, size_t from, size_t count, int64_t* to) {
  for (size_t d = 0; d < count; ++d) to[d] = values[from + d];
}

int64_t product(const Shape& shape, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t d = from; d < to; ++d) p *= shape[d];
  return p;
}

// Blocks of 256 threads for a grid-stride loop over `count` items.
unsigned grid_for(int64_t count, int multiprocessors) {
  const int64_t cap = static_cast<int64_t>(multiprocessors) * 32;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(cap, (count + 255) / 256)));
}

}  // namespace

std::optional<IndexParams> plan_index_step(const ir::Graph& graph, const ir::ProgramStep& step) {
  const ir::Node& node = graph.node(step.node);
  if (node.op != ir::Op::index && node.op != ir::Op::index_put) return std::nullopt;
  const bool put = node.op == ir::Op::index_put;
  const size_t first = put ? 2 : 1;  // the first index tensor's operand
  const size_t dim = static_cast<size_t>(put ? std::get<ir::IndexPutAttrs>(node.attrs).dim
                                             : std::get<ir::AxisAttrs>(node.attrs).dim);
  const bool accumulate = put && std::get<ir::IndexPutAttrs>(node.attrs).accumulate;
  const Shape& shape = graph.node(node.inputs[0]).type.shape;
  const Shape& idx_shape = graph.node(node.inputs[first]).type.shape;
  const size_t k = node.inputs.size() - first;
  const size_t rank = shape.size(), inner_rank = rank - dim - k;
  constexpr size_t kDims = kIndexMaxDims;
  if (k > kIndexMaxTensors || idx_shape.size() > kDims || dim > kDims || inner_rank > kDims)
    return std::nullopt;

  IndexParams p;
  p.k = static_cast<int64_t>(k);
  p.positions = numel(idx_shape);
  p.outer = product(shape, 0, dim);
  p.inner = product(shape, dim + k, rank);
  p.block = product(shape, dim, rank);
  if (accumulate && p.positions > 0 && p.block > std::numeric_limits<int64_t>::max() / p.positions)
    return std::nullopt;  // sort keys run * positions + n would overflow
  p.idx_rank = static_cast<int64_t>(idx_shape.size());
  p.outer_rank = static_cast<int64_t>(dim);
  p.inner_rank = static_cast<int64_t>(inner_rank);
  put_dims(idx_shape, 0, idx_shape.size(), p.idx_sizes);
  put_dims(shape, 0, dim, p.outer_sizes);
  put_dims(shape, dim + k, inner_rank, p.inner_sizes);
  const Shape dense = contiguous_strides(shape);
  const ir::OperandView& addressed = step.operands[0];
  for (size_t j = 0; j < k; ++j) {
    const ir::OperandView& view = step.operands[first + j];
    p.idx_offset[j] = view.offset;
    put_dims(view.strides, 0, idx_shape.size(), p.idx_strides[j]);
    p.dim_sizes[j] = shape[dim + j];
    // index reads src through its view; index_put writes the dense copy of base.
    p.run_strides[j] = put ? dense[dim + j] : addressed.strides[dim + j];
  }
  const ir::OperandView& data = step.operands[put ? 1 : 0];
  p.data_offset = data.offset;
  put_dims(data.strides, 0, dim, p.data_outer);
  if (put) {
    // values: [outer dims | I | inner dims]
    put_dims(data.strides, dim, idx_shape.size(), p.data_mid);
    put_dims(data.strides, dim + idx_shape.size(), inner_rank, p.data_inner);
  } else {
    put_dims(data.strides, dim + k, inner_rank, p.data_inner);
  }
  return p;
}

BufferPtr CudaKernelRunner::run_index_step(const ir::Graph& graph, const ir::ProgramStep& step,
                                           absl::Span<const BufferPtr> operands) {
  std::optional<IndexParams> plan = plan_index_step(graph, step);
  if (!plan) return nullptr;
  IndexParams& p = *plan;
  const ir::Node& node = graph.node(step.node);
  const DType dtype = node.type.dtype;
  const bool put = node.op == ir::Op::index_put;
  const bool accumulate = put && std::get<ir::IndexPutAttrs>(node.attrs).accumulate;
  const size_t first = put ? 2 : 1;
  const int64_t out_numel = numel(node.type.shape);
  BufferPtr out =
      runtime::Buffer::allocate(static_cast<size_t>(out_numel) * itemsize(dtype), device());
  p.out = reinterpret_cast<uint64_t>(out->data());
  p.data = reinterpret_cast<uint64_t>(operands[put ? 1 : 0]->data());
  for (size_t j = 0; j < static_cast<size_t>(p.k); ++j)
    p.idx[j] = reinterpret_cast<uint64_t>(operands[first + j]->data());

  if (put && out_numel > 0) {
    // The functional copy of base, through its view.
    const ir::OperandView& base = step.operands[0];
    const StridedCopy copy{
        0, node.type.shape, base.strides, base.offset, contiguous_strides(node.type.shape), 0};
    ir::KernelLaunch launch;
    const ir::LoopKernel kernel = copy_kernel(dtype, copy, &launch);
    void* data[] = {operands[0]->data(), out->data()};
    run(kernel, launch, data);
  }
  if (p.positions == 0) return out;  // no index to check, nothing to move

  const std::string key = absl::StrCat("index/1\n", sv(short_name(dtype)));
  auto function = [&](std::string_view name) {
    return cuda_function(index_, key, index_symbol(dtype, name),
                         [&] { return index_source(dtype); });
  };
  const int sms = rc::device_properties(index_).multiprocessors;
  const rc::Driver& d = rc::require_driver();
  auto memset = [&](const BufferPtr& b, unsigned char byte) {
    rc::check(d.cuMemsetD8(reinterpret_cast<rc::CUdeviceptr>(b->data()), byte, b->nbytes()),
              "cuMemsetD8");
  };

  // 1. Run offsets of every position; the first out-of-range index (interpreter order).
  BufferPtr runs = runtime::Buffer::allocate(static_cast<size_t>(p.positions) * 8, device());
  BufferPtr err = runtime::Buffer::allocate(8, device());
  memset(err, 0xff);
  void* runs_ptr = runs->data();
  void* err_ptr = err->data();
  {
    void* args[] = {&p, &runs_ptr, &err_ptr};
    launch_kernel(index_, function("resolve"), grid_for(p.positions, sms), 1, 1, args);
  }
  uint64_t bad = 0;
  rc::copy_device_to_host(&bad, err_ptr, sizeof bad, index_);
  if (bad != ~uint64_t{0}) {
    const uint64_t positions = static_cast<uint64_t>(p.positions);
    const size_t j = static_cast<size_t>(bad / positions);
    int64_t n = static_cast<int64_t>(bad % positions), at = p.idx_offset[j];
    for (int64_t dd = p.idx_rank - 1; dd >= 0; --dd) {
      at += n % p.idx_sizes[dd] * p.idx_strides[j][dd];
      n /= p.idx_sizes[dd];
    }
    int64_t value = 0;
    rc::copy_device_to_host(&value,
                            static_cast<const std::byte*>(operands[first + j]->data()) + at * 8,
                            sizeof value, index_);
    // The interpreter's (PyTorch's) message.
    throw Error(absl::StrCat("index ", value, " is out of bounds for dimension ", j, " with size ",
                             p.dim_sizes[j]));
  }
  const int64_t elements = p.outer * p.positions * p.inner;
  if (elements == 0) return out;

  const unsigned grid = grid_for(elements, sms);
  if (!put) {
    void* args[] = {&p, &runs_ptr};
    launch_kernel(index_, function("gather"), grid, 1, 1, args);
  } else if (!accumulate) {
    // 2. Winners (last value element per destination), then their writes.
    BufferPtr win = runtime::Buffer::allocate(static_cast<size_t>(out_numel) * 8, device());
    memset(win, 0);
    void* win_ptr = win->data();
    void* args[] = {&p, &runs_ptr, &win_ptr};
    launch_kernel(index_, function("win"), grid, 1, 1, args);
    launch_kernel(index_, function("put"), grid, 1, 1, args);
  } else {
    // 2. Positions sorted by (destination run, source position), then one sequential sum per
    // destination.
    BufferPtr keys = runtime::Buffer::allocate(static_cast<size_t>(p.positions) * 16, device());
    void* a = keys->data();
    void* b = static_cast<std::byte*>(keys->data()) + p.positions * 8;
    {
      void* args[] = {&p, &runs_ptr, &a};
      launch_kernel(index_, function("keys"), grid_for(p.positions, sms), 1, 1, args);
    }
    int64_t count = p.positions;
    {
      void* args[] = {&a, &b, &count};
      launch_kernel(index_, function("sort"), static_cast<unsigned>((count + 255) / 256), 1, 1,
                    args);
      std::swap(a, b);
    }
    for (int64_t width = 256; width < count; width *= 2) {
      void* args[] = {&a, &b, &count, &width};
      launch_kernel(index_, function("merge"), grid_for(count, sms), 1, 1, args);
      std::swap(a, b);
    }
    void* args[] = {&p, &a};
    launch_kernel(index_, function("accum"), grid, 1, 1, args);
  }
  return out;
}

}  // namespace kiln::backends::cuda
