// The CUDA backend's index (gather) and index_put (scatter, accumulate) library steps, as CUDA
// kernels (index_kernels.cpp) that give the reference interpreter's bytes
// (backends/interp/indexing.cpp).
//
// The addressed tensor (index's src, index_put's base) of shape S is seen as
// [outer dims | k indexed dims | inner dims]; the result (index) or values (index_put) as
// [outer dims | index shape I | inner dims]. A step runs as:
//   1. resolve: one thread per index position n (numel(I) of them) reads the k index tensors
//      through their strides, wraps negative indices and writes the run offset of n (the sum of
//      wrapped index times the addressed tensor's stride of that dim); an out-of-range index
//      lowers an error word to its key j * positions + n, so the host reports the first bad
//      index in the interpreter's order (index tensor j, then position n) with its message.
//   2. index: one thread per result element copies src[outer + run(n) + inner] (bytes, as the
//      interpreter's copy).
//   3. index_put copies base (a copy kernel), then
//      - without accumulate: every value element raises the winner word of its destination to
//        its value position + 1 (atomicMax), then only the winners write: the last write in the
//        interpreter's row-major order of values wins, whatever the thread order;
//      - with accumulate: the positions are sorted by (run offset, n) (a shared-memory rank sort
//        of 256-key tiles, then merge passes), so every destination's contributions are
//        consecutive in source order; one thread per (outer, first position of a run, inner)
//        adds them in that order, rounding to the storage type after every add as the
//        interpreter does (float sums bit for bit; integers wrap; bool is an or).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kiln/ir/graph.h"
#include "kiln/ir/kernel.h"

namespace kiln::backends::cuda {

// Limits of the by-value parameter: dims of each part (outer, index shape, inner) and index
// tensors. Larger steps take the host path.
inline constexpr int kIndexMaxDims = 8;
inline constexpr int kIndexMaxTensors = 8;

// The kernels' by-value parameter; the CUDA struct in index_kernels.cpp has the same layout
// (every field 8 bytes). Element offsets and strides, not bytes.
struct IndexParams {
  int64_t k = 0;          // index tensors
  int64_t positions = 0;  // numel(I)
  int64_t outer = 1, inner = 1;
  int64_t block = 1;  // index_put: elements of base per outer row (dense), the dims from dim
  int64_t idx_rank = 0, outer_rank = 0, inner_rank = 0;
  int64_t idx_sizes[kIndexMaxDims] = {};
  int64_t outer_sizes[kIndexMaxDims] = {};
  int64_t inner_sizes[kIndexMaxDims] = {};
  uint64_t idx[kIndexMaxTensors] = {};  // device addresses of the index tensors' buffers
  int64_t idx_offset[kIndexMaxTensors] = {};
  int64_t idx_strides[kIndexMaxTensors][kIndexMaxDims] = {};
  int64_t dim_sizes[kIndexMaxTensors] = {};    // S at each indexed dim
  int64_t run_strides[kIndexMaxTensors] = {};  // addressed stride of each indexed dim
  // The view read per element: src (index) or values (index_put), by part.
  uint64_t data = 0;
  int64_t data_offset = 0;
  int64_t data_outer[kIndexMaxDims] = {};
  int64_t data_mid[kIndexMaxDims] = {};  // index_put: values' strides over I
  int64_t data_inner[kIndexMaxDims] = {};
  uint64_t out = 0;  // the dense result
};

// The step's parameters with the device addresses left 0, or nullopt when `step` is not an
// index/index_put step or exceeds the limits above (or, accumulating, when run offset times
// positions would overflow the sort keys).
std::optional<IndexParams> plan_index_step(const ir::Graph& graph, const ir::ProgramStep& step);

// The CUDA C module of one dtype's index kernels and the name of its kernel `kernel`
// (resolve, gather, win, put, keys, sort, merge, accum).
std::string index_source(DType dtype);
std::string index_symbol(DType dtype, std::string_view kernel);

}  // namespace kiln::backends::cuda
