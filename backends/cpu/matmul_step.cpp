// The matmul library step on the CPU backend: the operands' views go to the blocked matmul
// (matmul.h) as strides, uncopied, and an epilogue kernel (ir::ProgramStep::epilogue) runs on
// each tile of the result as soon as the matmul completes it, while the tile is in cache.
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/backends/cpu/codegen.h"
#include "kiln/backends/cpu/cpu_backend.h"
#include "kiln/backends/cpu/matmul.h"
#include "kiln/backends/interp/loop_evaluator.h"
#include "kiln/runtime/buffer.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::cpu {
namespace {

// One batch dim of the product after merging: its size and the three operands' strides.
struct BatchDim {
  int64_t size = 1;
  int64_t a = 0, b = 0, c = 0;
};

// The batch dims (all but the last two) of a, b and the dense result c, with size-1 dims
// dropped and neighbours merged where every operand steps over them as over one dim, so that
// dense and broadcast batches become a single stride each.
std::vector<BatchDim> merged_batch_dims(const Shape& out, const Shape& a, const Shape& b) {
  const size_t batch_rank = out.size() - 2;
  const Shape c = contiguous_strides(out);
  std::vector<BatchDim> dims;
  for (size_t d = 0; d < batch_rank; ++d) {
    if (out[d] == 1) continue;
    const BatchDim next{out[d], a[d], b[d], c[d]};
    if (!dims.empty()) {
      BatchDim& last = dims.back();
      if (last.a == next.a * next.size && last.b == next.b * next.size &&
          last.c == next.c * next.size) {
        last = BatchDim{last.size * next.size, next.a, next.b, next.c};
        continue;
      }
    }
    dims.push_back(next);
  }
  return dims;
}

// Runs the epilogue kernel on tiles of the matmul result: the kernel cut to the tile's two
// dims, compiled once per step, its argument offsets moved to each tile.
class TileEpilogue {
 public:
  TileEpilogue(const ir::ProgramStep& epilogue, absl::Span<void* const> data, void* function)
      : launch_(epilogue.launch), data_(data.begin(), data.end()) {
    tile_kernel_ = tile_kernel(epilogue.kernel, epilogue.launch);
    function_ = reinterpret_cast<KernelFunction>(function);
    const int32_t rank = epilogue.kernel.rank;
    for (const Shape& s : launch_.strides) {
      strides_.push_back(s[rank - 2]);
      strides_.push_back(s[rank - 1]);
    }
  }

  // The epilogue kernel over the last two dims of its launch (the rows and columns of a tile).
  static ir::LoopKernel tile_kernel(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch) {
    ir::LoopKernel tile = kernel;
    tile.rank = 2;
    ir::KernelLaunch tile_launch;
    tile_launch.sizes = {2, 2};
    for (const Shape& s : launch.strides) {
      tile_launch.strides.push_back({s[kernel.rank - 2], s[kernel.rank - 1]});
      tile_launch.offsets.push_back(0);
    }
    ir::compute_layouts(tile, tile_launch);
    return tile;
  }
  const ir::LoopKernel& kernel() const { return tile_kernel_; }

  // Computes the epilogue for rows [row, row + rows) and columns [col, col + cols) of product
  // `p` (the row-major index over the result's batch dims).
  void run(int64_t p, int64_t row, int64_t rows, int64_t col, int64_t cols) const {
    const int32_t rank = static_cast<int32_t>(launch_.sizes.size());
    std::vector<int64_t> offsets(launch_.offsets.begin(), launch_.offsets.end());
    int64_t rest = p;
    for (int32_t d = rank - 3; d >= 0; --d) {
      const int64_t coord = rest % launch_.sizes[d];
      rest /= launch_.sizes[d];
      for (size_t a = 0; a < offsets.size(); ++a) offsets[a] += coord * launch_.strides[a][d];
    }
    for (size_t a = 0; a < offsets.size(); ++a)
      offsets[a] += row * launch_.strides[a][rank - 2] + col * launch_.strides[a][rank - 1];
    std::vector<int64_t> sizes = kernel_sizes(tile_kernel_, ir::KernelLaunch{{rows, cols}, {}, {}});
    if (function_ != nullptr) {
      function_(data_.data(), sizes.data(), strides_.data(), offsets.data(), 0, rows * cols);
      return;
    }
    ir::KernelLaunch tile_launch;
    tile_launch.sizes = {rows, cols};
    for (size_t a = 0; a < offsets.size(); ++a)
      tile_launch.strides.push_back({strides_[2 * a], strides_[2 * a + 1]});
    tile_launch.offsets = offsets;
    interp::LoopEvaluator evaluator;
    evaluator.run(tile_kernel_, tile_launch, data_);
  }

 private:
  ir::KernelLaunch launch_;
  std::vector<void*> data_;
  ir::LoopKernel tile_kernel_;
  std::vector<int64_t> strides_;  // per argument: its row and column strides
  KernelFunction function_ = nullptr;
};

}  // namespace

BufferPtr CpuKernelRunner::run_library(const ir::Graph& graph, const ir::ProgramStep& step,
                                       absl::Span<const BufferPtr> operands,
                                       absl::Span<void*> epilogue_data) {
  const ir::Node& node = graph.node(step.node);
  if (node.op != ir::Op::matmul)
    return KernelRunner::run_library(graph, step, operands, epilogue_data);
  const ir::TensorType& type = node.type;
  const Shape& out = type.shape;
  const size_t rank = out.size();
  if (rank < 2 || step.operands.size() != 2)
    throw Error(absl::StrCat("internal error: cpu matmul of rank ", rank));
  const Shape& a_shape = graph.node(node.inputs[0]).type.shape;
  const int64_t m = out[rank - 2], k = a_shape[rank - 1], n = out[rank - 1];
  BufferPtr result =
      runtime::Buffer::allocate(static_cast<size_t>(numel(out)) * itemsize(type.dtype));

  std::optional<TileEpilogue> epilogue;
  if (!step.epilogue.empty()) {
    const ir::ProgramStep& e = step.epilogue[0];
    for (size_t a = 0; a < epilogue_data.size(); ++a)
      if (e.arg_values[a] == step.node) epilogue_data[a] = result->data();
    const ir::LoopKernel tile = TileEpilogue::tile_kernel(e.kernel, e.launch);
    Entry& entry = this->entry(tile);
    void* function = entry.native ? this->function(tile, entry, false) : nullptr;
    epilogue.emplace(e, epilogue_data, function);
  }

  count_library_run(epilogue.has_value());
  const ir::OperandView& a = step.operands[0];
  const ir::OperandView& b = step.operands[1];
  const size_t size = itemsize(type.dtype);
  const auto* a_data = static_cast<const std::byte*>(operands[0]->data()) + a.offset * size;
  const auto* b_data = static_cast<const std::byte*>(operands[1]->data()) + b.offset * size;
  auto* c_data = static_cast<std::byte*>(result->data());
  const std::vector<BatchDim> dims = merged_batch_dims(out, a.strides, b.strides);
  // The last merged dim is the batch of each call; the others are looped over here.
  const BatchDim inner = dims.empty() ? BatchDim{} : dims.back();
  int64_t outer_count = 1;
  for (size_t d = 0; d + 1 < dims.size(); ++d) outer_count *= dims[d].size;
  for (int64_t outer = 0; outer < outer_count; ++outer) {
    int64_t a_at = 0, b_at = 0, c_at = 0, rest = outer;
    for (int64_t d = static_cast<int64_t>(dims.size()) - 2; d >= 0; --d) {
      const int64_t coord = rest % dims[d].size;
      rest /= dims[d].size;
      a_at += coord * dims[d].a, b_at += coord * dims[d].b, c_at += coord * dims[d].c;
    }
    const int64_t first = outer * inner.size;  // the row-major batch index of this call's p = 0
    MatmulTileFn on_tile;
    if (epilogue) {
      on_tile = [&epilogue, first](int64_t p, int64_t row, int64_t rows, int64_t col,
                                   int64_t cols) {
        epilogue->run(first + p, row, rows, col, cols);
      };
    }
    matmul(type.dtype,
           MatmulOperand{a_data + a_at * size, inner.a, a.strides[rank - 2], a.strides[rank - 1]},
           MatmulOperand{b_data + b_at * size, inner.b, b.strides[rank - 2], b.strides[rank - 1]},
           MatmulResult{c_data + c_at * size, inner.c, n, 1}, inner.size, m, k, n, {}, on_tile);
  }
  return result;
}

}  // namespace kiln::backends::cpu
