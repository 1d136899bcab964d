// Advanced indexing: index (gather) and index_put (scatter or accumulate).
//
// index(src, i1..ik) {dim} indexes src's dims dim..dim+k-1 with k int64 tensors of one shape I.
// Viewing src as [outer, s_dim, ..., s_dim+k-1, inner] and the result as [outer, I, inner], the
// result row (o, n) is the contiguous run of `inner` src elements at
// (o, i1[n], ..., ik[n]). index_put writes those same runs of a copy of base.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/backends/interp/element.h"
#include "kiln/backends/interp/kernels.h"

namespace kiln::backends::interp {
namespace {

struct IndexedLayout {
  int64_t outer = 1;      // product of the dims before the indexed ones
  int64_t block = 1;      // elements per outer row of the indexed tensor: product of dims from dim
  int64_t inner = 1;      // product of the dims after the indexed ones
  int64_t positions = 0;  // number of index tuples: numel of the index shape
  // For each index tuple n, the element offset of its run inside an outer row.
  std::vector<int64_t> run_offsets;
};

// Resolves every index tuple once, before anything is read or written, so an out-of-range
// index throws without touching the result.
IndexedLayout resolve(const Shape& shape, int64_t dim, Operands indices) {
  IndexedLayout layout;
  const size_t first = static_cast<size_t>(dim);
  const size_t last = first + indices.size();  // one past the last indexed dim
  for (size_t d = 0; d < first; ++d) layout.outer *= shape[d];
  for (size_t d = first; d < shape.size(); ++d) layout.block *= shape[d];
  for (size_t d = last; d < shape.size(); ++d) layout.inner *= shape[d];
  layout.positions = indices[0].numel();
  layout.run_offsets.assign(static_cast<size_t>(layout.positions), 0);

  const Shape strides = contiguous_strides(shape);
  for (size_t j = 0; j < indices.size(); ++j) {
    const int64_t size = shape[first + j];
    for (int64_t n = 0; n < layout.positions; ++n) {
      const int64_t value = load<int64_t>(indices[j].data, n);
      if (value < -size || value >= size)
        // PyTorch's message, dimension numbered among the indexed dims as PyTorch does.
        throw Error(absl::StrCat("index ", value, " is out of bounds for dimension ", j,
                                 " with size ", size));
      const int64_t wrapped = value < 0 ? value + size : value;
      layout.run_offsets[static_cast<size_t>(n)] += wrapped * strides[first + j];
    }
  }
  return layout;
}

}  // namespace

void eval_index(const ir::Node& node, Operands in, std::byte* out) {
  const Operand& src = in[0];
  const int64_t dim = std::get<ir::AxisAttrs>(node.attrs).dim;
  const IndexedLayout layout = resolve(src.type->shape, dim, in.subspan(1));
  const size_t size = itemsize(node.type.dtype);
  const size_t run_bytes = static_cast<size_t>(layout.inner) * size;
  // Nothing to copy (the indices are still checked above); src may even be null then.
  if (run_bytes == 0) return;
  size_t written = 0;
  for (int64_t o = 0; o < layout.outer; ++o) {
    for (int64_t n = 0; n < layout.positions; ++n) {
      const int64_t from = o * layout.block + layout.run_offsets[static_cast<size_t>(n)];
      copy_bytes(out + written, src.data + static_cast<size_t>(from) * size, run_bytes);
      written += run_bytes;
    }
  }
}

void eval_index_put(const ir::Node& node, Operands in, std::byte* out) {
  const Operand &base = in[0], &values = in[1];
  const auto& attrs = std::get<ir::IndexPutAttrs>(node.attrs);
  const IndexedLayout layout = resolve(base.type->shape, attrs.dim, in.subspan(2));
  const size_t size = itemsize(node.type.dtype);
  copy_bytes(out, base.data, static_cast<size_t>(base.numel()) * size);
  // Runs are visited in the row-major order of values, so a repeated position keeps the last
  // write (or sums every contribution when accumulating).
  visit_dtype(node.type.dtype, [&]<class S>(std::type_identity<S>) {
    int64_t from = 0;  // element index into values
    for (int64_t o = 0; o < layout.outer; ++o) {
      for (int64_t n = 0; n < layout.positions; ++n) {
        const int64_t to = o * layout.block + layout.run_offsets[static_cast<size_t>(n)];
        for (int64_t e = 0; e < layout.inner; ++e, ++from) {
          compute_t<S> v = load<S>(values.data, from);
          if (attrs.accumulate) {
            if constexpr (is_floating_storage<S>)
              v = load<S>(out, to + e) + v;
            else
              v = wrap_add(load<S>(out, to + e), v);
          }
          store<S>(out, to + e, v);
        }
      }
    }
  });
}

}  // namespace kiln::backends::interp
